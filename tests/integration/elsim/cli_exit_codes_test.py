#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Table test of `elsim`'s exit-code convention and one-line errors.

0 success; 1 the thing checked failed; 2 bad input or usage; 3 the environment is unusable.
Each row runs the built elsim with one bad (or good) input and checks the exit status, that
stderr is exactly one line, and that the line says what a newcomer needs (a regular expression).
Nothing here starts a broker that stays: the rows that reach a world fail before one starts.

Usage: cli_exit_codes_test.py ELSIM_EXECUTABLE
"""
import os
import re
import socket
import subprocess
import sys
import tempfile

ELSIM = os.path.abspath(sys.argv[1])


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="elsim-cli-codes-") as tmp:
        bad_yaml = os.path.join(tmp, "bad.yaml")
        with open(bad_yaml, "w") as f:
            f.write("accounts: [\n")
        empty_world = os.path.join(tmp, "empty.yaml")
        with open(empty_world, "w") as f:
            f.write("accounts: []\n")
        taken_dir = os.path.join(tmp, "taken")
        os.mkdir(taken_dir)
        # An address:port in use: a listener on a loopback address outside 127.0.0.0/24.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        busy_world = os.path.join(tmp, "busy.yaml")
        with open(busy_world, "w") as f:
            f.write("manufacturers: [{name: acme}]\n"
                    "accounts:\n"
                    f"  - {{name: staging, kind: staging, address: 127.0.0.1, port: {port}}}\n")
        nowhere = os.path.join(tmp, "no-such-dir")
        # (argv, exit status, stderr pattern or None for "stderr may be empty", stdout pattern)
        rows = [
            (["--version"], 0, None, r"^elsim \d+\.\d+\.\d+$"),
            (["world", "--version"], 0, None, r"^elsim \d+\.\d+\.\d+$"),
            (["--help"], 0, None, r"3  the environment is unusable"),
            ([], 2, r"^elsim: A subcommand is required: one of pki, module, .*world.*$", None),
            (["bogus"], 2, r"^elsim: unknown verb 'bogus'; the verbs are: pki, module, .*run, scenario, device, aws$",
             None),
            (["world"], 2, r"one of up, down, status, hosts, identities", None),
            (["world", "up", "--dir", nowhere, "--nope"], 2, r"--nope", None),
            (["world", "up", "--dir", nowhere, "--config", os.path.join(tmp, "missing.yaml")], 2,
             r"--config.*missing\.yaml", None),
            (["world", "up", "--dir", nowhere, "--config", bad_yaml], 2, r"bad\.yaml", None),
            (["world", "up", "--dir", nowhere, "--config", empty_world], 2,
             r"empty\.yaml:1: accounts must be a non-empty list", None),
            (["world", "up", "--dir", nowhere, "--config", busy_world], 3,
             rf"busy\.yaml:3: account 'staging': 127\.0\.0\.1:{port} is already in use", None),
            (["world", "up", "--dir", nowhere, "--config", empty_world.replace("empty", "busy"),
              "--mosquitto", "/nonexistent/mosquitto"], 3,
             r"mosquitto executable not found: /nonexistent/mosquitto", None),
            (["world", "status", "--dir", nowhere], 2, r"no world in .*no-such-dir", None),
            (["world", "down", "--dir", nowhere], 2, r"no world runs in .*no-such-dir", None),
            (["world", "identities", "--world", nowhere, "--dir", os.path.join(tmp, "ids")], 2,
             r"--world no world in .*no-such-dir", None),
            (["pki", "modules", "--dir", os.path.join(tmp, "m"), "--count", "0", "--ca-dir",
              nowhere], 2, r"--count must be at least 1", None),
            (["pki", "demo", "--dir", taken_dir], 2, r"taken", None),
            (["module"], 2, r"give --identity DIR/THINGNAME or --identities DIR --count N", None),
            (["module", "--identity", nowhere, "--world", nowhere], 2,
             r"--world no world in .*no-such-dir", None),
            (["claim", "--staging", "x", "--claim-cert", "c", "--claim-key", "k", "--uuid", "u",
              "--thing", "t"], 2, r"--endpoint: required", None),
            (["run", os.path.join(tmp, "missing-scenario.yaml")], 2, r"missing-scenario", None),
            (["onboard", "--world", os.path.join(tmp, "missing.yaml")], 2,
             r"--world.*missing\.yaml", None),
            (["onboard", "--world", busy_world, "--modules", "1"], 3, r"already in use", None),
            (["bench", "nope"], 2,
             r"^elsim bench: unknown sub-verb 'nope'; the sub-verbs are: pki, control-plane, .*fleet",
             None),
            (["world", "upp"], 2, r"^elsim world: unknown sub-verb 'upp'; the sub-verbs are: up, ",
             None),
            (["account"], 2, r"one of serve", None),
            (["account", "serve"], 2, r"--dir is required", None),
            (["bench"], 2, r"one of pki, control-plane, modules, connect, claim, suite, fleet", None),
            (["bench", "fleet", "--devices", "0"], 2, r"--devices: Value 0 not in range", None),
            (["bench", "suite", "--nope"], 2, r"--nope", None),
            (["staging"], 2, r"one of register-oem, things", None),
            (["staging", "register-oem", "--world", nowhere], 2, r"--name is required", None),
            (["oem-account"], 2, r"one of setup", None),
            (["scenario"], 2, r"one of from-transcript", None),
            (["scenario", "from-transcript", os.path.join(tmp, "none.txt")], 2,
             r"cannot read .*none\.txt", None),
            (["device"], 2, r"one of provision", None),
            (["run", "--check", os.path.join(tmp, "none.yaml")], 2,
             r"none\.yaml: no such scenario file or folder", None),
            (["bench", "--version"], 0, None, r"^elsim \d+\.\d+\.\d+$"),
            (["device", "provision", "--version"], 0, None, r"^elsim \d+\.\d+\.\d+$"),
            # Defaults are found wherever elsim runs (the rows run in a temporary directory).
            (["onboard", "--help"], 0, None, r"--world TEXT:FILE=/\S+/worlds/default\.yaml"),
            (["world", "up", "--help"], 0, None, r"--config TEXT:FILE=/\S+/worlds/default\.yaml"),
        ]
        for argv, status, err_pattern, out_pattern in rows:
            result = subprocess.run([ELSIM, *argv], capture_output=True, text=True, timeout=60,
                                    cwd=tmp)
            what = "elsim " + " ".join(argv)
            # `elsim run` reports on stdout (its report is the output); the others on stderr.
            err_text = result.stderr if result.stderr.strip() else result.stdout
            err_lines = [l for l in err_text.splitlines() if l.strip()]
            if result.returncode != status:
                failures.append(f"{what}: exit {result.returncode}, expected {status}; "
                                f"stderr: {result.stderr!r}")
                continue
            if err_pattern is not None:
                if len(err_lines) != 1:
                    failures.append(f"{what}: {len(err_lines)} stderr lines, expected 1: "
                                    f"{result.stderr!r}")
                elif not re.search(err_pattern, err_lines[0]):
                    failures.append(f"{what}: stderr {err_lines[0]!r} !~ /{err_pattern}/")
            if out_pattern is not None and not re.search(out_pattern, result.stdout, re.M):
                failures.append(f"{what}: stdout {result.stdout!r} !~ /{out_pattern}/")
        listener.close()
    for f in failures:
        print("FAIL " + f)
    print(f"{len(rows) - len(failures)}/{len(rows)} rows as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
