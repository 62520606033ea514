//! A bounded fuzz run on stable Rust, in every CI run, of `burrow run`'s
//! flags: mounts (`--share`, `--expose`, `--tmpfs`), id maps, namespaces,
//! the environment, capabilities and Landlock. Command lines are put
//! together from pieces that tend to break parsers (separators, `..`,
//! numbers at the edges of 32 bits, newlines, bytes that are not UTF-8).
//! None may panic or hang, and every refusal is one line that names its
//! flag: the check is `burrow_cli::fuzzing::run_flags`, which the
//! cargo-fuzz target `fuzz/fuzz_targets/run_flags.rs` runs under libFuzzer.

use std::time::{Duration, Instant};

use burrow_cli::fuzzing::{run_flags, Outcome, COMMAND, RUN_FLAGS};

/// SplitMix64: reproducible, and enough to pick pieces.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What values are made of: paths that exist and do not, the flags' own
/// separators, edge numbers, namespace and capability names, regex
/// syntax, and bytes that break lines or UTF-8.
const PIECES: [&[u8]; 40] = [
    b"/",
    b"/tmp",
    b"/usr",
    b"/nonexistent",
    b"relative",
    b".",
    b"..",
    b"//",
    b"=",
    b":",
    b",",
    b"0",
    b"1",
    b"1000",
    b"65536",
    b"4294967295",
    b"4294967296",
    b"-1",
    b"user",
    b"mnt",
    b"pid",
    b"uts",
    b"time",
    b"bogus",
    b"ALL",
    b"cap_",
    b"SYS_ADMIN",
    b"net_raw",
    b"KEY",
    b"(",
    b"[",
    b"\\",
    b".*",
    b"{99999}",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    "\u{e9}".as_bytes(),
    b"\xff",
];

/// A value each flag accepts, in the order of `RUN_FLAGS`, then a command.
const VALID: [&str; RUN_FLAGS.len() + 1] = [
    "/tmp=/src",
    "/usr",
    "/var/cache",
    "0:0:1",
    "0:0:1",
    "1000",
    "1000",
    "user,mnt,pid",
    "box",
    "/",
    "/tmp",
    "LANG=C.UTF-8",
    "^LC_",
    "SYS_PTRACE",
    "net_raw",
    "/usr",
    "/tmp",
    "true",
];

/// One input: one to three flags (or command words), each with a valid
/// value that up to two edits (a piece put in, a stretch cut out, or all
/// of it replaced by pieces) may have broken.
fn generate(rng: &mut SplitMix) -> Vec<u8> {
    let mut data = Vec::new();
    for _ in 0..=rng.below(3) {
        if !data.is_empty() {
            data.push(0);
        }
        let pick = rng.below(VALID.len());
        let mut value = VALID[pick].as_bytes().to_vec();
        for _ in 0..rng.below(3) {
            let at = rng.below(value.len() + 1);
            match rng.below(3) {
                0 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    value.splice(at..at, piece.iter().copied());
                }
                1 => {
                    let end = at + rng.below(value.len() - at + 1);
                    value.drain(at..end);
                }
                _ => {
                    value.clear();
                    for _ in 0..=rng.below(3) {
                        value.extend_from_slice(PIECES[rng.below(PIECES.len())]);
                    }
                }
            }
        }
        data.push(1 + pick as u8);
        data.extend_from_slice(&value);
    }
    data
}

/// The input for `flag=value` pairs (`COMMAND` for a command word).
fn input(args: &[(&str, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    for (flag, value) in args {
        let pick = RUN_FLAGS.iter().position(|f| f == flag).unwrap_or_else(|| {
            assert_eq!(*flag, COMMAND, "not a fuzzed flag");
            RUN_FLAGS.len()
        });
        if !data.is_empty() {
            data.push(0);
        }
        data.push(1 + pick as u8);
        data.extend_from_slice(value.as_bytes());
    }
    data
}

/// The refusal of `args`, which must keep the rule.
fn refusal(args: &[(&str, &str)]) -> String {
    match run_flags(&input(args)) {
        Ok(Outcome::Refused(message)) => message,
        other => panic!("{args:?} should be refused by burrow, not {other:?}"),
    }
}

#[test]
fn run_flags_survive_generated_command_lines() {
    let mut rng = SplitMix(0x6275_7272_6f77);
    let started = Instant::now();
    let (mut runs, mut unparsed) = (0, 0);
    // Per flag: command lines with it that were accepted, and refusals
    // that named it.
    let mut accepted = [0usize; RUN_FLAGS.len()];
    let mut refused = [0usize; RUN_FLAGS.len()];
    while started.elapsed() < Duration::from_secs(3) && runs < 100_000 {
        let data = generate(&mut rng);
        runs += 1;
        let outcome = run_flags(&data).unwrap_or_else(|why| panic!("{why}"));
        let line = burrow_cli::fuzzing::run_command_line(&data);
        for (i, flag) in RUN_FLAGS.iter().enumerate() {
            let given = line
                .iter()
                .any(|a| a.as_encoded_bytes().starts_with(format!("{flag}=").as_bytes()));
            match &outcome {
                Outcome::Accepted if given => accepted[i] += 1,
                Outcome::Refused(message) if message.split([' ', ':', '/']).any(|w| w == *flag) => refused[i] += 1,
                _ => {}
            }
        }
        unparsed += usize::from(outcome == Outcome::Unparsed);
    }
    println!(
        "run flags: {runs} command lines in {:?}, {unparsed} refused by clap",
        started.elapsed()
    );
    for (i, flag) in RUN_FLAGS.iter().enumerate() {
        println!("  {flag}: accepted in {}, refused {} times", accepted[i], refused[i]);
    }
    assert!(runs > 1000, "the run did too little to mean anything: {runs}");
    // Every flag is one `burrow run` takes, and the mount and id-map flags
    // were refused too: the values reach burrow's parsers, not just clap's.
    for (i, flag) in RUN_FLAGS.iter().enumerate() {
        let refusable = ["--share", "--expose", "--tmpfs", "--uid-map", "--gid-map"].contains(flag);
        assert!(
            accepted[i] > 0 && (refused[i] > 0 || !refusable),
            "{flag}: {} accepted, {} refused",
            accepted[i],
            refused[i]
        );
    }
}

#[test]
fn the_rule_is_checked() {
    // A good command line is accepted, so refusals below are the flags'.
    assert_eq!(
        run_flags(&input(&[("--share", "/tmp=/src"), ("--uid-map", "0:0:1")])),
        Ok(Outcome::Accepted)
    );
    // What clap refuses never reaches burrow.
    assert_eq!(run_flags(&input(&[("--uid", "x")])), Ok(Outcome::Unparsed));
    let message = refusal(&[("--uid-map", "1:2")]);
    assert!(message.starts_with("--uid-map 1:2: "), "{message}");
}

/// Each `(flag, value)` is refused with a message that names the flag and
/// holds `shows`.
fn each_refused(cases: &[(&str, &str)], shows: &str) {
    for (flag, value) in cases {
        let message = refusal(&[(flag, value)]);
        assert!(message.contains(flag) && message.contains(shows), "{message}");
    }
}

#[test]
fn paths_inside_with_dot_dot_are_refused_by_their_flag() {
    let cases = [
        ("--share", "/tmp=/a/.."),
        ("--expose", "/usr=/usr/../etc"),
        ("--tmpfs", "/a/../b"),
        ("--chdir", "/a/.."),
        ("--landlock-ro", "/usr/.."),
        ("--landlock-rw", "/tmp/../.."),
    ];
    each_refused(&cases, "\"..\"");
}

#[test]
fn values_with_newlines_are_shown_on_one_line() {
    let cases = [
        ("--share", "/nonexistent\n=/x"),
        ("--expose", "/usr=rel\native"),
        ("--tmpfs", "\n"),
        ("--uid-map", "0\n:1:1"),
        ("--root", "/nonexistent\nroot"),
        ("--chdir", "relative\ndir"),
        ("--cap-add", "NET\nRAW"),
        ("--landlock-rw", "tmp\n"),
    ];
    // (run_flags has checked that the message is one line)
    each_refused(&cases, "\\n");
}

#[test]
fn what_the_library_refuses_names_the_flag() {
    for (flag, value, field) in [
        ("--hostname", "", "hostname"),
        ("--hostname", &"h".repeat(65), "hostname"),
        ("--uid-map", "5:4000000:1", "uid_maps"),
        ("--gid-map", "5:4000000:1", "gid_maps"),
        (COMMAND, "", "payload"),
    ] {
        let message = refusal(&[(flag, value)]);
        assert!(
            message.starts_with(&format!("{flag}: ")) && message.contains(field),
            "{message}"
        );
    }
}
