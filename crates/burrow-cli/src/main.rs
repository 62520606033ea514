//! The `burrow` command: a thin front that turns flags into a
//! `burrow::ContainerSpec` (or an excursion) and prints results.

// With glibc, the C library calls `main` below directly, without Rust's
// start-up code (see there); the unit tests keep their own harness's.
#![cfg_attr(all(not(test), target_env = "gnu"), no_main)]

mod docs;
mod enter;
mod oci;
mod probe;
mod run;
mod warnings;

// The flags and their parsing live in the library, where the fuzzers reach
// them too; `crate::cli` and `crate::env` keep naming them here.
use burrow_cli::{cli, env};

/// Exit status for burrow's own failures (bad input, setup errors), as
/// podman and runc use it; 126 and 127 keep their shell meanings.
pub const EXIT_BURROW: u8 = 125;

/// Re-execute from a copy of burrow that no container can rewrite, unless
/// this process already runs from one.
fn protect_binary() -> Result<(), u8> {
    burrow::ensure_sealed_copy().map_err(|e| {
        eprintln!("burrow: {e}");
        EXIT_BURROW
    })
}

/// The subcommand on the command line, found without clap: the first word
/// that is neither a global flag nor a global flag's value.
fn raw_subcommand() -> Option<String> {
    let mut args = std::env::args_os().skip(1).peekable();
    while let Some(arg) = args.next() {
        match arg.to_str()? {
            "--root" | "--log" | "--log-format" => {
                args.next();
            }
            "--rootless" => {
                if args
                    .peek()
                    .is_some_and(|v| ["true", "false", "auto"].iter().any(|o| v == o))
                {
                    args.next();
                }
            }
            flag if flag.starts_with('-') => {}
            word => return Some(word.to_string()),
        }
    }
    None
}

/// The process's entry point, called by the C library. burrow starts
/// without Rust's own start-up code (`#![no_main]`): on Linux that reads
/// `/proc/self/maps` to find the main thread's stack and installs handlers
/// that report a stack overflow, 110,000 instructions and a dozen system
/// calls on every start, a tenth of what `burrow run ID` does in user
/// space. The part of it that matters here is done below: a standard
/// descriptor that is closed is opened on /dev/null (else the first file
/// burrow opens would become, say, its standard output), and the exit goes
/// through `std::process::exit`, which flushes standard output. (Arguments
/// still reach `std::env::args`: glibc hands them to Rust's own hook.
/// Other C libraries, such as musl, do not, so there burrow starts the
/// usual way.)
#[cfg(all(not(test), target_env = "gnu"))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    open_closed_standard_fds();
    std::process::exit(i32::from(burrow_main()))
}

/// The usual entry point, where the C library does not hand the arguments
/// to Rust without its start-up code.
#[cfg(all(not(test), not(target_env = "gnu")))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(burrow_main())
}

/// Open /dev/null on each of descriptors 0, 1 and 2 that is closed, as
/// Rust's start-up code would.
#[cfg_attr(any(test, not(target_env = "gnu")), allow(dead_code))]
fn open_closed_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is an array of three pollfd that outlives the call; a
    // zero timeout returns at once.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for pollfd in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // SAFETY: opening a constant NUL-terminated path; the lowest free
        // descriptor is the closed one, which is what is wanted, so the fd
        // is deliberately kept.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != pollfd.fd {
            // Not even /dev/null: nothing safe to run with.
            std::process::abort();
        }
    }
}

/// What `main` would be with Rust's start-up: the exit status.
#[cfg_attr(test, allow(dead_code))]
fn burrow_main() -> u8 {
    // Like any Unix filter: end quietly when a reader such as `head` goes
    // away, instead of panicking on EPIPE (Rust ignores SIGPIPE).
    // SAFETY: restoring the default action installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // exec, create and enter always move first (see below): before clap
    // parses, which the re-executed burrow does again anyway.
    let protected = matches!(raw_subcommand().as_deref(), Some("exec" | "create" | "enter"));
    if protected {
        if let Err(code) = protect_binary() {
            return code;
        }
    }
    let cli = cli::Cli::parse_once();
    if cli.debug {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::DEBUG)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .init();
    } else {
        warnings::install(cli.log.clone().map(|path| (path, cli.log_format)));
    }
    // Commands that run burrow's own code where a container's processes
    // can reach it first move to a sealed in-memory copy of burrow, so that
    // no container can reach the binary on disk through /proc/PID/exe
    // (CVE-2019-5736). `burrow run` with its own pid namespace needs none:
    // nothing else runs there before the payload.
    let reaches_in = match &cli.command {
        cli::Command::Enter(_) | cli::Command::Exec(_) | cli::Command::Create(_) => true,
        // OCI `run ID` decides once it has read the config (see oci::run).
        cli::Command::Run(args) => {
            args.id.is_none()
                && args
                    .namespaces
                    .as_ref()
                    .is_some_and(|list| !list.iter().any(|n| n == "pid"))
        }
        _ => false,
    };
    // (Already done above for the commands found without clap.)
    if reaches_in && !protected {
        if let Err(code) = protect_binary() {
            return code;
        }
    }
    let log = (cli.log.clone(), cli.log_format);
    let result = match cli.command {
        // No command may run with a cgroup driver it does not have.
        _ if cli.systemd_cgroup => Err(anyhow::anyhow!(
            "--systemd-cgroup: this build of burrow has no systemd cgroup driver"
        )),
        cli::Command::Run(args) => match (args.refuse_unused_flags(), args.id.clone()) {
            (Err(unused), _) => Err(anyhow::anyhow!(unused)),
            (Ok(()), Some(id)) => oci::run(&cli.state_root, &id, *args),
            (Ok(()), None) => run::main(*args, cli.debug),
        },
        cli::Command::Enter(args) => enter::main(args),
        cli::Command::Probe(args) => probe::main(args),
        cli::Command::Completions(args) => docs::completions(args.shell),
        cli::Command::Man(args) => docs::man_pages(&args.dir),
        _ => oci::main(cli),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("burrow: {message}");
            if let (Some(path), format) = log {
                warnings::log_line(&path, format, "error", &message);
            }
            exit_code_for(&e)
        }
    }
}

/// 127 when the command was not found, 126 when it could not be executed,
/// 125 for everything else.
fn exit_code_for(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<burrow::Error>() {
        Some(burrow::Error::Setup(report)) if report.step == burrow::Step::Exec => match report.errno() {
            Some(nix::errno::Errno::ENOENT) | Some(nix::errno::Errno::ENOTDIR) => 127,
            _ => 126,
        },
        _ if e.downcast_ref::<burrow_oci::OciError>().is_some() => 1,
        _ => EXIT_BURROW,
    }
}

/// Map a container's end to this process's exit code: its code, or
/// 128 + the signal that killed it.
pub fn exit_code(status: burrow::ExitStatus) -> u8 {
    status.code().clamp(0, 255) as u8
}
