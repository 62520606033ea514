//! A bounded fuzz run on stable Rust, in every CI run: the decoders of
//! untrusted input get thousands of mutations of valid inputs (a default
//! config.json, a `--process` JSON, parent/child channel frames, id maps).
//! None may panic or hang, and every rejection of a config is one line.
//! The same inputs feed the cargo-fuzz targets in `fuzz/` for longer runs.

use std::path::Path;
use std::time::{Duration, Instant};

use burrow_oci::convert;

/// xorshift64*: reproducible, and enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that tend to find edge cases in JSON decoders and converters.
const TOKENS: [&str; 16] = [
    "-1",
    "0",
    "4294967296",
    "18446744073709551616",
    "1e999",
    "null",
    "[]",
    "{}",
    "\"\"",
    "\"../../..\"",
    "\"/\"",
    "\"a:b:c\"",
    "true",
    "\"\\u0000\"",
    ",",
    "\"rro,rbind,tmpcopyup,idmap\"",
];

/// One mutation of `input`.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.bytes());
            }
            3 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(64)).min(out.len());
                let copy: Vec<u8> = out[start..end].to_vec();
                out.splice(at..at, copy);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// Mutations of `seed` through `check`, for at most `budget`.
fn fuzz(name: &str, seed: &[u8], budget: Duration, mut check: impl FnMut(&[u8])) -> usize {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let started = Instant::now();
    let mut runs = 0;
    check(seed);
    while started.elapsed() < budget && runs < 200_000 {
        check(&mutate(&mut rng, seed));
        runs += 1;
    }
    println!("{name}: {runs} inputs in {:?}", started.elapsed());
    runs
}

/// A config's rejection is one line that names what is wrong.
fn one_line(input: &[u8], error: &str) {
    assert!(
        !error.is_empty() && !error.contains('\n'),
        "a rejection must be one line: {error:?}\nfor input {}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn config_json_conversion_survives_mutations() {
    let seed = serde_json::to_vec_pretty(&burrow_oci::default_spec::default_config(false)).unwrap();
    let runs = fuzz("config.json", &seed, Duration::from_secs(4), |input| {
        let Ok(text) = std::str::from_utf8(input) else { return };
        match convert::parse_config(text) {
            Ok(config) => {
                if let Err(e) = convert::to_spec(&config, Path::new("/nonexistent-bundle"), None, None, &[]) {
                    one_line(input, &e.to_string());
                }
            }
            Err(e) => one_line(input, &e.to_string()),
        }
    });
    assert!(runs > 100, "the run did too little to mean anything: {runs}");
}

#[test]
fn process_json_conversion_survives_mutations() {
    let config = burrow_oci::default_spec::default_config(false);
    let seed = serde_json::to_vec(config.process().as_ref().unwrap()).unwrap();
    let runs = fuzz("--process", &seed, Duration::from_secs(2), |input| {
        if let Ok(process) = serde_json::from_slice::<oci_spec::runtime::Process>(input) {
            if let Err(e) = convert::rlimits(&process) {
                one_line(input, &e.to_string());
            }
            let _ = convert::capabilities(&process);
        }
    });
    assert!(runs > 100);
}

#[test]
fn channel_frames_survive_mutations() {
    // Frames as the parent and child send them: a little-endian length,
    // then a JSON message.
    let mut seed = Vec::new();
    for body in [
        &b"\"Go\""[..],
        br#"{"Failed":{"step":"mount","path":"/x","errno":2,"message":"cannot mount"}}"#,
        b"\"Exec\"",
        br#"{"Exited":{"Exited":0}}"#,
    ] {
        seed.extend_from_slice(&(body.len() as u32).to_le_bytes());
        seed.extend_from_slice(body);
    }
    let decoded = burrow::fuzzing::channel_frames(&seed);
    assert!(decoded >= 2, "the seed frames decode ({decoded})");
    // A length that claims gigabytes must be refused, not allocated.
    assert_eq!(burrow::fuzzing::channel_frames(&[0xff, 0xff, 0xff, 0x7f, b'{']), 0);
    let runs = fuzz("channel", &seed, Duration::from_secs(2), |input| {
        burrow::fuzzing::channel_frames(input);
    });
    assert!(runs > 100);
}

#[test]
fn id_maps_parse_or_refuse_without_panicking() {
    let runs = fuzz("id map", b"0:100000:65536", Duration::from_secs(1), |input| {
        let Ok(text) = std::str::from_utf8(input) else { return };
        if let Ok(map) = text.parse::<burrow::IdMap>() {
            assert!(
                map.count > 0
                    && map.inside.checked_add(map.count).is_some()
                    && map.outside.checked_add(map.count).is_some(),
                "{text}"
            );
        }
    });
    assert!(runs > 100);
    assert!(
        "0:4294967295:2".parse::<burrow::IdMap>().is_err(),
        "a range past 32 bits"
    );
    assert!(
        "1:0:4294967295".parse::<burrow::IdMap>().is_err(),
        "the kernel refuses first + count = 2^32"
    );
}
