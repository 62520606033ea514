//! Every flag of the `burrow` command, with its help text, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// burrow: run programs in Linux containers.
#[derive(Debug, Parser)]
#[command(name = "burrow", version, about, propagate_version = true)]
pub struct Cli {
    /// Print each setup step with its duration (and the plan) to stderr.
    #[arg(long, global = true)]
    pub debug: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
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
}

/// `burrow run`.
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

    /// The command and its arguments (default: /bin/sh).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `burrow enter`.
#[derive(Debug, Args)]
pub struct EnterArgs {
    /// The pid (on the host) of a process in the container.
    pub pid: String,

    /// Set a variable in the (otherwise purified) environment.
    #[arg(long, value_name = "KEY=VALUE")]
    pub setenv: Vec<String>,

    /// The command and its arguments (default: /bin/sh).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `burrow probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
