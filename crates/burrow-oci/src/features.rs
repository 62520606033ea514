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
    let archs: Vec<&str> = burrow::seccomp::Arch::runnable()
        .iter()
        .map(|a| match a {
            burrow::seccomp::Arch::X86_64 => "SCMP_ARCH_X86_64",
            burrow::seccomp::Arch::X86 => "SCMP_ARCH_X86",
            burrow::seccomp::Arch::X32 => "SCMP_ARCH_X32",
            burrow::seccomp::Arch::Aarch64 => "SCMP_ARCH_AARCH64",
            burrow::seccomp::Arch::Arm => "SCMP_ARCH_ARM",
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
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                            "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                              "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": archs,
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                               "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {"org.opencontainers.runtime-spec.features.runtime": "burrow"}
    })
}
