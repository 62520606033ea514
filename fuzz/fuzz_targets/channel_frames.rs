//! The parent/child channel's decoder: any bytes, no panic, no huge
//! allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    burrow::fuzzing::channel_frames(data);
});
