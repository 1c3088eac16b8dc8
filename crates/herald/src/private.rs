//! What only the account running Herald may read: the data directory
//! (0700), the SQLite database, the secrets and the backups (0600). Modes
//! are given at creation, so the umask cannot widen them; `herald doctor`
//! warns about files that were widened since.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Creates `dir` (and missing parents) as 0700; an existing one is left as it is.
pub fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Opens a new file as 0600; fails if it exists.
pub fn create_file(path: &Path) -> Result<fs::File> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Creates an empty SQLite database file as 0600 before SQLite does (it
/// would follow the umask); its `-wal` and `-shm` files take its mode.
pub fn create_sqlite_file(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    create_file(path).map(drop)
}

/// `path` with permissions for others than its owner, as a warning.
pub fn too_open(path: &Path) -> Option<String> {
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        let wanted = if path.is_dir() { "0700" } else { "0600" };
        format!("{} has mode {mode:04o}: others may read it; run `chmod {wanted} {}`", path.display(), path.display())
    })
}
