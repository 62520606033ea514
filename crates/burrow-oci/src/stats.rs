//! Reading a container's cgroup statistics, in runc's `events --stats`
//! JSON: cpu, memory, pids, blkio and hugetlb, from v1 or v2 files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::limits::Section;
use crate::resources::placed;

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn number(dir: &Path, file: &str) -> u64 {
    read(dir, file).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A v2 "max" or a number; v1's huge "unlimited" stays as it is.
fn limit(dir: &Path, file: &str) -> u64 {
    match read(dir, file).as_deref() {
        Some("max") => u64::MAX,
        Some(s) => s.parse().unwrap_or(0),
        None => 0,
    }
}

/// `key value` lines (memory.stat, cpu.stat, memory.events) as a map.
fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn is_v2(driver: &dyn crate::limits::Driver) -> bool {
    driver.name() == "v2"
}

fn cpu(leaves: &[PathBuf]) -> Value {
    let mut out = json!({});
    // v1 keeps usage in cpuacct and throttling in cpu.
    if let Some((dir, d)) = placed(leaves, Section::Cpu) {
        let stat = keyed(dir, "cpu.stat");
        if is_v2(d) {
            out["usage"] = json!({
                "total": stat.get("usage_usec").copied().unwrap_or(0) * 1000,
                "user": stat.get("user_usec").copied().unwrap_or(0) * 1000,
                "kernel": stat.get("system_usec").copied().unwrap_or(0) * 1000,
            });
            out["throttling"] = json!({
                "periods": stat.get("nr_periods").copied().unwrap_or(0),
                "throttledPeriods": stat.get("nr_throttled").copied().unwrap_or(0),
                "throttledTime": stat.get("throttled_usec").copied().unwrap_or(0) * 1000,
            });
        } else {
            out["throttling"] = json!({
                "periods": stat.get("nr_periods").copied().unwrap_or(0),
                "throttledPeriods": stat.get("nr_throttled").copied().unwrap_or(0),
                "throttledTime": stat.get("throttled_time").copied().unwrap_or(0),
            });
        }
    }
    if let Some(dir) = crate::cgroups::v1_leaf_for(leaves, "cpuacct") {
        // cpuacct.stat counts USER_HZ ticks (100 a second).
        let ticks = keyed(dir, "cpuacct.stat");
        let percpu: Vec<u64> = read(dir, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        out["usage"] = json!({
            "total": number(dir, "cpuacct.usage"),
            "percpu": percpu,
            "user": ticks.get("user").copied().unwrap_or(0) * 10_000_000,
            "kernel": ticks.get("system").copied().unwrap_or(0) * 10_000_000,
        });
    }
    out
}

fn memory(leaves: &[PathBuf]) -> Value {
    let Some((dir, d)) = placed(leaves, Section::Memory) else {
        return json!({});
    };
    if is_v2(d) {
        json!({
            "usage": {"usage": number(dir, "memory.current"), "limit": limit(dir, "memory.max"),
                      "max": number(dir, "memory.peak"), "failcnt": keyed(dir, "memory.events").get("max").copied().unwrap_or(0)},
            "swap": {"usage": number(dir, "memory.swap.current"), "limit": limit(dir, "memory.swap.max")},
            "raw": keyed(dir, "memory.stat"),
        })
    } else {
        let usage = |prefix: &str| {
            json!({
                "usage": number(dir, &format!("{prefix}usage_in_bytes")),
                "limit": number(dir, &format!("{prefix}limit_in_bytes")),
                "max": number(dir, &format!("{prefix}max_usage_in_bytes")),
                "failcnt": number(dir, &format!("{prefix}failcnt")),
            })
        };
        json!({
            "usage": usage("memory."),
            "swap": usage("memory.memsw."),
            "kernel": usage("memory.kmem."),
            "kernelTCP": usage("memory.kmem.tcp."),
            "raw": keyed(dir, "memory.stat"),
        })
    }
}

fn pids(leaves: &[PathBuf]) -> Value {
    match placed(leaves, Section::Pids) {
        // No limit ("max") is left out, as runc does (its 0 with omitempty).
        Some((dir, _)) => match limit(dir, "pids.max") {
            u64::MAX => json!({"current": number(dir, "pids.current")}),
            max => json!({"current": number(dir, "pids.current"), "limit": max}),
        },
        None => json!({}),
    }
}

fn blkio(leaves: &[PathBuf]) -> Value {
    let Some((dir, d)) = placed(leaves, Section::BlockIo) else {
        return json!({});
    };
    let entry = |dev: &str, op: &str, value: u64| {
        let (major, minor) = dev.split_once(':').unwrap_or(("0", "0"));
        json!({"major": major.parse::<u64>().unwrap_or(0), "minor": minor.parse::<u64>().unwrap_or(0), "op": op, "value": value})
    };
    if is_v2(d) {
        // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..."
        let (mut bytes, mut ios) = (Vec::new(), Vec::new());
        for line in read(dir, "io.stat").unwrap_or_default().lines() {
            let mut parts = line.split_whitespace();
            let dev = parts.next().unwrap_or_default();
            for kv in parts {
                let (k, v) = kv.split_once('=').unwrap_or((kv, "0"));
                let v = v.parse().unwrap_or(0);
                match k {
                    "rbytes" => bytes.push(entry(dev, "Read", v)),
                    "wbytes" => bytes.push(entry(dev, "Write", v)),
                    "rios" => ios.push(entry(dev, "Read", v)),
                    "wios" => ios.push(entry(dev, "Write", v)),
                    _ => {}
                }
            }
        }
        json!({"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios})
    } else {
        let list = |file: &str| -> Vec<Value> {
            read(dir, file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut p = l.split_whitespace();
                    let (dev, op, v) = (p.next()?, p.next()?, p.next()?);
                    Some(entry(dev, op, v.parse().ok()?))
                })
                .collect()
        };
        json!({
            "ioServiceBytesRecursive": list("blkio.throttle.io_service_bytes_recursive"),
            "ioServicedRecursive": list("blkio.throttle.io_serviced_recursive"),
        })
    }
}

fn hugetlb(leaves: &[PathBuf]) -> Value {
    let Some((dir, d)) = placed(leaves, Section::Hugetlb) else {
        return json!({});
    };
    let mut out = serde_json::Map::new();
    let suffix = if is_v2(d) { ".max" } else { ".limit_in_bytes" };
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(size) = name.strip_prefix("hugetlb.").and_then(|n| n.strip_suffix(suffix)) else {
            continue;
        };
        if size.contains('.') {
            continue;
        }
        let value = if is_v2(d) {
            json!({"usage": number(dir, &format!("hugetlb.{size}.current")),
                   "max": number(dir, &format!("hugetlb.{size}.max")),
                   "failcnt": keyed(dir, &format!("hugetlb.{size}.events")).get("max").copied().unwrap_or(0)})
        } else {
            json!({"usage": number(dir, &format!("hugetlb.{size}.usage_in_bytes")),
                   "max": number(dir, &format!("hugetlb.{size}.max_usage_in_bytes")),
                   "failcnt": number(dir, &format!("hugetlb.{size}.failcnt"))})
        };
        out.insert(size.to_owned(), value);
    }
    Value::Object(out)
}

/// The statistics of a container placed in `leaves`.
pub fn stats(leaves: &[PathBuf]) -> Value {
    json!({
        "cpu": cpu(leaves),
        "memory": memory(leaves),
        "pids": pids(leaves),
        "blkio": blkio(leaves),
        "hugetlb": hugetlb(leaves),
    })
}

/// How many times the kernel's OOM killer has killed in the container's
/// memory cgroup (v1 `memory.oom_control`, v2 `memory.events`).
pub fn oom_kills(leaves: &[PathBuf]) -> u64 {
    match placed(leaves, Section::Memory) {
        Some((dir, d)) if is_v2(d) => keyed(dir, "memory.events").get("oom_kill").copied().unwrap_or(0),
        Some((dir, _)) => keyed(dir, "memory.oom_control").get("oom_kill").copied().unwrap_or(0),
        None => 0,
    }
}
