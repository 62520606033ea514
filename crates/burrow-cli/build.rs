//! Record the git commit for `burrow --version`, when built from a checkout;
//! and link a release build with its start-up code first.

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BURROW_COMMIT={commit}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
    link_hot_code_first();
}

/// `link-order.txt` lists the functions that `run`, `create`/`start`/
/// `delete`, `exec` and ad hoc `burrow run` execute, in the order they
/// first run (made by `bench/link-order`). lld places them first, in that
/// order, so a start maps about 1 MiB of code instead of most of the 4 MiB
/// (the kernel maps code 64 KiB around each page it faults in): less memory
/// and fewer page faults. Functions the list names that a build lacks are
/// skipped, so a stale list only loses some of the gain.
///
/// Only for release builds linked by rustc's own lld, the default for
/// x86_64-unknown-linux-gnu since Rust 1.90 (another linker would refuse
/// the option). `BURROW_LINK_MAP=FILE` also writes the link map there,
/// which `bench/link-order` reads.
fn link_hot_code_first() {
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=BURROW_LINK_MAP");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let own_linker =
        !var("RUSTC_LINKER").is_empty() || flags.contains("linker") || flags.contains("link-self-contained");
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || own_linker
        || !rustc_links_with_lld()
    {
        return;
    }
    let list = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("link-order.txt");
    if !list.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    if let Ok(map) = std::env::var("BURROW_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

/// Whether rustc is 1.90 or later, whose x86_64-unknown-linux-gnu target
/// links with its own lld.
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    matches!((parts.next(), parts.next()), (Some(1), Some(minor)) if minor >= 90)
}
