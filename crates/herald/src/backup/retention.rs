//! Archive names (`herald-YYYYMMDD-HHMMSS.tar.gz`, UTC) and retention: old
//! archives are deleted after each successful backup, never the newest.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDateTime, Utc};

const PREFIX: &str = "herald-";
const SUFFIX: &str = ".tar.gz";
const STAMP: &str = "%Y%m%d-%H%M%S";

/// A free archive path in `dir` for a backup taken at `at`; a second backup
/// within the same second gets `-2`, `-3`, … appended to the time.
pub fn archive_path(dir: &Path, at: DateTime<Utc>) -> PathBuf {
    let stamp = at.format(STAMP).to_string();
    let mut path = dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{PREFIX}{stamp}-{n}{SUFFIX}"));
        n += 1;
    }
    path
}

/// Time and same-second counter of an archive name made by `archive_path`
/// (1 without a counter), which together order archives from oldest to
/// newest; `None` for any other file.
fn archive_order(name: &str) -> Option<(NaiveDateTime, u32)> {
    let stem = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (stamp, counter) = match stem.get(15..) {
        Some("") => (stem, 1),
        Some(rest) => {
            let digits = rest.strip_prefix('-').filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?;
            (stem.get(..15)?, digits.parse().ok()?)
        }
        None => return None,
    };
    Some((NaiveDateTime::parse_from_str(stamp, STAMP).ok()?, counter))
}

/// Deletes the archives in `dir` taken more than `keep_days` days before
/// `now`, except the newest archive. Returns the deleted paths and a
/// warning per archive that could not be deleted.
pub fn prune(dir: &Path, keep_days: u32, now: DateTime<Utc>) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut archives = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(order) = name.to_str().and_then(archive_order) else { continue };
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            archives.push((order, entry.path()));
        }
    }
    archives.sort();
    // The newest one stays whatever its age: a clock gone wrong or a long
    // outage must never leave no backup at all.
    archives.pop();
    let cutoff = (now - chrono::Duration::days(i64::from(keep_days))).naive_utc();
    let (mut deleted, mut warnings) = (Vec::new(), Vec::new());
    for ((time, _), path) in archives {
        if time >= cutoff {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => deleted.push(path),
            Err(error) => warnings.push(format!("could not delete the old backup {}: {error}", path.display())),
        }
    }
    Ok((deleted, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_time(name: &str) -> Option<NaiveDateTime> {
        archive_order(name).map(|(time, _)| time)
    }

    #[test]
    fn names_round_trip_and_other_files_are_ignored() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z").unwrap().with_timezone(&Utc);
        let dir = Path::new("/nonexistent");
        let path = archive_path(dir, at);
        assert_eq!(path, dir.join("herald-20260304-050607.tar.gz"));
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(archive_time(name), Some(at.naive_utc()));
        assert_eq!(archive_time("herald-20260304-050607-2.tar.gz"), Some(at.naive_utc()));
        for other in ["herald-old.tar.gz", "herald-20260304-050607.tar", "notes.txt", "herald-20261340-000000.tar.gz"] {
            assert_eq!(archive_time(other), None, "{other}");
        }
        assert_eq!(archive_time("herald-20260304-050607-.tar.gz"), None);
        assert_eq!(archive_time("herald-20260304-050607-x.tar.gz"), None);
    }

    #[test]
    fn old_archives_go_but_never_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "herald-20200101-000000.tar.gz",
            "herald-20200101-000000-2.tar.gz",
            "herald-20200101-000000-10.tar.gz",
            "herald-old.tar.gz",
            "notes.txt",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let (deleted, warnings) = prune(dir.path(), 7, now).unwrap();
        assert!(warnings.is_empty());
        let mut deleted: Vec<String> =
            deleted.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        deleted.sort();
        // `-10` is the newest of the same second, and stays.
        assert_eq!(deleted, ["herald-20200101-000000-2.tar.gz", "herald-20200101-000000.tar.gz"]);
        for kept in ["herald-20200101-000000-10.tar.gz", "herald-old.tar.gz", "notes.txt"] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
    }
}
