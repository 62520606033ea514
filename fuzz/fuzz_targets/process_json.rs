//! `exec --process` JSON: decoding and the conversions exec makes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(process) = serde_json::from_slice::<oci_spec::runtime::Process>(data) {
        if let Err(e) = burrow_oci::convert::rlimits(&process) {
            assert!(!e.to_string().contains('\n'), "a rejection must be one line: {e}");
        }
        let _ = burrow_oci::convert::capabilities(&process);
    }
});
