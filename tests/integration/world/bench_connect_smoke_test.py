#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Smoke test of `elsim bench connect` at its smallest size, so the benchmark code cannot rot.

Runs the bench with --seconds 0.2 (one 0.5 s round per broker, the minimum) and 2 clients: real
mosquitto processes (one with the elsim_broker plugin hosting an account, one bare) with mutual
TLS, then JITP first connects under an SNI_ONLY CA registered through the control plane with the
project's JITP template. Checks exit code 0 and the four figure lines the verb promises (connects/s
for each broker with no failed connect, the account/bare ratio, JITP first connects/s with no
"thing not provisioned" marker); the rates themselves are not checked (a benchmark, not a timed
test). Then that its temporary directory and brokers are gone, and that bad input (--seconds
below 0.2, --clients 0, a missing --plugin) is refused with exit 2 and a one-line error naming
the option, before any broker starts.

Usage: bench_connect_smoke_test.py ELSIM_EXECUTABLE
"""
import glob
import os
import re
import subprocess
import sys

ELSIM = sys.argv[1]
CLIENTS = 2
TEMP_GLOB = "/tmp/elsim-bench-connect-*"

EXPECTED = [
    rf"^account broker \(mosquitto \+ elsim_broker\) +[0-9]+ connects/s median of [0-9]+ rounds "
    rf"\([1-9][0-9]* ok, 0 failed, {CLIENTS} clients\)$",
    rf"^bare mosquitto +[0-9]+ connects/s median of [0-9]+ rounds "
    rf"\([1-9][0-9]* ok, 0 failed, {CLIENTS} clients\)$",
    r"^ratio account/bare: [0-9.]+% \(target >= 85%\)$",
    rf"^JITP first connect \(account broker\) +[0-9]+ first connects/s median of 3 rounds "
    rf"\([1-9][0-9]* closed after JITP, 0 other, {CLIENTS} clients; target >= 300/s\)$",
]


def bench_processes():
    """PIDs of live processes whose command line names a bench temporary directory."""
    pids = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                if b"/elsim-bench-connect-" in f.read():
                    pids.append(path.split("/")[2])
        except OSError:
            pass  # the process ended meanwhile
    return pids


def run(args, timeout):
    return subprocess.run([ELSIM, "bench", "connect"] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def main():
    failures = []
    dirs_before = set(glob.glob(TEMP_GLOB))
    procs_before = set(bench_processes())

    bench = run(["--seconds", "0.2", "--clients", str(CLIENTS)], timeout=90)
    lines = bench.stdout.splitlines()
    if bench.returncode != 0:
        failures.append(f"exit code {bench.returncode}, expected 0")
    for pattern in EXPECTED:
        if not any(re.search(pattern, line) for line in lines):
            failures.append(f"no line matches {pattern!r}")
    if "[thing not provisioned!]" in bench.stdout:
        failures.append("JITP: the last certificate's thing was not provisioned")
    left_dirs = set(glob.glob(TEMP_GLOB)) - dirs_before
    if left_dirs:
        failures.append(f"temporary directories left behind: {sorted(left_dirs)}")
    left_procs = set(bench_processes()) - procs_before
    if left_procs:
        failures.append(f"broker processes left running: {sorted(left_procs)}")
    if failures:
        print("stdout:\n" + bench.stdout + "\nstderr:\n" + bench.stderr[-4000:])

    for args, option in [(["--seconds", "0.1"], "--seconds"), (["--clients", "0"], "--clients"),
                         (["--plugin", "/nonexistent/elsim_broker.so"], "plugin")]:
        bad = run(args, timeout=30)
        err = bad.stderr.strip()
        if bad.returncode != 2 or option not in err or "\n" in err:
            failures.append(f"{' '.join(args)}: exit {bad.returncode}, stderr {err!r}; "
                            f"expected exit 2 and one line naming {option}")
        if bad.stdout.strip():
            failures.append(f"{' '.join(args)}: printed figures: {bad.stdout!r}")
    if set(glob.glob(TEMP_GLOB)) - dirs_before:
        failures.append("bad input left a temporary directory behind")

    for failure in failures:
        print("FAIL: " + failure)
    if not failures:
        print(f"OK: {len(EXPECTED)} figure lines, nothing left behind, 3 bad inputs refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
