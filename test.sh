#!/usr/bin/env bash
# Install everything the tests need, then run every test.
#
# Run as root on a fresh Debian bookworm machine with Rust installed (this is
# what CI does through .ci/run). It installs the Debian packages the tests
# use, creates the unprivileged user `burrowtest` (with subordinate ids) for
# the rootless tests, checks formatting and lints, runs `cargo test` for the
# whole workspace, and finally checks that nothing was left behind.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: run me as root: the tests create a user and compare root and rootless runs" >&2
    exit 1
fi

say "Debian packages"
packages=()
command -v busybox >/dev/null || packages+=(busybox-static)   # a tiny rootfs for --root tests
command -v newuidmap >/dev/null || packages+=(uidmap)          # several id ranges, rootless
command -v runuser >/dev/null || packages+=(util-linux)        # run tests as the test user
command -v unshare >/dev/null || packages+=(util-linux)        # nested namespaces (seccomp tests)
command -v mount >/dev/null || packages+=(mount)               # mounts tried inside (release_agent)
command -v useradd >/dev/null || packages+=(passwd)
command -v runc >/dev/null || packages+=(runc)                 # the OCI tests run against runc too
/usr/bin/python3 -c 'import termios' 2>/dev/null || packages+=(python3)  # in containers (termios)
[ -x /usr/bin/script ] || packages+=(bsdutils)                 # a terminal for the tty tests
command -v ps >/dev/null || packages+=(procps)                 # `burrow ps`, the leftover check
command -v podman >/dev/null || packages+=(podman)             # engines drive burrow end to end
[ -x /usr/lib/cni/bridge ] || packages+=(containernetworking-plugins)  # podman's CNI backend (not netavark)
command -v containerd >/dev/null || packages+=(containerd)     # (and ctr, and the runc shim v2)
command -v catatonit >/dev/null || packages+=(catatonit)       # podman's pod infra (pause) image
command -v iptables-save >/dev/null || packages+=(iptables)    # podman's default network; leftovers
command -v ip >/dev/null || packages+=(iproute2)               # the CNI bridge: removal, leftover check
command -v g++ >/dev/null || packages+=(g++)                   # cargo-fuzz: libFuzzer is C++
if [ ${#packages[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
echo "ok: busybox newuidmap runuser unshare mount useradd runc python3 script ps podman containerd catatonit iptables ip g++"

say "the unprivileged test user"
if ! id burrowtest >/dev/null 2>&1; then
    useradd --no-create-home --home-dir / --shell /usr/sbin/nologin burrowtest
fi
for file in /etc/subuid /etc/subgid; do
    grep -q '^burrowtest:' "$file" 2>/dev/null || echo "burrowtest:100000:65536" >> "$file"
done
echo "ok: $(id burrowtest)"

say "format and lints"
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all -- --check
else
    echo "rustfmt is not installed for this toolchain: not checked"
fi
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
else
    echo "clippy is not installed for this toolchain: not checked"
fi

say "tests"
leftovers() {
    find "${TMPDIR:-/tmp}" -maxdepth 1 \( -name 'burrow-root.*' -o -name 'burrow-test.*' -o -name 'burrow-cli-*' -o -name 'burrow-e2e.*' -o -name 'burrow-fuzz-*' \) 2>/dev/null
    # what the engine suite's podman and containerd could leave: daemons,
    # firewall rules and the bridge of podman's default network, state
    ps -e -o stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^(conmon|containerd|containerd-shim|catatonit|podman)$/ {print "process: " $2}'
    iptables-save 2>/dev/null | grep -E '^-A|^:CNI' | sed 's/^/iptables: /'
    ip -o link show 2>/dev/null | grep -o 'cni-podman[0-9]*' | sed 's/^/link: /'
    ls -d /var/lib/cni /var/lib/containers /run/containerd /run/containers /run/libpod 2>/dev/null
    # cgroups the OCI tests made for their containers
    find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d 2>/dev/null
} 
leftovers_sorted() { leftovers | sort; }
before=$(leftovers_sorted)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# fault-points: the fault tests end `create` at each named stage of its work
# (see burrow::fault); the release builds below have no such points.
cargo test --workspace --features burrow-cli/fault-points 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 0 ]; then
    say "the OCI tests against runc (they must test the contract, not burrow's quirks)"
    # Tests that runc 1.1.5 itself fails are listed, with why, at the top
    # of tests/oci.rs.
    runc_fails=(bind_options_set_and_clear_flags time_offsets_move_the_clocks the_personality_is_set
                an_unknown_oci_version_is_refused hooks_after_a_failing_warning_hook_still_run
                a_hostname_in_a_joined_host_namespace_is_refused root_propagation_shared_and_unbindable
                mount_targets_under_a_racing_symlink_stay_inside hostile_proc_dev_and_null_links_stay_inside
                landlock_annotations_confine_the_container a_profile_refusing_getcwd_still_starts
                a_systemd_cgroups_path_is_refused a_device_denied_by_name_cannot_be_opened
                a_device_allow_the_parent_refuses_is_a_warning rootless_without_cgroups_says_so_once)
    BURROW_TEST_RUNTIME=runc cargo test -p burrow-cli --test oci -- \
        "${runc_fails[@]/#/--skip=}" 2>&1 | tee -a "$log"
    status=${PIPESTATUS[0]}
fi
host=$(rustc -vV | sed -n 's/^host: //p')
if [ "$status" -eq 0 ] && [[ $host == *-linux-gnu ]]; then
    say "the OCI tests against the static release build (README's build for speed, what bench/run measures)"
    fast=$(bench/build-fast)
    BURROW_TEST_RUNTIME="$fast" cargo test -p burrow-cli --test oci 2>&1 | tee -a "$log"
    status=${PIPESTATUS[0]}
fi
if [ "$status" -eq 0 ]; then
    fuzz_seconds=20
    say "cargo-fuzz: every target in fuzz/ under libFuzzer, side by side for ${fuzz_seconds}s"
    # Stable Rust is enough: libFuzzer's coverage instrumentation takes
    # stable flags, only the address sanitizer needs -Z (and it would
    # triple the build, for decoders in safe Rust). A panic, or an input
    # that runs 10 s, fails; fuzz/artifacts/TARGET keeps the input.
    fuzz=(--sanitizer none --codegen-units 16)
    fuzz_logs=$(mktemp -d)
    if { command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz@0.13.2; } &&
        cargo fuzz build "${fuzz[@]}" && mapfile -t targets < <(cargo fuzz list) && [ ${#targets[@]} -gt 0 ]; then
        pids=()
        for target in "${targets[@]}"; do
            mkdir -p "fuzz/corpus/$target"   # new finds; fuzz/seeds is read only
            # TMPDIR: a target's scratch files (config_json's bundle) go
            # where the logs go, and are removed with them.
            TMPDIR="$fuzz_logs" cargo fuzz run "${fuzz[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
                -max_total_time="$fuzz_seconds" -timeout=10 >"$fuzz_logs/$target" 2>&1 &
            pids+=($!)
        done
        for i in "${!targets[@]}"; do
            if wait "${pids[$i]}"; then
                echo "ok: ${targets[$i]}: $(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 inputs in \2 s/p' "$fuzz_logs/${targets[$i]}")"
            else
                status=1
                # the panic, where the input went, and how to run it again
                why=$(awk '/panicked at/ {print; getline; print} /ERROR: libFuzzer|ALARM:|Test unit written|^\tcargo fuzz run/' \
                    "$fuzz_logs/${targets[$i]}")
                echo "fuzz target ${targets[$i]} failed:" >&2
                echo "${why:-$(tail -n 30 "$fuzz_logs/${targets[$i]}")}" >&2
            fi
        done
    else
        status=1
    fi
    rm -rf "$fuzz_logs"
fi
after=$(leftovers_sorted)
passed=$(grep -oE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE '; ([0-9]+) failed' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
if [ "$status" -ne 0 ]; then
    echo "tests: $passed passed, $failed failed"
    exit "$status"
fi

say "nothing left behind"
new=$(comm -13 <(echo "$before") <(echo "$after"))
if [ -n "$new" ]; then
    echo "the tests left these behind:" >&2
    echo "$new" >&2
    exit 1
fi
# Zombies are dead already (this VM's pid 1 reaps orphans slowly): only
# live processes count.
live=$(ps -u burrowtest -o stat=,pid=,args= 2>/dev/null | grep -v '^Z' || true)
if [ -n "$live" ]; then
    echo "processes of burrowtest are still running:" >&2
    echo "$live" >&2
    exit 1
fi
echo "ok: no temporary roots, scratch directories, cgroups or test processes remain"
echo
echo "tests: $passed passed, $failed failed"
