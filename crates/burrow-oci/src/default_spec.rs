//! `burrow spec`: a default `config.json` that runs busybox's `sh`.

use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{OciError, Result};

/// The default config: runc's defaults (namespaces, mounts, capabilities
/// with nothing inheritable, masked and read-only paths), `sh` as the
/// process, no terminal; with `rootless`, a user namespace mapping
/// the caller to root and mounts a user namespace may make.
pub fn default_config(rootless: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
    } else {
        Spec::default()
    };
    spec.set_hostname(Some("burrow".into()));
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(false));
        process.set_args(Some(vec!["sh".into()]));
        // Nothing inheritable or ambient, as runc since CVE-2022-29162:
        // inheritable capabilities would reach programs the container
        // runs with file capabilities.
        if let Some(mut caps) = process.capabilities().clone() {
            caps.set_inheritable(None);
            caps.set_ambient(None);
            process.set_capabilities(Some(caps));
        }
    }
    spec
}

/// Write the default config to `bundle/config.json`, refusing to overwrite.
pub fn write(bundle: &Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(OciError::Bundle(format!(
            "{} exists already; remove it first",
            path.display()
        )));
    }
    let text = serde_json::to_string_pretty(&default_config(rootless)).map_err(|e| OciError::Bundle(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| OciError::io(format!("writing {}", path.display()), e))
}
