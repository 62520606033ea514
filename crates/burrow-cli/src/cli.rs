//! Every flag of the `burrow` command, with its help text, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// What `--version` prints, runc-like.
const VERSION: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("BURROW_COMMIT"),
    "\nspec: 1.2.0"
);

/// burrow: run programs in Linux containers.
#[derive(Debug, Parser)]
#[command(name = "burrow", version = VERSION, disable_version_flag = true, about)]
pub struct Cli {
    /// Print the version (-v as with runc, or -V).
    #[arg(short = 'v', long, visible_short_alias = 'V', action = clap::ArgAction::Version)]
    pub version: Option<bool>,

    /// Print each setup step with its duration (and the plan) to stderr.
    #[arg(long, global = true)]
    pub debug: bool,

    /// Where OCI containers' state is kept (default /run/burrow, or
    /// $XDG_RUNTIME_DIR/burrow when unprivileged).
    #[arg(long = "root", value_name = "DIR")]
    pub state_root: Option<PathBuf>,

    /// Also write errors to FILE (OCI engines read it).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Format of --log: text or json (lines of {"level","msg","time"}).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Let systemd manage cgroups (refused: this build has no systemd driver).
    #[arg(long)]
    pub systemd_cgroup: bool,

    /// Accepted for runc compatibility; burrow detects rootless by itself.
    #[arg(long, value_name = "true|false|auto", num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the process's arguments as `Cli::parse` does (printing help,
    /// the version or an error and exiting where it would), but without
    /// freeing clap's command tree and matches afterwards: the process ends
    /// soon, and freeing them cost every start about 150,000 instructions,
    /// a tenth of what `burrow run ID` does in user space.
    pub fn parse_once() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let mut command = Cli::command();
        let mut matches = command.get_matches_mut();
        let cli = Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit());
        std::mem::forget(matches);
        std::mem::forget(command);
        cli
    }
}

/// The subcommands. Each one's flags are built only when it is the one
/// being parsed (`defer`): building all of them cost every start 100,000
/// instructions, a tenth of `burrow run ID`'s own work in user space.
///
/// (The argument structs below are documented for rustdoc only
/// (`cfg_attr(doc, ...)`): clap takes a struct's doc comment as the
/// command's description, and a deferred struct's would replace the one
/// written on its variant here.)
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run a command in a new container (an ad-hoc sandbox, like bwrap).
    ///
    /// With no options: all namespaces, you are root inside, the root is an
    /// empty tmpfs with the host's /usr, /bin, /sbin, /lib* read-only, a
    /// minimal /etc, and /bin/sh runs.
    ///
    /// Example: burrow run --share "$PWD=/work" --chdir /work -- make
    Run(Box<RunArgs>),
    /// Run a command inside a running container, given its pid on the host.
    ///
    /// Example: burrow enter 4242 -- ps
    Enter(EnterArgs),
    /// Print what this kernel allows: user namespaces, namespaces, cgroups.
    ///
    /// Example: burrow probe --json
    Probe(ProbeArgs),
    /// OCI: set up a container from a bundle; it waits for `start`.
    ///
    /// Example: burrow create --bundle ./box --pid-file box.pid mybox
    Create(CreateArgs),
    /// OCI: let a created container run its process.
    ///
    /// Example: burrow start mybox
    Start(IdArg),
    /// OCI: print a container's state as JSON.
    ///
    /// Example: burrow state mybox
    State(IdArg),
    /// OCI: send a signal (default TERM) to a container.
    ///
    /// Example: burrow kill --all mybox KILL
    Kill(KillArgs),
    /// OCI: remove a container (--force kills a running one).
    ///
    /// Example: burrow delete --force mybox
    Delete(DeleteArgs),
    /// OCI: list containers.
    ///
    /// Example: burrow list --format json
    List(ListArgs),
    /// OCI: write a default config.json to the bundle.
    ///
    /// Example: burrow spec --rootless --bundle ./box
    Spec(SpecArgs),
    /// OCI: run another process in a running container.
    ///
    /// Example: burrow exec --tty --console-socket tty.sock mybox sh
    Exec(ExecArgs),
    /// OCI: list a container's processes.
    ///
    /// Example: burrow ps --format json mybox
    Ps(PsArgs),
    /// OCI: print what this build supports, as JSON.
    ///
    /// Example: burrow features | jq .mountOptions
    Features,
    /// OCI: freeze every process of a running container.
    ///
    /// Example: burrow pause mybox
    Pause(IdArg),
    /// OCI: thaw a paused container.
    ///
    /// Example: burrow resume mybox
    Resume(IdArg),
    /// OCI: change a live container's resource limits.
    ///
    /// Example: burrow update --memory 64M --pids-limit 100 ID
    Update(UpdateArgs),
    /// OCI: print a container's resource statistics and OOM events as JSON
    /// lines, until it stops (--stats: once).
    ///
    /// Example: burrow events --interval 1s mybox
    Events(EventsArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    ///
    /// Example: burrow completions bash > /etc/bash_completion.d/burrow
    Completions(CompletionsArgs),
    /// Write man pages, burrow.1 and one per command, into a directory.
    ///
    /// Example: burrow man /usr/local/share/man/man1
    Man(ManArgs),
}

#[cfg_attr(doc, doc = "`completions`: which shell.")]
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish (or elvish, powershell).
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[cfg_attr(doc, doc = "`man`: where to write the pages.")]
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory (made if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[cfg_attr(doc, doc = "`update`: runc's flags, or a linux.resources JSON.")]
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A linux.resources JSON file ("-" for standard input); the flags
    /// below override its fields.
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Memory limit (bytes, or with k, m, g).
    #[arg(short, long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long, value_name = "BYTES")]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit ("-1": unlimited).
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPU shares (relative weight); runc spells it --cpu-share.
    #[arg(long, visible_alias = "cpu-share", value_name = "N")]
    pub cpu_shares: Option<u64>,
    /// CPU CFS period, microseconds.
    #[arg(long, value_name = "US")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota, microseconds per period ("-1": none).
    #[arg(long, value_name = "US", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU realtime period, microseconds.
    #[arg(long, value_name = "US")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime, microseconds per realtime period.
    #[arg(long, value_name = "US", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs the container may run on, as "0-2,4".
    #[arg(long, value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use.
    #[arg(long, value_name = "LIST")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of tasks ("-1": unlimited; "0": unchanged, as runc).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight (10 to 1000).
    #[arg(long, value_name = "N")]
    pub blkio_weight: Option<u16>,
    /// Intel RDT L3 cache schema (runc's flag): refused, burrow has no
    /// intelRdt support.
    #[arg(long, value_name = "SCHEMA")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (runc's flag): refused, burrow has
    /// no intelRdt support.
    #[arg(long, value_name = "SCHEMA")]
    pub mem_bw_schema: Option<String>,
    /// The container id.
    pub id: String,
}

#[cfg_attr(doc, doc = "`events`.")]
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// How often to print statistics, as "5s" or "500ms".
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub interval: String,
    /// The container id.
    pub id: String,
}

#[cfg_attr(doc, doc = "`exec`.")]
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// An OCI process.json to run instead of COMMAND.
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Give the process a terminal (its master goes to --console-socket).
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket that receives the terminal's pty master.
    #[arg(long, value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Return once the process runs.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to FILE.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Set a variable (KEY=VALUE), repeatable.
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Run as `uid[:gid]`.
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Add a supplementary group, repeatable.
    #[arg(short = 'g', long, value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Working directory inside the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Add a capability, repeatable. Example: --cap CAP_NET_ADMIN
    #[arg(long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Pass fds 3..3+N on to the process.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id.
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[cfg_attr(doc, doc = "`ps`.")]
#[derive(Debug, Args)]
pub struct PsArgs {
    /// table or json (a list of pids).
    #[arg(short, long, value_name = "FORMAT", default_value = "table")]
    pub format: String,
    /// The container id.
    pub id: String,
}

/// Text or JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Plain lines.
    Text,
    /// `{"level":…,"msg":…,"time":…}` lines.
    Json,
}

#[cfg_attr(doc, doc = "`create`.")]
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle directory (default: the current directory).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container's pid to FILE.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the terminal's pty master.
    #[arg(long, value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility; burrow always uses pivot_root.
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility; burrow never creates a session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass fds 3..3+N on to the container.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id.
    pub id: String,
}

#[cfg_attr(doc, doc = "A command that takes only an id.")]
#[derive(Debug, Args)]
pub struct IdArg {
    /// The container id.
    pub id: String,
}

#[cfg_attr(doc, doc = "`kill`.")]
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container.
    #[arg(short, long)]
    pub all: bool,
    /// The container id.
    pub id: String,
    /// Signal name (TERM, SIGKILL) or number (default TERM).
    #[arg(default_value = "TERM")]
    pub signal: String,
}

#[cfg_attr(doc, doc = "`delete`.")]
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill a running container first; a missing id is not an error.
    #[arg(short, long)]
    pub force: bool,
    /// The container id.
    pub id: String,
}

#[cfg_attr(doc, doc = "`list`.")]
#[derive(Debug, Args)]
pub struct ListArgs {
    /// table or json.
    #[arg(short, long, value_name = "FORMAT", default_value = "table")]
    pub format: String,
    /// Print only the ids.
    #[arg(short, long)]
    pub quiet: bool,
}

#[cfg_attr(doc, doc = "`spec`.")]
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// A config for an unprivileged user (user namespace, bind-mounted /sys).
    #[arg(long)]
    pub rootless: bool,
    /// Where to write config.json (default: the current directory).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
}

#[cfg_attr(
    doc,
    doc = "The capabilities and seccomp filter of what `burrow run` and `burrow enter` start: \
           burrow's defaults unless these flags change them."
)]
#[derive(Debug, Args, Default)]
pub struct Hardening {
    /// Give the container this capability besides the default set (CHOWN,
    /// DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, NET_RAW,
    /// SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT, AUDIT_WRITE); ALL for
    /// every one. Example: --cap-add SYS_PTRACE
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,

    /// Take this capability away from the container (ALL for every one).
    /// Example: --cap-drop NET_RAW
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,

    /// Filter syscalls with this seccomp profile (the JSON of an OCI
    /// linux.seccomp, as runc and podman take), or "unconfined" for no
    /// filter. Default: burrow's profile, which refuses mount, namespaces,
    /// modules, keyrings, bpf and the like with EPERM, terminal injection
    /// (TIOCSTI, TIOCLINUX) too, and says ENOSYS for syscalls it does not
    /// know. Example: --seccomp unconfined
    #[arg(long, value_name = "FILE|unconfined")]
    pub seccomp: Option<PathBuf>,
}

#[cfg_attr(doc, doc = "`burrow run`.")]
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Bind a host path read-write at DST (default: the same path).
    /// Example: --share ~/src=/src
    #[arg(long, value_name = "SRC[=DST]")]
    pub share: Vec<String>,

    /// Bind a host path read-only at DST (default: the same path).
    /// Example: --expose /etc/ssl=/etc/ssl
    #[arg(long, value_name = "SRC[=DST]")]
    pub expose: Vec<String>,

    /// Mount an empty tmpfs at DST. Example: --tmpfs /var/cache
    #[arg(long, value_name = "DST")]
    pub tmpfs: Vec<String>,

    /// Use DIR as the root instead of an ephemeral tmpfs (nothing of the
    /// host is added to it). Example: --root ./rootfs
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Share the host's network instead of an isolated one (only loopback).
    #[arg(long)]
    pub network: bool,

    /// Exactly the namespaces to create, comma-separated, from user cgroup
    /// ipc uts net pid time mnt. Default: cgroup,mnt,pid,ipc,uts,user,net.
    /// Example: --namespaces user,mnt,pid
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub namespaces: Option<Vec<String>>,

    /// Hostname inside the container (default: burrow).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// Your uid inside the container (default 0). Example: --uid 1000
    #[arg(long, value_name = "UID", value_parser = clap::value_parser!(u32).range(..4294967295))]
    pub uid: Option<u32>,

    /// Your gid inside the container (default 0). Example: --gid 1000
    #[arg(long, value_name = "GID", value_parser = clap::value_parser!(u32).range(..4294967295))]
    pub gid: Option<u32>,

    /// Map COUNT uids from INSIDE to OUTSIDE on the host, instead of mapping
    /// just you; repeat for several ranges. Unprivileged, ranges other than
    /// your own uid go through newuidmap and /etc/subuid.
    /// Example: --uid-map 0:1000:1 --uid-map 1:100000:65536
    #[arg(long, value_name = "INSIDE:OUTSIDE:COUNT")]
    pub uid_map: Vec<String>,

    /// Like --uid-map, for groups (newgidmap and /etc/subgid).
    /// Example: --gid-map 0:1000:1 --gid-map 1:100000:65536
    #[arg(long, value_name = "INSIDE:OUTSIDE:COUNT")]
    pub gid_map: Vec<String>,

    /// Set a variable in the (otherwise purified) environment.
    /// Example: --setenv LANG=C.UTF-8
    #[arg(long, value_name = "KEY=VALUE")]
    pub setenv: Vec<String>,

    /// Keep the host variables whose names match REGEX.
    /// Example: --preserve '^(LANG|LC_.*)$'
    #[arg(long, value_name = "REGEX")]
    pub preserve: Vec<String>,

    /// Working directory inside the container. Example: --chdir /src
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Kill the container when burrow itself dies.
    #[arg(long)]
    pub die_with_parent: bool,

    /// The payload's capabilities and seccomp filter.
    #[command(flatten)]
    pub hardening: Hardening,

    /// Limit the container's memory (bytes, or with k, m, g); past it, the
    /// kernel's OOM killer ends a process in it. Example: --memory 64M
    #[arg(long, value_name = "BYTES")]
    pub memory: Option<String>,

    /// Limit the container to this many CPUs' worth of time. Example:
    /// --cpus 0.5
    #[arg(long, value_name = "N")]
    pub cpus: Option<f64>,

    /// Limit the number of processes and threads in the container.
    /// Example: --pids 100
    #[arg(long, value_name = "N")]
    pub pids: Option<i64>,

    /// Landlock: let the command read (and execute) below PATH only, as
    /// seen inside the container; with any --landlock-* option, everything
    /// not named is out of reach. Example: --landlock-ro /usr
    #[arg(long, value_name = "PATH")]
    pub landlock_ro: Vec<PathBuf>,

    /// Landlock: let the command read and write below PATH.
    /// Example: --landlock-rw /tmp
    #[arg(long, value_name = "PATH")]
    pub landlock_rw: Vec<PathBuf>,

    /// OCI: run the bundle as container ID instead (create + start; waits
    /// unless --detach). Example: burrow run --bundle ./box mybox
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// OCI run: the bundle directory (default: the current directory).
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// OCI run: return once the container runs.
    #[arg(short, long)]
    pub detach: bool,

    /// OCI run: write the container's pid to FILE.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// OCI run: unix socket that receives the terminal's pty master.
    #[arg(long, value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,

    /// OCI run: pass fds 3..3+N on to the container.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,

    /// OCI run: accepted for runc compatibility.
    #[arg(long)]
    pub no_pivot: bool,

    /// OCI run: accepted for runc compatibility.
    #[arg(long)]
    pub no_new_keyring: bool,

    /// The command and its arguments (default: /bin/sh).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

impl RunArgs {
    /// Refuse the flags this `burrow run` would not honour, naming them:
    /// with an ID (an OCI bundle, run as its config.json says) the ad-hoc
    /// ones, without one the OCI ones.
    pub fn refuse_unused_flags(&self) -> Result<(), String> {
        let (unused, what) = match &self.id {
            Some(id) => (
                self.adhoc_flags_given(),
                format!(
                    "run {id}: runs the OCI bundle, as its config.json says; FLAGS for ad-hoc containers \
                     (burrow run [FLAGS] -- COMMAND, without an ID)"
                ),
            ),
            None => (
                self.oci_flags_given(),
                "run: FLAGS for OCI bundles (burrow run [--bundle DIR] ID)".to_owned(),
            ),
        };
        match unused.len() {
            0 => Ok(()),
            1 => Err(what.replace("FLAGS", &format!("{} is", unused[0]))),
            _ => Err(what.replace("FLAGS", &format!("{} are", unused.join(", ")))),
        }
    }

    /// The flags given that only an ad-hoc `burrow run` (no ID) takes.
    fn adhoc_flags_given(&self) -> Vec<&'static str> {
        let given = [
            ("--share", !self.share.is_empty()),
            ("--expose", !self.expose.is_empty()),
            ("--tmpfs", !self.tmpfs.is_empty()),
            ("--root", self.root.is_some()),
            ("--network", self.network),
            ("--namespaces", self.namespaces.is_some()),
            ("--hostname", self.hostname.is_some()),
            ("--uid", self.uid.is_some()),
            ("--gid", self.gid.is_some()),
            ("--uid-map", !self.uid_map.is_empty()),
            ("--gid-map", !self.gid_map.is_empty()),
            ("--setenv", !self.setenv.is_empty()),
            ("--preserve", !self.preserve.is_empty()),
            ("--chdir", self.chdir.is_some()),
            ("--die-with-parent", self.die_with_parent),
            ("--cap-add", !self.hardening.cap_add.is_empty()),
            ("--cap-drop", !self.hardening.cap_drop.is_empty()),
            ("--memory", self.memory.is_some()),
            ("--cpus", self.cpus.is_some()),
            ("--pids", self.pids.is_some()),
            ("--landlock-ro", !self.landlock_ro.is_empty()),
            ("--landlock-rw", !self.landlock_rw.is_empty()),
            ("--seccomp", self.hardening.seccomp.is_some()),
            ("-- COMMAND", !self.command.is_empty()),
        ];
        given.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect()
    }

    /// The flags given that only an OCI `run ID` takes.
    fn oci_flags_given(&self) -> Vec<&'static str> {
        let given = [
            ("--bundle", self.bundle.is_some()),
            ("--detach", self.detach),
            ("--pid-file", self.pid_file.is_some()),
            ("--console-socket", self.console_socket.is_some()),
            ("--preserve-fds", self.preserve_fds != 0),
            ("--no-pivot", self.no_pivot),
            ("--no-new-keyring", self.no_new_keyring),
        ];
        given.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect()
    }
}

#[cfg_attr(doc, doc = "`burrow enter`.")]
#[derive(Debug, Args)]
pub struct EnterArgs {
    /// The pid (on the host) of a process in the container.
    pub pid: String,

    /// Set a variable in the (otherwise purified) environment.
    #[arg(long, value_name = "KEY=VALUE")]
    pub setenv: Vec<String>,

    /// The command's capabilities and seccomp filter: `burrow run`'s
    /// defaults, whatever the container's own are (burrow cannot know
    /// them), unless these flags change them.
    #[command(flatten)]
    pub hardening: Hardening,

    /// The command and its arguments (default: /bin/sh).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[cfg_attr(doc, doc = "`burrow probe`.")]
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
