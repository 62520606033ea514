//! config.json → spec: parsing and conversion never panic, and every
//! rejection is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A bundle with an empty `rootfs`, so that conversion goes past the root
/// to mounts, cwd, hostname and the rest.
fn bundle() -> &'static std::path::Path {
    static BUNDLE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("burrow-fuzz-bundle-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rootfs")).expect("a scratch bundle");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let error = match burrow_oci::convert::parse_config(text) {
        Ok(config) => burrow_oci::convert::to_spec(&config, bundle(), None, None, &[]).err(),
        Err(e) => Some(e),
    };
    if let Some(e) = error {
        assert!(!e.to_string().contains('\n'), "a rejection must be one line: {e}");
    }
});
