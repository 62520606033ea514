//! `burrow run`'s flags for mounts, id maps, namespaces, the environment,
//! capabilities and Landlock, as the command parses them: no panic, and
//! every refusal is one line that names its flag (see
//! `burrow_cli::fuzzing::run_flags` for how bytes become a command line).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(why) = burrow_cli::fuzzing::run_flags(data) {
        panic!("{why}");
    }
});
