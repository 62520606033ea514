//! Landlock: an unprivileged file system sandbox inside the container, on
//! top of its mounts. With [`Landlock`] in a spec, the payload may read
//! (and execute) only below the read-only paths, and write only below the
//! read-write ones; everything else is refused with `EACCES`, whatever the
//! file permissions say.

use std::path::PathBuf;

use landlock::{
    Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, ABI,
};
use serde::Serialize;

use crate::error::{SetupError, Step};

/// The paths a Landlock ruleset grants, as seen inside the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Landlock {
    /// Readable (and executable) below these.
    pub read_only: Vec<PathBuf>,
    /// Readable, writable and executable below these.
    pub read_write: Vec<PathBuf>,
}

/// Restrict this process (and what it executes) to `rules`. Sets
/// `no_new_privs`, as Landlock needs. Fails when the kernel enforces none
/// of it.
pub(crate) fn restrict(rules: &Landlock) -> Result<(), SetupError> {
    let fail = |what: String| SetupError {
        step: Step::Landlock,
        path: None,
        errno: None,
        message: what,
    };
    // The newest ABI this crate knows; older kernels enforce what they can.
    let abi = ABI::V5;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(|e| fail(format!("cannot prepare the Landlock ruleset: {e}")))?
        .create()
        .map_err(|e| fail(format!("cannot create the Landlock ruleset: {e}")))?;
    for (paths, access) in [
        (&rules.read_only, AccessFs::from_read(abi)),
        (&rules.read_write, AccessFs::from_all(abi)),
    ] {
        for path in paths {
            let fd = PathFd::new(path).map_err(|e| SetupError {
                step: Step::Landlock,
                path: Some(path.clone()),
                errno: None,
                message: format!("cannot open for a Landlock rule: {e}"),
            })?;
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, access))
                .map_err(|e| fail(format!("cannot add a Landlock rule for {}: {e}", path.display())))?;
        }
    }
    let status = ruleset
        .restrict_self()
        .map_err(|e| fail(format!("cannot enforce the Landlock ruleset: {e}")))?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(fail("this kernel does not enforce Landlock".into()));
    }
    Ok(())
}
