//! The database side of backups: where the SQLite file lives, and the
//! PostgreSQL client tools (`pg_dump`, `pg_restore`) Herald drives.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use super::Cancel;

/// The file of a `sqlite:` URL; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The files SQLite keeps beside a WAL-mode database: moved together or not at all.
pub fn sqlite_companions(db: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

/// Finds a PostgreSQL client tool on PATH, or says how to get it.
pub fn find_tool(name: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| {
            candidate.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
        })
    });
    found.with_context(|| {
        format!(
            "`{name}` was not found on PATH: backups and restores of a PostgreSQL database need the PostgreSQL \
             client tools, of the server's major version or newer (Debian/Ubuntu: `apt-get install postgresql-client`)"
        )
    })
}

/// A PostgreSQL URL split for libpq tools: the password goes in
/// `PGPASSWORD` rather than on a command line every user can read in `ps`.
struct PgTarget {
    url: String,
    password: Option<String>,
}

impl PgTarget {
    fn new(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url)
            .with_context(|| format!("DATABASE_URL {} is not a valid URL", herald_store::redact_url(url)))?;
        let password = parsed.password().map(percent_decode);
        if password.is_some() && parsed.set_password(None).is_err() {
            bail!("cannot read the password of DATABASE_URL {}", herald_store::redact_url(url));
        }
        Ok(Self { url: parsed.to_string(), password })
    }

    fn command(&self, tool: &Path) -> Command {
        let mut command = Command::new(tool);
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        command
    }
}

/// `pg_dump --format=custom` of the database at `url` into `dest`, reading
/// the exported `snapshot` when given (so it matches the manifest's counts).
pub async fn pg_dump(url: &str, snapshot: Option<&str>, dest: &Path, cancel: &Cancel) -> Result<()> {
    let tool = find_tool("pg_dump")?;
    let target = PgTarget::new(url)?;
    let mut command = target.command(&tool);
    command.arg("--format=custom").arg("--no-password").arg(format!("--file={}", dest.display()));
    if let Some(snapshot) = snapshot {
        command.arg(format!("--snapshot={snapshot}"));
    }
    command.arg(format!("--dbname={}", target.url));
    run(command, "pg_dump", cancel).await
}

/// `pg_restore --clean --if-exists --no-owner` of `dump` into `url`, in one
/// transaction so that a failure leaves the database as it was.
pub async fn pg_restore(url: &str, dump: &Path) -> Result<()> {
    let tool = find_tool("pg_restore")?;
    let target = PgTarget::new(url)?;
    let mut command = target.command(&tool);
    command
        .args(["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"])
        .arg("--no-password")
        .arg(format!("--dbname={}", target.url))
        .arg(dump);
    run(command, "pg_restore", &Cancel::never()).await
}

async fn run(mut command: Command, name: &str, cancel: &Cancel) -> Result<()> {
    let child = command.spawn().with_context(|| format!("starting {name}"))?;
    let mut cancel = cancel.clone();
    let output = tokio::select! {
        output = child.wait_with_output() => output.with_context(|| format!("running {name}"))?,
        () = cancel.wait() => bail!("{name} interrupted by shutdown"),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).rev().take(5).collect();
        let detail: Vec<&str> = detail.into_iter().rev().collect();
        bail!("{name} failed ({}): {}", output.status, detail.join(" | "));
    }
    Ok(())
}

/// Decodes `%XX` escapes (URL userinfo is percent-encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(value) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://./data/herald.db"), Some(PathBuf::from("./data/herald.db")));
        assert_eq!(sqlite_path("sqlite:///var/lib/h.db?mode=rwc"), Some(PathBuf::from("/var/lib/h.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }

    #[test]
    fn passwords_leave_the_url() {
        let target = PgTarget::new("postgres://herald:p%40ss%2Fw@db:5432/herald?sslmode=disable").unwrap();
        assert_eq!(target.url, "postgres://herald@db:5432/herald?sslmode=disable");
        assert_eq!(target.password.as_deref(), Some("p@ss/w"));
        assert_eq!(PgTarget::new("postgres://db/h").unwrap().password, None);
    }
}
