//! The payload's command line and environment, prepared before the fork.
//!
//! The container process is a `clone3` copy of a possibly multi-threaded
//! caller, so it should allocate and lock as little as it can: every string
//! the final `execve` needs (and the `PATH` candidates to try) is built here,
//! in the parent, and the child only passes pointers.

use std::ffi::{c_char, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{SetupError, Step};
use crate::sys;

/// The `PATH` used to find the command when the spec's environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A NUL-terminated array of C strings, as `execve` and `environ` want.
pub(crate) struct CStrings {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl CStrings {
    fn new(strings: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let strings: Vec<CString> = strings
            .into_iter()
            .map(|s| CString::new(s).unwrap_or_default())
            .collect();
        let pointers = strings
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        CStrings {
            _strings: strings,
            pointers,
        }
    }

    /// The environment `KEY=VALUE` strings.
    pub fn environment(env: &[(String, String)]) -> Self {
        CStrings::new(env.iter().map(|(k, v)| format!("{k}={v}").into_bytes()))
    }

    /// The NUL-terminated pointer array (valid while `self` lives).
    pub fn as_ptr(&self) -> *const *const c_char {
        self.pointers.as_ptr()
    }
}

/// A command ready to `execve`: the paths to try, in `PATH` order.
pub(crate) struct Command {
    program: String,
    candidates: Vec<CString>,
    argv: CStrings,
}

impl Command {
    /// Prepare `argv`; when `argv[0]` has no slash, list the candidates from
    /// `PATH` in `env` (or [`DEFAULT_PATH`]) as a shell would search them.
    pub fn new(argv: &[String], env: &[(String, String)]) -> Self {
        let program = argv.first().cloned().unwrap_or_default();
        let candidates = if program.contains('/') {
            vec![program.clone().into_bytes()]
        } else {
            let path = env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map_or(DEFAULT_PATH, |(_, v)| v.as_str());
            path.split(':')
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join(&program).as_os_str().as_bytes().to_vec())
                .collect()
        };
        Command {
            candidates: candidates
                .into_iter()
                .map(|c| CString::new(c).unwrap_or_default())
                .collect(),
            argv: CStrings::new(argv.iter().map(|a| a.clone().into_bytes())),
            program,
        }
    }

    /// A command run from an explicit program path (no `PATH` search).
    pub fn with_path(path: &Path, argv: &[String]) -> Self {
        Command {
            program: path.display().to_string(),
            candidates: vec![CString::new(path.as_os_str().as_bytes()).unwrap_or_default()],
            argv: CStrings::new(argv.iter().map(|a| a.clone().into_bytes())),
        }
    }

    /// Replace the process image; returns only on failure, preferring a
    /// "permission denied" over "not found" as shells do.
    pub fn exec(&self, env: &CStrings) -> SetupError {
        let mut error = Errno::ENOENT;
        for candidate in &self.candidates {
            let e = sys::execve(candidate, self.argv.as_ptr(), env.as_ptr());
            if e != Errno::ENOENT && e != Errno::ENOTDIR && error == Errno::ENOENT {
                error = e;
            }
        }
        SetupError::sys(Step::Exec, Some(self.program.clone().into()), error, "cannot execute")
    }
}
