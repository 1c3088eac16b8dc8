//! The test suite's fake X as a process of its own, for benchmarks
//! (`bench/media.sh`): prints its URL and app credentials, then serves
//! until killed.

#[tokio::main]
async fn main() {
    use herald_testkit::fakes::x::{CLIENT_ID, CLIENT_SECRET, XFake};
    let fake = XFake::start().await;
    println!("{} {CLIENT_ID} {CLIENT_SECRET}", fake.base_url());
    // Hold the server (dropping the handle stops it) until the process is killed.
    std::future::pending::<()>().await;
    drop(fake);
}
