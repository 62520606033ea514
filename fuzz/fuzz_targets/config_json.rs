//! config.json → spec: parsing and conversion never panic, and every
//! rejection is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let error = match burrow_oci::convert::parse_config(text) {
        Ok(config) => {
            burrow_oci::convert::to_spec(&config, std::path::Path::new("/nonexistent-bundle"), None, None, &[]).err()
        }
        Err(e) => Some(e),
    };
    if let Some(e) = error {
        assert!(!e.to_string().contains('\n'), "a rejection must be one line: {e}");
    }
});
