#!/usr/bin/env python3
"""Side-by-side timings of burrow against crun, runc, bubblewrap and nsenter.

Run by bench/run (which prepares the tools, the bundle and the mount
namespace); not meant to be started by hand. Every measurement interleaves
the tools (A B, then B A, ...), so drift on a noisy machine hits them
alike; it reports each tool's median wall and CPU time, the median of the
per-round ratios burrow/other, and the spread (interquartile range).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUNDLE = os.environ["BENCH_BUNDLE"]
STATE = os.environ["BENCH_STATE"]
PAIRS = int(os.environ.get("PAIRS", "30"))
WARMUP = int(os.environ.get("WARMUP", "5"))
BURROW = os.environ["BURROW"]
RUNTIMES = {"burrow": BURROW, "crun": "crun", "runc": "runc"}
DEVNULL = subprocess.DEVNULL


# Every command starts under bench/maxrss.c (built by bench/run), which
# vforks, so the peak RSS it reports (ru_maxrss of the process tree) is the
# command's alone: a child that Python started directly would count
# Python's pages until it execs.
LAUNCH = [os.environ["BENCH_MAXRSS"]]


def spawn(argv):
    argv = [shutil.which(argv[0]) or argv[0]] + argv[1:]
    # stderr to a file, not a pipe: a created container keeps the runtime's
    # stdio open, and reading a pipe would wait for it.
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(LAUNCH + argv, stdin=DEVNULL, stdout=DEVNULL, stderr=err)
    proc.err_file = err
    return proc


def finish(proc, argv):
    """Wait for a spawn(); return (cpu seconds, peak RSS KiB)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.err_file.seek(0)
    err = proc.err_file.read().decode(errors="replace").strip().splitlines()
    proc.err_file.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {' / '.join(err)}")
    return usage.ru_utime + usage.ru_stime, int(err[-1]) if err else 0


def timed(argv):
    """Run argv; return (wall seconds, cpu seconds, peak RSS KiB)."""
    start = time.perf_counter()
    cpu, rss = finish(spawn(argv), argv)
    return time.perf_counter() - start, cpu, rss


def rt(name, *args):
    return [RUNTIMES[name], "--root", f"{STATE}/{name}", *args]


_counter = [0]


def fresh_id(name):
    _counter[0] += 1
    return f"bench-{name}-{os.getpid()}-{_counter[0]}"


# --- operations: each returns (wall, cpu, rss) of one go -------------------


def op_run(name):
    return timed(rt(name, "run", "--bundle", BUNDLE, fresh_id(name)))


def op_lifecycle(name):
    cid = fresh_id(name)
    wall = cpu = 0.0
    rss = 0
    for argv in (rt(name, "create", "--bundle", BUNDLE, cid), rt(name, "start", cid)):
        w, c, r = timed(argv)
        wall, cpu, rss = wall + w, cpu + c, max(rss, r)
    # Wait for the exit, as an engine would, by polling state.
    start = time.perf_counter()
    while True:
        out = subprocess.run(rt(name, "state", cid), capture_output=True, text=True)
        if json.loads(out.stdout or "{}").get("status") == "stopped":
            break
        time.sleep(0.0005)
    wall += time.perf_counter() - start
    w, c, r = timed(rt(name, "delete", cid))
    return wall + w, cpu + c, max(rss, r)


class Running:
    """A long-running container per runtime, for exec."""

    def __init__(self):
        self.ids = {}
        self.pids = {}

    def start(self, name, bundle):
        cid = fresh_id(name)
        subprocess.run(rt(name, "run", "-d", "--bundle", bundle, cid), check=True, stdin=DEVNULL, stdout=DEVNULL)
        state = json.loads(subprocess.run(rt(name, "state", cid), capture_output=True, text=True).stdout)
        self.ids[name], self.pids[name] = cid, state["pid"]

    def stop(self):
        for name, cid in self.ids.items():
            subprocess.run(rt(name, "delete", "--force", cid), stdout=DEVNULL, stderr=DEVNULL)


def op_exec(running, name):
    if name == "nsenter":
        pid = str(running.pids["burrow"])
        return timed(["nsenter", "-a", "-t", pid, "/bin/true"])
    return timed(rt(name, "exec", running.ids[name], "/bin/true"))


BWRAP = ("bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib "
         "--symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --proc /proc --dev /dev --tmpfs /tmp").split()


def op_adhoc(name):
    if name == "bwrap":
        return timed(BWRAP + ["/bin/true"])
    return timed([BURROW, "run", "--", "/bin/true"])


def op_concurrent(name, n=50):
    """n `run`s started at once, and waited for. The runtimes are spawned
    directly (posix_spawn), not under bench/maxrss.c as elsewhere: this row
    is about wall time, and the wrapper's own start (a dynamic program's)
    took 0.5 ms of CPU per container, the same for every tool, which only
    pulled every ratio toward 1.00x. No RSS is reported here."""
    runs = [rt(name, "run", "--bundle", BUNDLE, fresh_id(name)) for _ in range(n)]
    runs = [[shutil.which(argv[0]) or argv[0]] + argv[1:] for argv in runs]
    null = os.open(os.devnull, os.O_RDWR)
    err = tempfile.TemporaryFile()
    stdio = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
    try:
        start = time.perf_counter()
        pids = [os.posix_spawn(argv[0], argv, os.environ, file_actions=stdio) for argv in runs]
        cpu, failed = 0.0, []
        for pid, argv in zip(pids, runs):
            _, status, usage = os.wait4(pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
            if os.waitstatus_to_exitcode(status) != 0:
                failed.append(argv)
        wall = time.perf_counter() - start
    finally:
        os.close(null)
    if failed:
        err.seek(0)
        raise RuntimeError(f"{failed[0]} failed: {err.read().decode(errors='replace').strip()}")
    return wall, cpu, 0


# --- interleaving and reporting ---------------------------------------------


def measure(title, names, go, pairs=PAIRS, warmup=WARMUP):
    """Interleave `go(name)` over `names` (rotating the order each round)."""
    for _ in range(warmup):
        for n in names:
            go(n)
    results = {n: [] for n in names}
    for i in range(pairs):
        order = names[i % len(names):] + names[:i % len(names)]
        if i % 2:
            order = list(reversed(order))
        for n in order:
            results[n].append(go(n))
    report(title, names, results)
    return results


def iqr(xs):
    q = statistics.quantiles(xs, n=4)
    return q[2] - q[0]


ROWS = []


def report(title, names, results):
    base = names[0]
    print(f"\n### {title}\n")
    print("| tool | rounds | median wall ms | IQR ms | median CPU ms | peak RSS MiB | "
          f"{base}/tool wall (median of per-round ratios) | {base}/tool CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        wall = [r[0] * 1000 for r in results[n]]
        cpu = [r[1] * 1000 for r in results[n]]
        rss = max(r[2] for r in results[n]) / 1024
        rss_cell = f"{rss:.1f}" if rss else "-"
        ratio = statistics.median(b[0] / o[0] for b, o in zip(results[base], results[n]))
        cratio = statistics.median((b[1] or 1e-9) / (o[1] or 1e-9) for b, o in zip(results[base], results[n]))
        print(f"| {n} | {len(wall)} | {statistics.median(wall):.2f} | {iqr(wall):.2f} | "
              f"{statistics.median(cpu):.2f} | {rss_cell} | {ratio:.2f}x | {cratio:.2f}x |")
        ROWS.append({"operation": title, "tool": n, "median_wall_ms": statistics.median(wall),
                     "ratio": ratio, "peak_rss_mib": rss})
    sys.stdout.flush()


def main():
    floor = min(timed(["/bin/true"])[2] for _ in range(5))
    print(f"- peak RSS: the largest `ru_maxrss` over the rounds, of the runtime's whole process tree "
          f"(bench/maxrss.c; `/bin/true` alone reads {floor} KiB)")
    only = set(sys.argv[1:])
    want = lambda op: not only or op in only  # noqa: E731
    if want("run"):
        measure("`run ID` of the bundle (/bin/true), with cgroups", ["burrow", "crun", "runc"], op_run)
    if want("lifecycle"):
        measure("`create`, `start`, wait for exit, `delete`", ["burrow", "crun", "runc"], op_lifecycle)
    if want("exec"):
        running = Running()
        try:
            for n in ("burrow", "crun", "runc"):
                running.start(n, os.environ["BENCH_SLEEP_BUNDLE"])
            measure("`exec ID /bin/true` into a running container", ["burrow", "crun", "runc", "nsenter"],
                    lambda n: op_exec(running, n))
        finally:
            running.stop()
    if want("adhoc"):
        measure("`burrow run -- /bin/true` against bwrap (ad hoc)", ["burrow", "bwrap"], op_adhoc)
    if want("concurrent"):
        measure("50 containers started at once (`run`), total wall", ["burrow", "crun", "runc"], op_concurrent,
                warmup=2)
    with open(os.environ.get("BENCH_JSON", "/dev/null"), "w") as f:
        json.dump(ROWS, f, indent=1)


if __name__ == "__main__":
    main()
