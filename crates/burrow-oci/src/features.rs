//! `features`: what this build supports, from the same tables the
//! conversion uses, so the two cannot drift apart.

use crate::convert::mount_option_names;
use crate::state::OCI_VERSION;

/// runc's `features` JSON for this build.
pub fn features() -> serde_json::Value {
    let namespaces: Vec<&str> = burrow::Namespace::ALL
        .iter()
        .filter(|ns| ns.is_supported())
        .map(|ns| match ns {
            burrow::Namespace::Mnt => "mount",
            burrow::Namespace::Net => "network",
            other => other.name(),
        })
        .collect();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_option_names(),
        "linux": {
            "namespaces": namespaces,
            "capabilities": burrow::Capabilities::known(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {"org.opencontainers.runtime-spec.features.runtime": "burrow"}
    })
}
