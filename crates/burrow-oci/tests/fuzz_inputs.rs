//! A bounded fuzz run on stable Rust, in every CI run: the decoders of
//! untrusted input get thousands of mutations of valid inputs (a default
//! config.json, a `--process` JSON, parent/child channel frames, id maps).
//! None may panic or hang, and every rejection of a config is one line.
//! The same inputs feed the cargo-fuzz targets in `fuzz/` for longer runs.

use std::path::Path;
use std::time::{Duration, Instant};

use burrow_oci::{convert, OciError};
use serde_json::{json, Value};

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

/// A decoding error of well-formed JSON holding an object names the field
/// at fault: by its path, or (a missing field, at the top level) by name.
fn names_a_field(input: &[u8], error: &OciError) {
    let OciError::Json { path, reason, .. } = error else {
        return;
    };
    let is_object = serde_json::from_slice::<Value>(input).is_ok_and(|v| v.is_object());
    assert!(
        !is_object || !path.is_empty() || reason.contains("field `"),
        "a decoding error names no field: {error}\nfor input {}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn config_json_conversion_survives_mutations() {
    let seed = serde_json::to_vec_pretty(&burrow_oci::default_spec::default_config(false)).unwrap();
    // A bundle with an empty rootfs: conversion goes past the root.
    let bundle = Bundle::new("mutations");
    let mut located = 0;
    let runs = fuzz("config.json", &seed, Duration::from_secs(4), |input| {
        let Ok(text) = std::str::from_utf8(input) else { return };
        match convert::parse_config(text) {
            Ok(config) => {
                if let Err(e) = convert::to_spec(&config, &bundle.0, None, None, &[]) {
                    one_line(input, &e.to_string());
                }
            }
            Err(e) => {
                one_line(input, &e.to_string());
                names_a_field(input, &e);
                located += usize::from(matches!(&e, OciError::Json { path, .. } if !path.is_empty()));
            }
        }
    });
    assert!(runs > 100, "the run did too little to mean anything: {runs}");
    assert!(
        located > 0,
        "no mutation was refused at a path: the check above checked nothing"
    );
}

#[test]
fn process_json_conversion_survives_mutations() {
    let config = burrow_oci::default_spec::default_config(false);
    let seed = serde_json::to_vec(config.process().as_ref().unwrap()).unwrap();
    let runs = fuzz("--process", &seed, Duration::from_secs(2), |input| {
        let Ok(text) = std::str::from_utf8(input) else { return };
        match convert::parse_process("process.json", text) {
            Ok(process) => {
                if let Err(e) = convert::rlimits(&process) {
                    one_line(input, &e.to_string());
                }
                let _ = convert::capabilities(&process);
            }
            Err(e) => {
                one_line(input, &e.to_string());
                names_a_field(input, &e);
            }
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

/// A scratch bundle: a directory with an empty `rootfs`, removed on drop.
struct Bundle(std::path::PathBuf);

impl Bundle {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("burrow-bad-input-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        Bundle(dir)
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `create` does with a bundle's `config.json` before anything is
/// made: parse it, then convert it (and the core validates the result).
fn create_check(text: &str, bundle: &Path) -> Result<(), String> {
    let config = convert::parse_config(text).map_err(|e| e.to_string())?;
    convert::to_spec(&config, bundle, None, None, &[])
        .map(drop)
        .map_err(|e| e.to_string())
}

/// One bad value: the field the rejection must name, and how the default
/// config is spoilt.
type Spoil = (&'static str, fn(&mut Value));

/// Wrong types and invalid values across the spec, each with the field
/// (its JSON path in config.json) the error must name.
const SPOILT_CONFIGS: &[Spoil] = &[
    ("ociVersion", |c| c["ociVersion"] = json!(1)),
    ("ociVersion", |c| c["ociVersion"] = json!("2.0.0")),
    ("process.args", |c| c["process"]["args"] = json!("sh")),
    ("process.args", |c| c["process"]["args"] = json!([])),
    ("process.args", |c| c["process"]["args"] = json!([""])),
    ("process.args[1]", |c| c["process"]["args"] = json!(["sh", 2])),
    ("process.user.uid", |c| c["process"]["user"]["uid"] = json!("x")),
    ("process.user.uid", |c| c["process"]["user"]["uid"] = json!(-1)),
    ("process.user", |c| c["process"]["user"]["uid"] = json!(4294967295u32)),
    ("process.user.additionalGids[1]", |c| {
        c["process"]["user"]["additionalGids"] = json!([1, "x"])
    }),
    ("process.rlimits[0].type", |c| {
        c["process"]["rlimits"][0]["type"] = json!("RLIMIT_BOGUS")
    }),
    ("process.rlimits[0].type", |c| {
        c["process"]["rlimits"][0]["type"] = json!("RLIMIT\nBOGUS")
    }),
    ("process.rlimits[0].hard", |c| {
        c["process"]["rlimits"][0]["hard"] = json!("x")
    }),
    ("process.capabilities.bounding[0]", |c| {
        c["process"]["capabilities"]["bounding"][0] = json!("CAP_BOGUS")
    }),
    ("process.env[0]", |c| c["process"]["env"][0] = json!("NOEQUALS")),
    ("process.env", |c| c["process"]["env"][0] = json!("=x")),
    ("process.cwd", |c| c["process"]["cwd"] = json!("relative")),
    ("process.terminal", |c| c["process"]["terminal"] = json!("yes")),
    ("process", |c| c["process"] = json!(null)),
    ("root.path", |c| c["root"]["path"] = json!(7)),
    ("root.path", |c| c["root"]["path"] = json!("/nonexistent/root\nfs")),
    ("mounts[1].destination", |c| c["mounts"][1]["destination"] = json!(5)),
    ("mounts[1].destination", |c| {
        c["mounts"][1]["destination"] = json!("dev")
    }),
    ("mounts[1].destination", |c| {
        c["mounts"][1]["destination"] = json!("/a/../dev")
    }),
    ("mounts[1].destination", |c| c["mounts"][1]["destination"] = json!("/")),
    ("mounts[0].options", |c| c["mounts"][0]["options"] = json!("ro")),
    ("mounts[0].options", |c| c["mounts"][0]["options"] = json!(["idmap"])),
    ("mounts[2]", |c| c["mounts"][2] = json!({"type": "tmpfs"})),
    ("linux.namespaces[0].type", |c| {
        c["linux"]["namespaces"][0]["type"] = json!("bogus")
    }),
    ("linux.namespaces", |c| {
        c["linux"]["namespaces"] = json!([{"type": "pid"}])
    }),
    ("linux.uidMappings[0].size", |c| {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": "x"}])
    }),
    ("linux.uidMappings", |c| {
        c["linux"]["namespaces"][0] = json!({"type": "user"});
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    }),
    ("linux.resources.memory.limit", |c| {
        c["linux"]["resources"]["memory"] = json!({"limit": "1G"})
    }),
    ("linux.resources.devices[0].allow", |c| {
        c["linux"]["resources"]["devices"] = json!([{"allow": "yes"}])
    }),
    ("linux.seccomp.defaultAction", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_BOGUS"})
    }),
    ("linux.seccomp.defaultAction", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_NOTIFY"})
    }),
    ("linux.seccomp.syscalls[0].action", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": 3}]})
    }),
    ("linux.seccomp.syscalls[0].args[0].index", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]})
    }),
    ("linux.seccomp.syscalls[1].names", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]})
    }),
    ("hostname", |c| c["hostname"] = json!(5)),
    ("hostname", |c| c["hostname"] = json!("h".repeat(65))),
    ("linux.sysctl", |c| c["linux"]["sysctl"] = json!(["kernel.x"])),
    ("linux.sysctl.net.ipv4.ip_forward", |c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": 1})
    }),
    ("linux.sysctl", |c| c["linux"]["sysctl"] = json!({"kernel.bogus": "1"})),
    (
        "linux.devices[0].type",
        |c| c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "x", "major": 10, "minor": 229}]),
    ),
    ("linux.devices[0].path", |c| {
        c["linux"]["devices"] = json!([{"path": "dev/fuse", "type": "c", "major": 10, "minor": 229}])
    }),
    ("linux.maskedPaths[1]", |c| {
        c["linux"]["maskedPaths"][1] = json!("proc/asound")
    }),
    ("linux.readonlyPaths[0]", |c| {
        c["linux"]["readonlyPaths"][0] = json!(false)
    }),
    ("linux.rootfsPropagation", |c| {
        c["linux"]["rootfsPropagation"] = json!("bogus")
    }),
    ("linux.timeOffsets.monotonic.secs", |c| {
        c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": "x"}})
    }),
    ("annotations.a", |c| c["annotations"] = json!({"a": 1})),
    ("annotations.org.burrow.landlock.ro", |c| {
        c["annotations"] = json!({"org.burrow.landlock.ro": "/usr:relative"})
    }),
    ("hooks.prestart[0].path", |c| {
        c["hooks"] = json!({"prestart": [{"path": 5}]})
    }),
    ("hooks.prestart[0]", |c| {
        c["hooks"] = json!({"prestart": [{"args": ["x"]}]})
    }),
];

/// Each spoilt config is refused in one line that names the field.
#[test]
fn bad_config_fields_are_named() {
    let bundle = Bundle::new("config");
    let seed = serde_json::to_value(burrow_oci::default_spec::default_config(false)).unwrap();
    create_check(&seed.to_string(), &bundle.0).expect("the default config converts");
    let mut failures = Vec::new();
    for (field, spoil) in SPOILT_CONFIGS {
        let mut config = seed.clone();
        spoil(&mut config);
        let text = serde_json::to_string_pretty(&config).unwrap();
        let result = create_check(&text, &bundle.0);
        println!("{field}: {result:?}");
        match result {
            Ok(()) => failures.push(format!("{field}: accepted")),
            Err(e) if e.contains('\n') || !e.contains(field) => failures.push(format!("{field}: {e:?}")),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rejections are not one line naming the field:\n{}",
        failures.len(),
        SPOILT_CONFIGS.len(),
        failures.join("\n")
    );
}

/// The other JSON inputs: `exec --process`, `update --resources` and a
/// seccomp profile file, each refused naming the field.
#[test]
fn bad_process_resources_and_seccomp_fields_are_named() {
    let process = serde_json::to_value(burrow_oci::default_spec::default_config(false).process()).unwrap();
    let spoilt = |spoil: fn(&mut Value)| {
        let mut p = process.clone();
        spoil(&mut p);
        p.to_string()
    };
    let cases: Vec<(&str, Result<(), OciError>)> = vec![
        (
            "p.json: user.uid",
            convert::parse_process("p.json", &spoilt(|p| p["user"]["uid"] = json!("0"))).map(drop),
        ),
        (
            "p.json: args[0]",
            convert::parse_process("p.json", &spoilt(|p| p["args"] = json!([1]))).map(drop),
        ),
        (
            "p.json: capabilities.effective[2]",
            convert::parse_process(
                "p.json",
                &spoilt(|p| p["capabilities"]["effective"][2] = json!("CAP_NOPE")),
            )
            .map(drop),
        ),
        (
            "p.json: cwd",
            convert::parse_process("p.json", &spoilt(|p| p["cwd"] = json!(null))).map(drop),
        ),
        (
            "process.ioPriority",
            convert::parse_process(
                "p.json",
                &spoilt(|p| p["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 1})),
            )
            .map(drop),
        ),
        (
            "--resources r.json: memory.limit",
            burrow_oci::control::parse_resources("--resources r.json", r#"{"memory": {"limit": "big"}}"#).map(drop),
        ),
        (
            "--resources r.json: pids",
            burrow_oci::control::parse_resources("--resources r.json", r#"{"pids": 5}"#).map(drop),
        ),
        (
            "seccomp profile: syscalls[0].names[1]",
            burrow_oci::seccomp::parse(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a", 1], "action": "SCMP_ACT_LOG"}]}"#,
            )
            .map(drop),
        ),
        (
            "seccomp profile: architectures[0]",
            burrow_oci::seccomp::parse(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#)
                .map(drop),
        ),
    ];
    let mut failures = Vec::new();
    for (field, result) in cases {
        println!("{field}: {result:?}");
        match result {
            Ok(()) => failures.push(format!("{field}: accepted")),
            Err(e) if e.to_string().contains('\n') || !e.to_string().contains(field) => {
                failures.push(format!("{field}: {:?}", e.to_string()))
            }
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "rejections not naming the field:\n{}",
        failures.join("\n")
    );
}
