#!/usr/bin/env bash
# Start-up benchmark: `burrow run -- /bin/true` against bubblewrap doing
# comparable work, and against a bare `unshare` (namespaces only, no mounts:
# a lower bound). A benchmark, not a test: it prints numbers and judges nothing.
#
# Usage: bench/startup.sh [--rootless USER] [--no-rootless] [--no-build]
#
#   --rootless USER  also run every command as USER (via `runuser -u USER --`);
#                    default, when run as root: the user `burrowtest`, if it exists
#   --no-rootless    only the case of the invoking user
#   --no-build       skip `cargo build --release` (use target/release/burrow as it is)
#
# Environment: RUNS (timed runs per command, default 200), WARMUP (default 20),
# ROUNDS (default 4: the runs are split into ROUNDS hyperfine invocations whose
# command order alternates, so slow drift on a noisy machine hits every command
# alike; the times of all rounds are pooled), BURROW_BENCH_USER (as --rootless).
set -euo pipefail

RUNS=${RUNS:-200}
WARMUP=${WARMUP:-20}
ROUNDS=${ROUNDS:-4}
ROOTLESS_USER=${BURROW_BENCH_USER:-}
ROOTLESS=auto
BUILD=1

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --rootless) [[ $# -ge 2 ]] || { echo "--rootless needs a user name" >&2; exit 2; }
                    ROOTLESS_USER=$2; ROOTLESS=yes; shift 2 ;;
        --rootless=*) ROOTLESS_USER=${1#*=}; ROOTLESS=yes; shift ;;
        --no-rootless) ROOTLESS=no; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [[ -n $ROOTLESS_USER && $ROOTLESS == auto ]]; then ROOTLESS=yes; fi
if [[ $ROOTLESS == auto ]]; then
    if [[ $(id -u) -eq 0 ]] && id -u burrowtest >/dev/null 2>&1; then ROOTLESS_USER=burrowtest; ROOTLESS=yes; else ROOTLESS=no; fi
fi
if (( ROUNDS < 1 )); then ROUNDS=1; fi
if (( RUNS < ROUNDS * 2 )); then echo "RUNS must be at least 2*ROUNDS" >&2; exit 2; fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BURROW=$REPO/target/release/burrow

# --- tools -------------------------------------------------------------------
missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if (( ${#missing[@]} )); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "installing: ${missing[*]}" >&2
        apt-get install -y "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
    else
        echo "missing: ${missing[*]} (run as root, or: apt-get install -y hyperfine bubblewrap)" >&2
        exit 1
    fi
fi
for tool in unshare python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done
if [[ $ROOTLESS == yes ]]; then
    id -u "$ROOTLESS_USER" >/dev/null 2>&1 || { echo "no such user: $ROOTLESS_USER" >&2; exit 1; }
    [[ $(id -u) -eq 0 ]] || { echo "--rootless needs root (runuser)" >&2; exit 1; }
fi

# --- build -------------------------------------------------------------------
if (( BUILD )); then
    (cd "$REPO" && cargo build --release --quiet)
fi
[[ -x $BURROW ]] || { echo "no $BURROW (build failed?)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/burrow-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

# The minimal /etc burrow writes, for the "matched" bwrap variant to bind.
mkdir -p "$WORK/etc"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n' >"$WORK/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$WORK/etc/group"
printf '127.0.0.1 localhost burrow\n::1 localhost ip6-localhost ip6-loopback\n' >"$WORK/etc/hosts"
printf 'nameserver 127.0.0.1\n' >"$WORK/etc/resolv.conf"
chmod -R a+rX "$WORK/etc"

# --- the commands --------------------------------------------------------------
BWRAP_BASE="bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --proc /proc --dev /dev --tmpfs /tmp"
# What burrow does on top of the above: root (uid/gid 0) inside, its own
# hostname, and a minimal /etc. bwrap gets the /etc as one read-only bind of a
# prepared directory (burrow writes four files into its tmpfs root). Left out:
# burrow's fresh read-only sysfs, which bwrap cannot mount (`--ro-bind /sys`
# would drag in the host's cgroup submounts), so this variant still does a bit
# less than burrow.
BWRAP_MATCHED="$BWRAP_BASE --uid 0 --gid 0 --hostname burrow --ro-bind $WORK/etc /etc"
UNSHARE="unshare --user --map-root-user --mount --pid --fork --ipc --uts --net --cgroup"

# burrow-unconfined: the same without burrow run's default seccomp filter,
# to show what the filter costs.
NAMES=(burrow burrow-unconfined bwrap bwrap-matched unshare)
CMDS=(
    "$BURROW run --"
    "$BURROW run --seccomp unconfined --"
    "$BWRAP_BASE"
    "$BWRAP_MATCHED"
    "$UNSHARE"
)

as_user() { # as_user USER CMD...: run CMD as USER, or as ourselves when USER is empty
    local user=$1; shift
    if [[ -n $user ]]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

# --- header --------------------------------------------------------------------
commit=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]]; then commit="$commit (+ uncommitted changes)"; fi
echo "# burrow start-up benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- host: $(uname -srm), $(nproc) cores"
echo "- burrow: $("$BURROW" --version 2>/dev/null || echo '?'), commit $commit"
echo "- bwrap: $(bwrap --version)"
echo "- unshare: $(unshare --version)"
echo "- hyperfine: $(hyperfine --version)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every number below)"
echo "- runs: $RUNS per command in $ROUNDS rounds (warmup $WARMUP, then 5 per later round), hyperfine -N (no shell)"
echo

# --- one case: all commands as one user ----------------------------------------
run_case() { # run_case LABEL USER(empty = ourselves)
    local label=$1 user=$2 dir i r
    dir=$WORK/${user:-self}
    mkdir -p "$dir"
    if [[ -n $user ]]; then chown "$user" "$dir"; fi

    # Sanity: each command works, and each gets a user namespace of its own.
    local host_userns
    host_userns=$(as_user "$user" readlink /proc/self/ns/user)
    echo "## $label"
    echo
    echo "Sanity (host user ns $host_userns):"
    echo
    for i in "${!NAMES[@]}"; do
        local out
        # shellcheck disable=SC2086
        if ! out=$(as_user "$user" ${CMDS[$i]} /bin/sh -c 'echo "$(readlink /proc/self/ns/user) uid_map: $(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")" ; /bin/true' 2>&1); then
            echo "    ${NAMES[$i]}: FAILED: $out"
            echo
            echo "(skipping $label)"
            echo
            return 0
        fi
        echo "    ${NAMES[$i]}: $out"
    done
    echo

    local per_round=$(( RUNS / ROUNDS )) last_round=$(( RUNS - (RUNS / ROUNDS) * (ROUNDS - 1) ))
    for (( r = 0; r < ROUNDS; r++ )); do
        local args=() order=("${!NAMES[@]}") n warm
        if (( r % 2 == 1 )); then order=(); for (( i = ${#NAMES[@]} - 1; i >= 0; i-- )); do order+=("$i"); done; fi
        for i in "${order[@]}"; do args+=(-n "${NAMES[$i]}" "${CMDS[$i]} /bin/true"); done
        n=$per_round; if (( r == ROUNDS - 1 )); then n=$last_round; fi
        warm=5; if (( r == 0 )); then warm=$WARMUP; fi
        as_user "$user" hyperfine -N --style none --warmup "$warm" --runs "$n" \
            --export-json "$dir/round$r.json" "${args[@]}" >"$dir/round$r.log" 2>&1 \
            || { echo "hyperfine failed (round $r):" >&2; cat "$dir/round$r.log" >&2; return 1; }
    done

    python3 - "$dir" "$ROUNDS" <<'EOF'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
times, order = {}, []
for r in range(rounds):
    for res in json.load(open(f"{d}/round{r}.json"))["results"]:
        name = res["command"]
        if name not in times:
            times[name] = []
        times[name].extend(res["times"])
order = ["burrow", "burrow-unconfined", "bwrap", "bwrap-matched", "unshare"]
ms = {n: [t * 1000 for t in times[n]] for n in order}
mean = {n: statistics.fmean(v) for n, v in ms.items()}
med = {n: statistics.median(v) for n, v in ms.items()}
print("| command | runs | mean ms | stddev ms | median ms | min ms | burrow/other (mean) | burrow/other (median) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for n in order:
    v = ms[n]
    print(f"| {n} | {len(v)} | {mean[n]:.2f} | {statistics.stdev(v):.2f} | {med[n]:.2f} | {min(v):.2f} "
          f"| {mean['burrow'] / mean[n]:.2f}x | {med['burrow'] / med[n]:.2f}x |")
EOF
    echo
}

run_case "as $(id -un) (uid $(id -u))" ""
if [[ $ROOTLESS == yes ]]; then
    run_case "rootless: as $ROOTLESS_USER (uid $(id -u "$ROOTLESS_USER")), via runuser" "$ROOTLESS_USER"
fi

echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Commands (each followed by /bin/true):"
echo
for i in "${!NAMES[@]}"; do
    echo "- ${NAMES[$i]}: \`${CMDS[$i]/$WORK/\$TMP}\`"
done
