//! `exec --process` JSON: decoding (as exec does it) and the conversions
//! exec makes; every rejection is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let process = match burrow_oci::convert::parse_process("process.json", text) {
        Ok(process) => process,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "a rejection must be one line: {e}");
            return;
        }
    };
    if let Err(e) = burrow_oci::convert::rlimits(&process) {
        assert!(!e.to_string().contains('\n'), "a rejection must be one line: {e}");
    }
    let _ = burrow_oci::convert::capabilities(&process);
});
