//! File moves that survive crossing file systems, and clean-up of
//! temporary files when a step fails half-way.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Moves a file or directory; across file systems (an uploads directory on
/// another disk) it copies, then removes the original.
pub fn move_path(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::CrossesDevices => {
            copy_recursively(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            if from.is_dir() { fs::remove_dir_all(from) } else { fs::remove_file(from) }
                .with_context(|| format!("removing {} after copying it", from.display()))
        }
        Err(error) => Err(error).with_context(|| format!("moving {} to {}", from.display(), to.display())),
    }
}

fn copy_recursively(from: &Path, to: &Path) -> io::Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

/// Whether a directory exists and holds anything.
pub fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false)
}

/// Removes the temporary paths it holds when dropped: on success, and just
/// as well after an error or a cancellation.
#[derive(Default)]
pub struct Cleanup(Vec<PathBuf>);

impl Cleanup {
    pub fn add(&mut self, path: PathBuf) {
        self.0.push(path);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.0 {
            let result = if path.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
            if let Err(error) = result
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), %error, "could not remove a temporary file");
            }
        }
    }
}
