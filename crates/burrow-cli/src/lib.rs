//! The `burrow` command's flags and what `burrow run` makes of them, as a
//! library: the command (`src/main.rs`) uses it, and so do the fuzz target
//! `run_flags` and the bounded run in `tests/flag_fuzz.rs`, which feed
//! arbitrary values to the very parsers the command runs.

pub mod cli;
pub mod env;
pub mod spec;

/// Entry points for the fuzzers (`fuzz/` and `tests/flag_fuzz.rs`): the
/// parsing of untrusted command lines, reachable without a container.
#[doc(hidden)]
pub mod fuzzing {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    use clap::Parser;

    use crate::cli::{Cli, Command};
    pub use crate::spec::COMMAND;

    /// The flags of `burrow run` that take a value, as a fuzz input picks
    /// them.
    pub const RUN_FLAGS: [&str; 17] = [
        "--share",
        "--expose",
        "--tmpfs",
        "--uid-map",
        "--gid-map",
        "--uid",
        "--gid",
        "--namespaces",
        "--hostname",
        "--root",
        "--chdir",
        "--setenv",
        "--preserve",
        "--cap-add",
        "--cap-drop",
        "--landlock-ro",
        "--landlock-rw",
    ];

    /// What `burrow run` made of one fuzz input.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Outcome {
        /// clap refused the arguments before burrow's own parsing ran (a
        /// non-number for `--uid`, a value that is not UTF-8, …).
        Unparsed,
        /// The flags became a spec.
        Accepted,
        /// The flags were refused with this message (one line, naming a
        /// flag given).
        Refused(String),
    }

    /// The `burrow run` command line that `data` stands for: NUL-separated
    /// pieces (argv cannot hold a NUL), at most 16; a piece's first byte
    /// picks one of [`RUN_FLAGS`] (1 for the first) or, past them, a word of
    /// the command, and its other bytes are the value. Flags come as
    /// `--flag=VALUE`, so that values starting with `-` reach burrow too.
    pub fn run_command_line(data: &[u8]) -> Vec<OsString> {
        let mut flags = vec![OsString::from("burrow"), OsString::from("run")];
        let mut command = Vec::new();
        for piece in data.split(|b| *b == 0).take(16) {
            let Some((&pick, value)) = piece.split_first() else {
                continue;
            };
            // (`pick` is never 0: a 0 ends the piece)
            match RUN_FLAGS.get((usize::from(pick) - 1) % (RUN_FLAGS.len() + 1)) {
                Some(flag) => {
                    let mut arg = format!("{flag}=").into_bytes();
                    arg.extend_from_slice(value);
                    flags.push(OsString::from_vec(arg));
                }
                None => command.push(OsString::from_vec(value.to_vec())),
            }
        }
        if !command.is_empty() {
            flags.push("--".into());
            flags.extend(command);
        }
        flags
    }

    /// Parse the command line of `data` (see [`run_command_line`]) as
    /// `burrow run` does and build its spec. `Err` says how a refusal
    /// broke the rule: it must be one line (as the command prints it) that
    /// names a flag given, or [`COMMAND`].
    pub fn run_flags(data: &[u8]) -> Result<Outcome, String> {
        let argv = run_command_line(data);
        let Ok(Cli {
            command: Command::Run(args),
            ..
        }) = Cli::try_parse_from(&argv)
        else {
            return Ok(Outcome::Unparsed);
        };
        let message = match crate::spec::from_args(*args) {
            Ok(_) => return Ok(Outcome::Accepted),
            // As the command prints it: the whole chain of contexts.
            Err(e) => format!("{e:#}"),
        };
        let given = |name: &str| {
            let flag = format!("{name}=");
            argv.iter().any(|a| a.as_encoded_bytes().starts_with(flag.as_bytes()))
                || (name == COMMAND && argv.iter().any(|a| a == "--"))
        };
        // (as a word: `--uid` is not named by "--uid-map")
        let named = |name: &str| {
            message
                .match_indices(name)
                .any(|(at, _)| !message[at + name.len()..].starts_with(|c: char| c == '-' || c.is_ascii_alphanumeric()))
        };
        if message.is_empty() || message.contains(['\n', '\r']) {
            return Err(format!("a refusal must be one line: {message:?} for {argv:?}"));
        }
        if !RUN_FLAGS
            .iter()
            .chain([&COMMAND])
            .any(|name| given(name) && named(name))
        {
            return Err(format!(
                "a refusal must name the flag at fault: {message:?} for {argv:?}"
            ));
        }
        Ok(Outcome::Refused(message))
    }
}
