//! `--uid-map`/`--gid-map` values: parsed or refused, ranges within 32 bits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(map) = text.parse::<burrow::IdMap>() {
        assert!(map.count > 0 && map.inside.checked_add(map.count).is_some());
        assert!(map.outside.checked_add(map.count).is_some());
    }
});
