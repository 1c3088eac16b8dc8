//! Runs one of the testkit's platform fakes as a process, for tests that
//! drive the real binary from outside Rust (the browser test). An example,
//! not a binary, so that `cargo run` still has one binary to run:
//! `fake-platform x` prints `{"url": "http://127.0.0.1:PORT"}` on one line,
//! then serves until its standard input closes.

use std::io::BufRead;

use herald_testkit::fakes::x::XFake;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The server stops with its last handle: `fake` lives until main ends.
    let fake = match std::env::args().nth(1).as_deref() {
        Some("x") => XFake::start().await,
        _ => {
            eprintln!("usage: fake-platform x");
            return std::process::ExitCode::from(2);
        }
    };
    println!("{}", serde_json::json!({ "url": fake.base_url() }));
    // Standard input closing (the parent exiting) ends the fake.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lock().lines().count()).await;
    std::process::ExitCode::SUCCESS
}
