//! Link-time layout of the release binary (bench/README.md: the fourth
//! round of issue #23, and `link-order.sh`).
//!
//! Most of an idle server's memory is its own code: the kernel maps a
//! binary's pages 64 KB at a time around each one touched, and start-up
//! touches functions spread over all 20 MB of it. `link-order.txt` lists
//! the functions start-up, the idle loops and the common requests run
//! (recorded by `bench/link-order.sh`), and the linker puts them first,
//! together; unlisted or renamed functions simply follow in the usual
//! order, so a stale list costs memory, never correctness.
//!
//! `-z pack-relative-relocs` stores the position-independent binary's
//! relocations as a bitmap instead of 1.6 MB of tables that the loader
//! reads in full at every start; it needs glibc 2.36 or later, so it is
//! asked for only when the build's own C library is that recent.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=link-order.txt");
    println!("cargo::rerun-if-env-changed=HERALD_LINK_LAYOUT");
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if !wants_layout() {
        return;
    }
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={manifest_dir}/link-order.txt");
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    if glibc_reads_packed_relocations() {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The C library this build links against reads packed relocations from
/// 2.36 on (the binary then names that need, so an older one refuses to
/// load it with a clear message instead of crashing).
fn glibc_reads_packed_relocations() -> bool {
    let Ok(output) = std::process::Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let version = String::from_utf8_lossy(&output.stdout);
    let mut numbers = version.trim().trim_start_matches("glibc ").split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}

/// Only where the linker is known to be LLD (Rust's default for this
/// target since 1.90; the workspace needs 1.94) and only for optimised
/// builds; `HERALD_LINK_LAYOUT=0` turns it off for a custom linker.
fn wants_layout() -> bool {
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("HERALD_LINK_LAYOUT") == "0" {
        return false;
    }
    let custom_linker = !var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        || ["linker", "fuse-ld"].iter().any(|flag| var("CARGO_ENCODED_RUSTFLAGS").contains(flag));
    var("TARGET") == "x86_64-unknown-linux-gnu" && var("PROFILE") == "release" && !custom_linker
}
