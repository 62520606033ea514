//! `linux.resources` as cgroup files: one [`Driver`] per cgroup version,
//! each turning a resource section into the files to write, with the
//! config field each write comes from. Pure: nothing here touches the file
//! system, so both drivers are tested for the exact contents they write.
//!
//! On a hybrid host (v1 controllers and a cgroup2 mount, as here) each
//! controller is written with the driver of the hierarchy it lives in.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxNetwork};

/// One file to write: the config field it comes from, the file (relative
/// to the container's cgroup), and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The config field, as `linux.resources.memory.limit`.
    pub field: String,
    /// The cgroup file, as `memory.max`.
    pub file: String,
    /// What to write.
    pub value: String,
}

fn write(field: &str, file: impl Into<String>, value: impl ToString) -> Write {
    Write {
        field: format!("linux.resources.{field}"),
        file: file.into(),
        value: value.to_string(),
    }
}

/// A field the driver cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The config field.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn unsupported(field: &str, reason: &str) -> Unsupported {
    Unsupported {
        field: format!("linux.resources.{field}"),
        reason: reason.into(),
    }
}

/// The files of one cgroup version.
pub trait Driver {
    /// `v1` or `v2`, for messages.
    fn name(&self) -> &'static str;
    /// The controller that holds a resource section's files (as a v1
    /// hierarchy or the v2 `cgroup.controllers` names it).
    fn controller(&self, section: Section) -> &'static str;
    /// `linux.resources.memory`.
    fn memory(&self, m: &LinuxMemory) -> Result<Vec<Write>, Unsupported>;
    /// `linux.resources.cpu`, the cpu controller's part.
    fn cpu(&self, c: &LinuxCpu) -> Result<Vec<Write>, Unsupported>;
    /// `linux.resources.cpu.cpus` and `.mems`: the cpuset controller's.
    fn cpuset(&self, c: &LinuxCpu) -> Vec<Write> {
        let mut out = Vec::new();
        if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
            out.push(write("cpu.cpus", "cpuset.cpus", cpus));
        }
        if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
            out.push(write("cpu.mems", "cpuset.mems", mems));
        }
        out
    }
    /// `linux.resources.pids.limit`: negative is unlimited, and 0 is
    /// unset (as in runc, whose `update` template sends 0 for "unchanged").
    fn pids(&self, limit: i64) -> Vec<Write> {
        match limit {
            0 => Vec::new(),
            l if l < 0 => vec![write("pids.limit", "pids.max", "max")],
            l => vec![write("pids.limit", "pids.max", l)],
        }
    }
    /// `linux.resources.blockIO`.
    fn block_io(&self, b: &LinuxBlockIo) -> Result<Vec<Write>, Unsupported>;
    /// `linux.resources.hugepageLimits`.
    fn hugepages(&self, limits: &[LinuxHugepageLimit]) -> Vec<Write>;
    /// `linux.resources.network`.
    fn network(&self, n: &LinuxNetwork) -> Result<Vec<Write>, Unsupported>;
    /// `linux.resources.unified`.
    fn unified(&self, u: &std::collections::HashMap<String, String>) -> Result<Vec<Write>, Unsupported>;
    /// The file and value that freeze (or thaw) the cgroup.
    fn freeze(&self, frozen: bool) -> Write;
}

/// A resource section, for [`Driver::controller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// memory
    Memory,
    /// cpu (shares, quota, ...)
    Cpu,
    /// cpu.cpus and cpu.mems
    Cpuset,
    /// pids
    Pids,
    /// blockIO
    BlockIo,
    /// hugepageLimits
    Hugetlb,
    /// network.classID
    NetClass,
    /// network.priorities
    NetPrio,
    /// the freezer
    Freezer,
    /// unified (cgroup v2 files by name)
    Unified,
}

/// cgroup v1: a hierarchy per controller.
pub struct V1;

/// cgroup v2: one unified hierarchy.
pub struct V2;

/// A value that is set: in `linux.resources`, as runc reads it, 0 means
/// "unset" (runc's `update` template is all zeros: "unchanged values can
/// be omitted"), so a 0 is never written.
fn set<T: Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|v| *v != T::default())
}

/// `-1` means unlimited in the config.
fn limit(v: i64) -> String {
    if v < 0 {
        "-1".into()
    } else {
        v.to_string()
    }
}

impl Driver for V1 {
    fn name(&self) -> &'static str {
        "v1"
    }

    fn controller(&self, section: Section) -> &'static str {
        match section {
            Section::Memory => "memory",
            Section::Cpu => "cpu",
            Section::Cpuset => "cpuset",
            Section::Pids => "pids",
            Section::BlockIo => "blkio",
            Section::Hugetlb => "hugetlb",
            Section::NetClass => "net_cls",
            Section::NetPrio => "net_prio",
            Section::Freezer => "freezer",
            Section::Unified => "",
        }
    }

    fn memory(&self, m: &LinuxMemory) -> Result<Vec<Write>, Unsupported> {
        let mut out = Vec::new();
        // memsw must stay at or above the limit at every step; which to
        // write first depends on the current values, so the writer tries
        // a refused one again after the other.
        if let Some(v) = set(m.limit()) {
            out.push(write("memory.limit", "memory.limit_in_bytes", limit(v)));
        }
        if let Some(v) = set(m.swap()) {
            out.push(write("memory.swap", "memory.memsw.limit_in_bytes", limit(v)));
        }
        if let Some(v) = set(m.reservation()) {
            out.push(write("memory.reservation", "memory.soft_limit_in_bytes", limit(v)));
        }
        // (Whether the kernel honours these is checked by reading them
        // back: resources::write_all.)
        if let Some(v) = set(m.kernel()) {
            out.push(write("memory.kernel", "memory.kmem.limit_in_bytes", limit(v)));
        }
        if let Some(v) = set(m.kernel_tcp()) {
            out.push(write("memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes", limit(v)));
        }
        if let Some(v) = m.swappiness() {
            if v > 100 {
                return Err(unsupported("memory.swappiness", "must be 0 to 100"));
            }
            out.push(write("memory.swappiness", "memory.swappiness", v));
        }
        if let Some(true) = m.disable_oom_killer() {
            out.push(write("memory.disableOOMKiller", "memory.oom_control", 1));
        }
        if let Some(v) = m.use_hierarchy() {
            out.push(write("memory.useHierarchy", "memory.use_hierarchy", u8::from(v)));
        }
        Ok(out)
    }

    fn cpu(&self, c: &LinuxCpu) -> Result<Vec<Write>, Unsupported> {
        let mut out = Vec::new();
        if let Some(v) = set(c.shares()) {
            out.push(write("cpu.shares", "cpu.shares", v));
        }
        if let Some(v) = c.period().filter(|v| *v != 0) {
            out.push(write("cpu.period", "cpu.cfs_period_us", v));
        }
        if let Some(v) = c.quota().filter(|v| *v != 0) {
            out.push(write("cpu.quota", "cpu.cfs_quota_us", v));
        }
        if let Some(v) = c.burst() {
            out.push(write("cpu.burst", "cpu.cfs_burst_us", v));
        }
        if let Some(v) = c.realtime_period().filter(|v| *v != 0) {
            out.push(write("cpu.realtimePeriod", "cpu.rt_period_us", v));
        }
        if let Some(v) = c.realtime_runtime().filter(|v| *v != 0) {
            out.push(write("cpu.realtimeRuntime", "cpu.rt_runtime_us", v));
        }
        if let Some(v) = c.idle() {
            out.push(write("cpu.idle", "cpu.idle", v));
        }
        Ok(out)
    }

    fn block_io(&self, b: &LinuxBlockIo) -> Result<Vec<Write>, Unsupported> {
        let mut out = Vec::new();
        if let Some(v) = set(b.weight()) {
            out.push(write("blockIO.weight", "blkio.weight", v));
        }
        if let Some(v) = set(b.leaf_weight()) {
            out.push(write("blockIO.leafWeight", "blkio.leaf_weight", v));
        }
        for (i, d) in b.weight_device().clone().unwrap_or_default().iter().enumerate() {
            if let Some(w) = set(d.weight()) {
                let field = format!("blockIO.weightDevice[{i}].weight");
                out.push(write(
                    &field,
                    "blkio.weight_device",
                    format!("{}:{} {w}", d.major(), d.minor()),
                ));
            }
            if let Some(w) = set(d.leaf_weight()) {
                let field = format!("blockIO.weightDevice[{i}].leafWeight");
                out.push(write(
                    &field,
                    "blkio.leaf_weight_device",
                    format!("{}:{} {w}", d.major(), d.minor()),
                ));
            }
        }
        for (name, file, list) in [
            (
                "throttleReadBpsDevice",
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "throttleWriteBpsDevice",
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "throttleReadIOPSDevice",
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "throttleWriteIOPSDevice",
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ] {
            for (i, d) in list.clone().unwrap_or_default().iter().enumerate() {
                let field = format!("blockIO.{name}[{i}]");
                out.push(write(&field, file, format!("{}:{} {}", d.major(), d.minor(), d.rate())));
            }
        }
        Ok(out)
    }

    fn hugepages(&self, limits: &[LinuxHugepageLimit]) -> Vec<Write> {
        limits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let field = format!("hugepageLimits[{i}]");
                write(&field, format!("hugetlb.{}.limit_in_bytes", h.page_size()), h.limit())
            })
            .collect()
    }

    fn network(&self, n: &LinuxNetwork) -> Result<Vec<Write>, Unsupported> {
        let mut out = Vec::new();
        if let Some(id) = n.class_id() {
            out.push(write("network.classID", "net_cls.classid", id));
        }
        for (i, p) in n.priorities().clone().unwrap_or_default().iter().enumerate() {
            let field = format!("network.priorities[{i}]");
            out.push(write(
                &field,
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
            ));
        }
        Ok(out)
    }

    fn unified(&self, u: &std::collections::HashMap<String, String>) -> Result<Vec<Write>, Unsupported> {
        match u.keys().next() {
            Some(key) => Err(unsupported(
                &format!("unified.{key}"),
                "unified settings need cgroup v2, and this controller is on v1",
            )),
            None => Ok(Vec::new()),
        }
    }

    fn freeze(&self, frozen: bool) -> Write {
        write("freezer", "freezer.state", if frozen { "FROZEN" } else { "THAWED" })
    }
}

/// cpu.shares (2..262144) as cpu.weight (1..10000), as runc converts.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

impl Driver for V2 {
    fn name(&self) -> &'static str {
        "v2"
    }

    fn controller(&self, section: Section) -> &'static str {
        match section {
            Section::Memory => "memory",
            Section::Cpu => "cpu",
            Section::Cpuset => "cpuset",
            Section::Pids => "pids",
            Section::BlockIo => "io",
            Section::Hugetlb => "hugetlb",
            Section::NetClass | Section::NetPrio => "",
            // cgroup.freeze is in every v2 cgroup but the root.
            Section::Freezer | Section::Unified => "",
        }
    }

    fn memory(&self, m: &LinuxMemory) -> Result<Vec<Write>, Unsupported> {
        let max = |v: i64| if v < 0 { "max".to_string() } else { v.to_string() };
        let mut out = Vec::new();
        if let Some(v) = set(m.limit()) {
            out.push(write("memory.limit", "memory.max", max(v)));
        }
        // As runc: an unlimited memory with swap unset makes swap
        // unlimited too.
        let swap = match (set(m.swap()), set(m.limit())) {
            (None, Some(l)) if l < 0 => Some(-1),
            (s, _) => s,
        };
        if let Some(swap) = swap {
            // The config's swap is memory + swap (as v1's memsw); v2's
            // memory.swap.max is the swap alone.
            let value = match (swap, set(m.limit())) {
                (s, _) if s < 0 => "max".to_string(),
                (s, Some(l)) if l > 0 => {
                    if s < l {
                        return Err(unsupported("memory.swap", "must be at least memory.limit"));
                    }
                    (s - l).to_string()
                }
                (_, _) => return Err(unsupported("memory.swap", "needs memory.limit on cgroup v2")),
            };
            out.push(write("memory.swap", "memory.swap.max", value));
        }
        if let Some(v) = set(m.reservation()) {
            out.push(write("memory.reservation", "memory.low", max(v)));
        }
        for (field, asked) in [
            ("memory.kernel", set(m.kernel()).is_some()),
            ("memory.kernelTCP", set(m.kernel_tcp()).is_some()),
            ("memory.swappiness", m.swappiness().is_some()),
            ("memory.disableOOMKiller", m.disable_oom_killer() == Some(true)),
        ] {
            if asked {
                return Err(unsupported(field, "cgroup v2 has no such setting"));
            }
        }
        if m.use_hierarchy() == Some(false) {
            return Err(unsupported(
                "memory.useHierarchy",
                "cgroup v2 is always hierarchical (false cannot be honoured)",
            ));
        }
        Ok(out)
    }

    fn cpu(&self, c: &LinuxCpu) -> Result<Vec<Write>, Unsupported> {
        let mut out = Vec::new();
        if let Some(v) = set(c.shares()) {
            out.push(write("cpu.shares", "cpu.weight", shares_to_weight(v)));
        }
        // As runc: a quota alone keeps the current period, and a period
        // alone makes the quota "max".
        let (quota, period) = (set(c.quota()), set(c.period()));
        if quota.is_some() || period.is_some() {
            let mut value = match quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".into(),
            };
            if let Some(p) = period {
                value = format!("{value} {p}");
            }
            out.push(write("cpu.quota", "cpu.max", value));
        }
        if let Some(v) = c.burst() {
            out.push(write("cpu.burst", "cpu.max.burst", v));
        }
        if let Some(v) = c.idle() {
            out.push(write("cpu.idle", "cpu.idle", v));
        }
        if c.realtime_period().is_some_and(|v| v != 0) || c.realtime_runtime().is_some_and(|v| v != 0) {
            return Err(unsupported("cpu.realtimeRuntime", "cgroup v2 has no realtime settings"));
        }
        Ok(out)
    }

    fn block_io(&self, b: &LinuxBlockIo) -> Result<Vec<Write>, Unsupported> {
        let mut out = Vec::new();
        if let Some(v) = set(b.weight()) {
            // blkio.weight (10..1000) as io.weight (1..10000).
            let weight = 1 + (u64::from(v).clamp(10, 1000) - 10) * 9999 / 990;
            out.push(write("blockIO.weight", "io.weight", format!("default {weight}")));
        }
        if set(b.leaf_weight()).is_some() {
            return Err(unsupported("blockIO.leafWeight", "cgroup v2 has no leaf weight"));
        }
        for (i, d) in b.weight_device().clone().unwrap_or_default().iter().enumerate() {
            if set(d.leaf_weight()).is_some() {
                return Err(unsupported(
                    &format!("blockIO.weightDevice[{i}].leafWeight"),
                    "cgroup v2 has no leaf weight",
                ));
            }
            if let Some(w) = set(d.weight()) {
                let weight = 1 + (u64::from(w).clamp(10, 1000) - 10) * 9999 / 990;
                let field = format!("blockIO.weightDevice[{i}].weight");
                out.push(write(
                    &field,
                    "io.weight",
                    format!("{}:{} {weight}", d.major(), d.minor()),
                ));
            }
        }
        for (name, key, list) in [
            ("throttleReadBpsDevice", "rbps", b.throttle_read_bps_device()),
            ("throttleWriteBpsDevice", "wbps", b.throttle_write_bps_device()),
            ("throttleReadIOPSDevice", "riops", b.throttle_read_iops_device()),
            ("throttleWriteIOPSDevice", "wiops", b.throttle_write_iops_device()),
        ] {
            for (i, d) in list.clone().unwrap_or_default().iter().enumerate() {
                let field = format!("blockIO.{name}[{i}]");
                out.push(write(
                    &field,
                    "io.max",
                    format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
        Ok(out)
    }

    fn hugepages(&self, limits: &[LinuxHugepageLimit]) -> Vec<Write> {
        limits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let field = format!("hugepageLimits[{i}]");
                write(&field, format!("hugetlb.{}.max", h.page_size()), h.limit())
            })
            .collect()
    }

    fn network(&self, n: &LinuxNetwork) -> Result<Vec<Write>, Unsupported> {
        if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(unsupported(
                "network",
                "cgroup v2 has no net_cls or net_prio (use the network namespace instead)",
            ));
        }
        Ok(Vec::new())
    }

    fn unified(&self, u: &std::collections::HashMap<String, String>) -> Result<Vec<Write>, Unsupported> {
        let mut keys: Vec<&String> = u.keys().collect();
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            if key.contains('/') || key.starts_with('.') || !key.contains('.') {
                return Err(unsupported(&format!("unified.{key}"), "not a cgroup file name"));
            }
            out.push(write(&format!("unified.{key}"), key.as_str(), &u[key]));
        }
        Ok(out)
    }

    fn freeze(&self, frozen: bool) -> Write {
        write("freezer", "cgroup.freeze", u8::from(frozen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(writes: &[Write]) -> Vec<(&str, &str)> {
        writes.iter().map(|w| (w.file.as_str(), w.value.as_str())).collect()
    }

    fn memory(json: serde_json::Value) -> LinuxMemory {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn memory_on_both_versions() {
        let m = memory(serde_json::json!({"limit": 67108864, "swap": 134217728, "reservation": 33554432}));
        assert_eq!(
            files(&V1.memory(&m).unwrap()),
            [
                ("memory.limit_in_bytes", "67108864"),
                ("memory.memsw.limit_in_bytes", "134217728"),
                ("memory.soft_limit_in_bytes", "33554432"),
            ]
        );
        assert_eq!(
            files(&V2.memory(&m).unwrap()),
            [
                ("memory.max", "67108864"),
                ("memory.swap.max", "67108864"),
                ("memory.low", "33554432")
            ]
        );
        let unlimited = memory(serde_json::json!({"limit": -1, "swap": -1}));
        assert_eq!(
            files(&V2.memory(&unlimited).unwrap()),
            [("memory.max", "max"), ("memory.swap.max", "max")]
        );
        let v1_only = memory(serde_json::json!({"swappiness": 10, "disableOOMKiller": true}));
        assert_eq!(
            files(&V1.memory(&v1_only).unwrap()),
            [("memory.swappiness", "10"), ("memory.oom_control", "1")]
        );
        assert_eq!(
            V2.memory(&v1_only).unwrap_err().field,
            "linux.resources.memory.swappiness"
        );
    }

    #[test]
    fn cpu_on_both_versions() {
        let c: LinuxCpu = serde_json::from_value(
            serde_json::json!({"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}),
        )
        .unwrap();
        assert_eq!(
            files(&V1.cpu(&c).unwrap()),
            [
                ("cpu.shares", "1024"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "50000")
            ]
        );
        assert_eq!(
            files(&V2.cpu(&c).unwrap()),
            [("cpu.weight", "39"), ("cpu.max", "50000 100000")]
        );
        assert_eq!(files(&V2.cpuset(&c)), [("cpuset.cpus", "0"), ("cpuset.mems", "0")]);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn block_io_hugepages_network_unified_freezer() {
        let b: LinuxBlockIo = serde_json::from_value(serde_json::json!({
            "weight": 500,
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]
        }))
        .unwrap();
        assert_eq!(
            files(&V1.block_io(&b).unwrap()),
            [
                ("blkio.weight", "500"),
                ("blkio.throttle.read_bps_device", "8:0 1048576"),
                ("blkio.throttle.write_iops_device", "8:0 100"),
            ]
        );
        assert_eq!(
            files(&V2.block_io(&b).unwrap()),
            [
                ("io.weight", "default 4950"),
                ("io.max", "8:0 rbps=1048576"),
                ("io.max", "8:0 wiops=100")
            ]
        );
        let h: Vec<LinuxHugepageLimit> =
            serde_json::from_value(serde_json::json!([{"pageSize": "2MB", "limit": 4194304}])).unwrap();
        assert_eq!(files(&V1.hugepages(&h)), [("hugetlb.2MB.limit_in_bytes", "4194304")]);
        assert_eq!(files(&V2.hugepages(&h)), [("hugetlb.2MB.max", "4194304")]);
        let n: LinuxNetwork = serde_json::from_value(serde_json::json!({"classID": 1048577})).unwrap();
        assert_eq!(files(&V1.network(&n).unwrap()), [("net_cls.classid", "1048577")]);
        assert_eq!(V2.network(&n).unwrap_err().field, "linux.resources.network");
        let u = std::collections::HashMap::from([("memory.high".to_string(), "1000000".to_string())]);
        assert_eq!(files(&V2.unified(&u).unwrap()), [("memory.high", "1000000")]);
        assert!(V1.unified(&u).is_err());
        let bad = std::collections::HashMap::from([("../escape".to_string(), "1".to_string())]);
        assert!(V2.unified(&bad).is_err());
        assert_eq!(
            files(&[V1.freeze(true), V2.freeze(true)]),
            [("freezer.state", "FROZEN"), ("cgroup.freeze", "1")]
        );
    }

    /// Zeros are "unset", as runc reads them: its `update` template (all
    /// zeros, "unchanged values can be omitted") writes nothing on either
    /// version; -1 stays "unlimited"; a pids limit of 0 is no change.
    #[test]
    fn zeros_are_unset_on_both_versions() {
        let r: oci_spec::runtime::LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0,
                    "cpus": "", "mems": ""},
            "blockIO": {"weight": 0, "leafWeight": 0,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 0, "leafWeight": 0}]},
            "pids": {"limit": 0}
        }))
        .unwrap();
        for driver in [&V1 as &dyn Driver, &V2] {
            let mut writes = driver.memory(r.memory().as_ref().unwrap()).unwrap();
            writes.extend(driver.cpu(r.cpu().as_ref().unwrap()).unwrap());
            writes.extend(driver.cpuset(r.cpu().as_ref().unwrap()));
            writes.extend(driver.block_io(r.block_io().as_ref().unwrap()).unwrap());
            writes.extend(driver.pids(r.pids().as_ref().unwrap().limit()));
            assert_eq!(files(&writes), [], "{}", driver.name());
        }
        assert_eq!(files(&V1.pids(-1)), [("pids.max", "max")]);
        assert_eq!(files(&V2.pids(7)), [("pids.max", "7")]);
        // A limit with swap and reservation 0: the limit alone.
        let m = memory(serde_json::json!({"limit": 67108864, "swap": 0, "reservation": 0}));
        assert_eq!(files(&V1.memory(&m).unwrap()), [("memory.limit_in_bytes", "67108864")]);
        assert_eq!(files(&V2.memory(&m).unwrap()), [("memory.max", "67108864")]);
        // Unlimited memory, swap unset: swap unlimited too on v2 (as runc).
        let m = memory(serde_json::json!({"limit": -1, "swap": 0}));
        assert_eq!(
            files(&V2.memory(&m).unwrap()),
            [("memory.max", "max"), ("memory.swap.max", "max")]
        );
        // v2: a quota alone keeps the period; a period alone, quota max.
        let c: LinuxCpu = serde_json::from_value(serde_json::json!({"quota": 5000, "period": 0})).unwrap();
        assert_eq!(files(&V2.cpu(&c).unwrap()), [("cpu.max", "5000")]);
        let c: LinuxCpu = serde_json::from_value(serde_json::json!({"quota": 0, "period": 50000})).unwrap();
        assert_eq!(files(&V2.cpu(&c).unwrap()), [("cpu.max", "max 50000")]);
    }

    /// What v2 cannot express is refused by field, not dropped.
    #[test]
    fn v2_refuses_use_hierarchy_false_and_leaf_weights() {
        let m = memory(serde_json::json!({"useHierarchy": false}));
        assert_eq!(V2.memory(&m).unwrap_err().field, "linux.resources.memory.useHierarchy");
        let m = memory(serde_json::json!({"useHierarchy": true}));
        assert_eq!(files(&V2.memory(&m).unwrap()), []);
        let b: LinuxBlockIo = serde_json::from_value(serde_json::json!({
            "weightDevice": [{"major": 8, "minor": 0, "weight": 100}, {"major": 8, "minor": 16, "leafWeight": 200}]
        }))
        .unwrap();
        assert_eq!(
            V2.block_io(&b).unwrap_err().field,
            "linux.resources.blockIO.weightDevice[1].leafWeight"
        );
        assert_eq!(
            files(&V1.block_io(&b).unwrap()),
            [
                ("blkio.weight_device", "8:0 100"),
                ("blkio.leaf_weight_device", "8:16 200")
            ]
        );
    }

    /// On this host's real v1 memory hierarchy: a kernel memory limit the
    /// kernel takes and then ignores (Linux 5.16 and later) is refused by
    /// field at once; one it keeps (kernelTCP, here) is written.
    #[test]
    fn kernel_memory_the_kernel_ignores_is_refused_by_field() {
        let Some(root) = ["/sys/fs/cgroup/memory"]
            .iter()
            .map(std::path::Path::new)
            .find(|p| p.join("memory.limit_in_bytes").exists())
        else {
            eprintln!("no v1 memory hierarchy here: nothing to test");
            return;
        };
        assert!(nix::unistd::geteuid().is_root(), "this test needs root");
        /// Removed when the test ends, pass or fail.
        struct Cgroup(std::path::PathBuf);
        impl Drop for Cgroup {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let cgroup = Cgroup(root.join(format!("burrow-test-kmem-{}", std::process::id())));
        std::fs::create_dir(&cgroup.0).unwrap();
        let dir = &cgroup.0;
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap().trim().to_owned();
        for (field, file) in [
            ("memory.kernel", "memory.kmem.limit_in_bytes"),
            ("memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes"),
        ] {
            let key = field.trim_start_matches("memory.");
            let m = memory(serde_json::json!({ key: 33554432 }));
            let writes = V1.memory(&m).unwrap();
            match crate::resources::write_all(dir, "v1", writes) {
                Ok(()) => assert_eq!(read(file), "33554432", "{field} was written, so it must have taken"),
                Err(e) => {
                    let text = e.to_string();
                    assert!(text.contains(&format!("linux.resources.{field}")), "{text}");
                    assert_ne!(read(file), "33554432", "{field} was refused, so it must not have taken");
                }
            }
        }
    }

    /// Written into a directory laid out like a cgroup2 leaf: every file
    /// holds exactly what the v2 driver says, and a file the kernel would
    /// not have is refused by field.
    #[test]
    fn v2_files_written_into_a_v2_layout() {
        /// Removed when the test ends, pass or fail.
        struct Scratch(std::path::PathBuf);
        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let scratch = Scratch(std::env::temp_dir().join(format!("burrow-v2-layout-{}", std::process::id())));
        let dir = &scratch.0;
        std::fs::create_dir(dir).unwrap();
        for file in [
            "memory.max",
            "memory.swap.max",
            "memory.low",
            "cpu.weight",
            "cpu.max",
            "pids.max",
            "io.weight",
        ] {
            std::fs::write(dir.join(file), "").unwrap();
        }
        let r: oci_spec::runtime::LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1048576, "swap": 2097152, "reservation": 524288},
            "cpu": {"shares": 2048, "quota": 20000, "period": 50000},
            "pids": {"limit": 64},
            "blockIO": {"weight": 1000}
        }))
        .unwrap();
        let mut writes = V2.memory(r.memory().as_ref().unwrap()).unwrap();
        writes.extend(V2.cpu(r.cpu().as_ref().unwrap()).unwrap());
        writes.extend(V2.pids(r.pids().as_ref().unwrap().limit()));
        writes.extend(V2.block_io(r.block_io().as_ref().unwrap()).unwrap());
        crate::resources::write_all(dir, "v2", writes).unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let expected = [
            ("memory.max", "1048576"),
            ("memory.swap.max", "1048576"),
            ("memory.low", "524288"),
            ("cpu.weight", "79"),
            ("cpu.max", "20000 50000"),
            ("pids.max", "64"),
            ("io.weight", "default 10000"),
        ];
        for (file, value) in expected {
            assert_eq!(read(file), value, "{file}");
        }
        let hugepages: Vec<LinuxHugepageLimit> =
            serde_json::from_value(serde_json::json!([{"pageSize": "1GB", "limit": 0}])).unwrap();
        let err = crate::resources::write_all(dir, "v2", V2.hugepages(&hugepages)).unwrap_err();
        assert!(err.to_string().contains("hugepageLimits[0]"), "{err}");
    }
}
