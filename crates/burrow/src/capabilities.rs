//! Capabilities of the payload: the five sets, exactly as configured.
//!
//! Applied last before exec, after the switch to the payload's user (with
//! `PR_SET_KEEPCAPS`, so the switch does not clear them first).

use std::collections::HashSet;
use std::str::FromStr;

use caps::{CapSet, Capability};
use serde::Serialize;

use crate::error::{Error, Result, SetupError, Step};

/// The five capability sets, by name (`CAP_SYS_ADMIN`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The bounding set: what the process (and exec'd programs) can ever get.
    pub bounding: Vec<String>,
    /// The effective set.
    pub effective: Vec<String>,
    /// The permitted set.
    pub permitted: Vec<String>,
    /// The inheritable set (empty unless asked for: CVE-2022-29162).
    pub inheritable: Vec<String>,
    /// The ambient set, kept across exec by unprivileged programs.
    pub ambient: Vec<String>,
}

/// The capabilities a container gets by default from Docker, podman and
/// `burrow run`: enough to be root in its own files, not enough to
/// administer the machine.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

impl Capabilities {
    /// The same `names` in the bounding, effective and permitted sets;
    /// nothing inheritable or ambient.
    pub fn only(names: &[String]) -> Self {
        Capabilities {
            bounding: names.to_vec(),
            effective: names.to_vec(),
            permitted: names.to_vec(),
            inheritable: Vec::new(),
            ambient: Vec::new(),
        }
    }

    /// Every capability name this build knows, sorted.
    pub fn known() -> Vec<String> {
        let mut names: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
        names.sort();
        names
    }
}

/// Parse capability names; the error names `field` and the bad name.
fn parse(field: &str, names: &[String]) -> Result<HashSet<Capability>> {
    names
        .iter()
        .map(|n| {
            let upper = n.to_ascii_uppercase();
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            Capability::from_str(&full).map_err(|_| Error::spec(field, format!("unknown capability {n:?}")))
        })
        .collect()
}

/// Parsed capability sets, ready for the child.
#[derive(Debug, Clone)]
pub(crate) struct CapSets {
    bounding: HashSet<Capability>,
    effective: HashSet<Capability>,
    permitted: HashSet<Capability>,
    inheritable: HashSet<Capability>,
    ambient: HashSet<Capability>,
}

impl Capabilities {
    /// Check every name; see [`crate::ContainerSpec::validate`].
    pub(crate) fn parse(&self) -> Result<CapSets> {
        Ok(CapSets {
            bounding: parse("capabilities.bounding", &self.bounding)?,
            effective: parse("capabilities.effective", &self.effective)?,
            permitted: parse("capabilities.permitted", &self.permitted)?,
            inheritable: parse("capabilities.inheritable", &self.inheritable)?,
            ambient: parse("capabilities.ambient", &self.ambient)?,
        })
    }
}

/// Keep permitted capabilities across the coming uid change.
pub(crate) fn keep_across_setuid(keep: bool) -> Result<(), SetupError> {
    caps::securebits::set_keepcaps(keep).map_err(|e| SetupError {
        step: Step::Capabilities,
        path: None,
        errno: None,
        message: format!("cannot set keepcaps: {e}"),
    })
}

impl CapSets {
    /// Drop from the bounding set what is not in it. Needs `CAP_SETPCAP`
    /// in the effective set, so it comes before any switch away from root.
    pub(crate) fn limit_bounding(&self) -> Result<(), SetupError> {
        for cap in caps::all().into_iter().filter(|cap| !self.bounding.contains(cap)) {
            // One call per capability in the usual case: dropping one that
            // is gone already succeeds too. Only a failure asks whether the
            // capability was there (the kernel may not know it, or a
            // process without CAP_SETPCAP may drop nothing).
            // SAFETY: PR_CAPBSET_DROP takes a capability number and reads
            // no memory.
            let dropped = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap.index()), 0, 0, 0) } == 0;
            if !dropped && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
                caps::drop(None, CapSet::Bounding, cap).map_err(|e| fail("bounding", e))?;
            }
        }
        Ok(())
    }

    /// Set effective, inheritable, permitted (shrinking effective first, so
    /// it stays within permitted) and raise the ambient set. After a switch
    /// to another user, permitted survives through `keep_across_setuid`.
    pub(crate) fn apply_sets(&self) -> Result<(), SetupError> {
        caps::set(None, CapSet::Effective, &self.effective).map_err(|e| fail("effective", e))?;
        caps::set(None, CapSet::Inheritable, &self.inheritable).map_err(|e| fail("inheritable", e))?;
        caps::set(None, CapSet::Permitted, &self.permitted).map_err(|e| fail("permitted", e))?;
        caps::clear(None, CapSet::Ambient).map_err(|e| fail("ambient", e))?;
        // The kernel keeps in the ambient set only what is both permitted
        // and inheritable; like runc, raise what it allows and leave the
        // rest (runc's own default config asks for ambient capabilities with
        // an empty inheritable set).
        for cap in self
            .ambient
            .iter()
            .filter(|c| self.permitted.contains(c) && self.inheritable.contains(c))
        {
            caps::raise(None, CapSet::Ambient, *cap).map_err(|e| fail("ambient", e))?;
        }
        Ok(())
    }
}

fn fail(what: &str, e: caps::errors::CapsError) -> SetupError {
    SetupError {
        step: Step::Capabilities,
        path: None,
        errno: None,
        message: format!("cannot set the {what} capabilities: {e}"),
    }
}

/// Set up a process's user and capabilities in the order that works:
/// bounding set (while still privileged), keep-caps, user switch, then the
/// other sets. Shared by spawn and excursions.
pub(crate) fn switch_user_with(user: Option<&crate::spec::User>, caps: Option<&CapSets>) -> Result<(), SetupError> {
    if let Some(caps) = caps {
        caps.limit_bounding()?;
    }
    if let Some(user) = user {
        if caps.is_some() {
            keep_across_setuid(true)?;
        }
        crate::spawn::switch_user(user)?;
    }
    if let Some(caps) = caps {
        keep_across_setuid(false)?;
        caps.apply_sets()?;
    }
    Ok(())
}
