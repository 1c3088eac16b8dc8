//! Everything the process logs, kept in memory, so a test can check that no
//! secret ever reaches the logs.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// The captured log output.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

/// Installs, once per process, a subscriber that writes every event down to
/// TRACE (Herald, reqwest, hyper; the database drivers from WARN) into a
/// buffer a test can search. Tests sharing a process (`cargo test`) share
/// the buffer; nextest gives each test its own process.
pub fn capture() -> CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,sqlx=warn,sea_orm=warn,h2=warn,tokio=warn,runtime=warn",
            ))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        logs
    })
    .clone()
}

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|window| window == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}
