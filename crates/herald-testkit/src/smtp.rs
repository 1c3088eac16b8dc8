//! A real SMTP server for e-mail tests: `aiosmtpd` (Python, installed in the
//! test venv by `./scripts/test`) started on a port of its own, with every
//! message it receives kept for the test to read.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message: headers and MIME parts.
    pub data: String,
}

impl Received {
    pub fn subject(&self) -> &str {
        self.data.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default()
    }
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    _child: Child,
}

const INSTALL_HINT: &str = "run ./scripts/test, which installs aiosmtpd in the test venv (target/test-venv), \
     or set HERALD_TEST_PYTHON to a Python with aiosmtpd installed";

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let configured = std::env::var_os("HERALD_TEST_PYTHON").map(PathBuf::from);
    let python = configured.unwrap_or_else(|| PathBuf::from("target/test-venv/bin/python"));
    if python.is_absolute() { python } else { workspace_root().join(python) }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts the server on `port` and waits until it accepts connections.
    pub async fn start_on(port: u16) -> Self {
        let python = python();
        assert!(python.exists(), "{} is missing: {INSTALL_HINT}", python.display());
        let mut child = Command::new(&python)
            .arg(workspace_root().join("tests/smtp/sink.py"))
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL_HINT}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(line))) if line == "READY" => {}
            other => panic!("the SMTP server did not start ({other:?}); {INSTALL_HINT}"),
        }
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
                let text = |key: &str| message[key].as_str().unwrap_or_default().to_string();
                let to = message["to"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string);
                let received = Received { from: text("from"), to: to.collect(), data: text("data") };
                if let Ok(mut all) = sink.lock() {
                    all.push(received);
                }
            }
        });
        Self { port, received, _child: child }
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until at least `count` messages arrived; panics after 10 s.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let started = std::time::Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "expected {count} e-mails, got {received:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
