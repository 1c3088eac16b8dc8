//! The `.tar.gz` itself: writing entries while hashing them, and reading an
//! archive back into a staging directory while checking every checksum.
//! Blocking I/O: call from `spawn_blocking`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::Cancel;
use super::manifest::{FileEntry, MANIFEST, Manifest, SECRETS};

/// Largest manifest accepted: a manifest lists one line per media file.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

pub struct ArchiveWriter {
    builder: tar::Builder<GzEncoder<BufWriter<File>>>,
    files: BTreeMap<String, FileEntry>,
    cancel: Cancel,
}

impl ArchiveWriter {
    /// Creates `path` (which must not exist) readable by its owner only:
    /// the archive holds the secrets.
    pub fn create(path: &Path, cancel: Cancel) -> Result<Self> {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        let encoder = GzEncoder::new(BufWriter::new(file), Compression::default());
        Ok(Self { builder: tar::Builder::new(encoder), files: BTreeMap::new(), cancel })
    }

    /// Adds the file at `source` as `name`, recording its checksum.
    pub fn add_file(&mut self, name: &str, source: &Path) -> Result<()> {
        if self.cancel.requested() {
            bail!("backup interrupted by shutdown");
        }
        let file = File::open(source).with_context(|| format!("opening {}", source.display()))?;
        let metadata = file.metadata().with_context(|| format!("reading {}", source.display()))?;
        let size = metadata.len();
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(metadata.permissions().mode() & 0o777);
        header.set_mtime(unix_seconds(metadata.modified().ok()));
        let mut reader = HashingReader { inner: file.take(size), hasher: Sha256::new(), read: 0, cancel: &self.cancel };
        self.builder
            .append_data(&mut header, name, &mut reader)
            .with_context(|| format!("adding {} to the archive", source.display()))?;
        // A file that shrank while being read would leave a short entry.
        if reader.read != size {
            bail!("{} changed while it was being backed up", source.display());
        }
        let sha256 = hex::encode(reader.hasher.finalize());
        self.files.insert(name.to_string(), FileEntry { sha256, size });
        Ok(())
    }

    /// Adds the manifest (not itself checksummed) and completes the archive
    /// on disk.
    pub fn finish(mut self, manifest: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(manifest).context("encoding the manifest")?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(manifest.created_at.timestamp().max(0).unsigned_abs());
        self.builder.append_data(&mut header, MANIFEST, bytes.as_slice()).context("adding the manifest")?;
        let encoder = self.builder.into_inner().context("completing the archive")?;
        let writer = encoder.finish().context("completing the compression")?;
        let file = writer.into_inner().map_err(|e| e.into_error()).context("writing the archive")?;
        file.sync_all().context("flushing the archive to disk")?;
        Ok(())
    }

    pub fn files(&self) -> &BTreeMap<String, FileEntry> {
        &self.files
    }
}

fn unix_seconds(time: Option<std::time::SystemTime>) -> u64 {
    time.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs())
}

struct HashingReader<'a, R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    cancel: &'a Cancel,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.requested() {
            return Err(io::Error::other("backup interrupted by shutdown"));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Unpacks `archive` into `staging` (an empty directory) and checks it
/// against its manifest: every file listed, present and with its checksum,
/// and nothing else. Returns the manifest.
pub fn extract_and_verify(archive: &Path, staging: &Path) -> Result<Manifest> {
    let file = File::open(archive).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => anyhow::anyhow!("no backup at {}", archive.display()),
        _ => anyhow::Error::new(error).context(format!("opening {}", archive.display())),
    })?;
    let corrupt = |error: io::Error| {
        anyhow::anyhow!("{} is not a readable backup archive (corrupt or truncated?): {error}", archive.display())
    };
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let mut manifest_bytes = None;
    let mut found: BTreeMap<String, FileEntry> = BTreeMap::new();
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let path = entry.path().map_err(corrupt)?.into_owned();
        let name = safe_name(&path).with_context(|| format!("{} holds an unsafe path", archive.display()))?;
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular => {}
            other => bail!("{} holds `{name}` of unexpected type {other:?}", archive.display()),
        }
        if name == MANIFEST {
            let mut bytes = Vec::new();
            entry.by_ref().take(MAX_MANIFEST_BYTES).read_to_end(&mut bytes).map_err(corrupt)?;
            manifest_bytes = Some(bytes);
            continue;
        }
        if found.contains_key(&name) {
            bail!("{} holds `{name}` twice", archive.display());
        }
        let target = staging.join(&name);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mode = if name == SECRETS { 0o600 } else { entry.header().mode().unwrap_or(0o600) & 0o777 };
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut buffer).map_err(corrupt)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).with_context(|| format!("writing {}", target.display()))?;
            size += n as u64;
        }
        out.sync_all().with_context(|| format!("writing {}", target.display()))?;
        found.insert(name, FileEntry { sha256: hex::encode(hasher.finalize()), size });
    }
    // Read to the end so that the gzip trailer (its CRC) is checked too.
    io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(corrupt)?;

    let Some(bytes) = manifest_bytes else {
        bail!("{} is not a Herald backup: it has no {MANIFEST}", archive.display());
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{MANIFEST} in {} is not a valid Herald manifest", archive.display()))?;
    for (name, expected) in &manifest.files {
        let Some(actual) = found.get(name) else {
            bail!("{} is incomplete: `{name}` is listed in the manifest but missing", archive.display());
        };
        if actual.sha256 != expected.sha256 || actual.size != expected.size {
            bail!(
                "checksum mismatch for `{name}` in {}: the archive was modified or damaged (expected sha256 {}, found {})",
                archive.display(),
                expected.sha256,
                actual.sha256
            );
        }
    }
    if let Some(extra) = found.keys().find(|name| !manifest.files.contains_key(*name)) {
        bail!("{} holds `{extra}`, which its manifest does not list: refusing it", archive.display());
    }
    Ok(manifest)
}

/// An archive path as a `/`-separated relative name; `..`, absolute paths
/// and the like are refused so nothing lands outside the staging directory.
fn safe_name(path: &Path) -> Result<String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                parts.push(part.to_str().with_context(|| format!("{} is not valid UTF-8", path.display()))?)
            }
            Component::CurDir => {}
            _ => bail!("`{}`", path.display()),
        }
    }
    if parts.is_empty() {
        bail!("an empty path");
    }
    Ok(parts.join("/"))
}

/// Every regular file under `dir`, as (path relative to `dir`, full path),
/// sorted; hidden files (partial uploads are written as `.<key>.part`) and
/// `skip` (a backup directory inside the uploads) are left out.
pub fn list_files(dir: &Path, skip: Option<&Path>) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut pending = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, current)) = pending.pop() {
        let entries = fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", current.display()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                tracing::warn!(path = %entry.path().display(), "skipping a file whose name is not UTF-8");
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let kind = entry.file_type().with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                if skip.is_some_and(|skip| same_path(skip, &path)) {
                    continue;
                }
                pending.push((relative, path));
            } else if kind.is_file() {
                out.push((relative, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_cannot_leave_the_staging_directory() {
        assert_eq!(safe_name(Path::new("uploads/a.png")).unwrap(), "uploads/a.png");
        assert_eq!(safe_name(Path::new("./manifest.json")).unwrap(), "manifest.json");
        for bad in ["../secrets.toml", "uploads/../../x", "/etc/passwd", ""] {
            assert!(safe_name(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
