#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`cmake --install` into a temporary prefix, then elsim from there and nowhere else.

Installs the build tree into a fresh prefix and, from an unrelated working directory with no
ELSIM_BROKER_PLUGIN set, checks that the installed elsim starts the default world without
--config or --plugin, with the installed plugin and TLS tap (the brokers' configs name them),
and plays a bundled scenario from <prefix>/share/elsim/scenarios.

Usage: install_test.py CMAKE_COMMAND BUILD_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

CMAKE, BUILD_DIR = sys.argv[1], os.path.abspath(sys.argv[2])


def run(argv, cwd, env, timeout=120):
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    print(f"$ {' '.join(argv)} -> {result.returncode}\n{result.stdout}{result.stderr}")
    return result


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="elsim-install-") as tmp:
        prefix = os.path.join(tmp, "prefix")
        work = os.path.join(tmp, "elsewhere")
        os.mkdir(work)
        env = {k: v for k, v in os.environ.items() if k != "ELSIM_BROKER_PLUGIN"}
        installed = run([CMAKE, "--install", BUILD_DIR, "--prefix", prefix], tmp, env)
        if installed.returncode != 0:
            print("FAIL cmake --install")
            return 1
        elsim = os.path.join(prefix, "bin", "elsim")
        scenarios = os.path.join(prefix, "share", "elsim", "scenarios")
        for path in (elsim, os.path.join(scenarios, "worlds", "default.yaml")):
            if not os.path.exists(path):
                failures.append(f"not installed: {path}")
        libs = [os.path.join(root, f) for root, _, files in os.walk(prefix) for f in files
                if f in ("elsim_broker.so", "libelsim_tls_tap.so")]
        if len(libs) != 2:
            failures.append(f"plugin and TLS tap not both installed: {libs}")
        world = os.path.join(tmp, "w")
        up = run([elsim, "world", "up", "--dir", world], work, env)
        try:
            if up.returncode != 0:
                failures.append("installed elsim world up failed")
            else:
                with open(os.path.join(world, "accounts", "staging", "mosquitto.conf")) as f:
                    conf = f.read()
                plugin = re.search(r"^plugin (\S+)$", conf, re.M)
                if not plugin or not plugin.group(1).startswith(prefix):
                    failures.append("the broker does not load the installed plugin: "
                                    + (plugin.group(1) if plugin else "(no plugin line)"))
        finally:
            run([elsim, "world", "down", "--dir", world], work, env)
        bundled = sorted(os.path.join(root, f)
                         for root, _, files in os.walk(os.path.join(scenarios, "module"))
                         for f in files if f.endswith(".yaml"))
        if not bundled:
            failures.append("no bundled module scenarios installed")
        else:
            played = run([elsim, "run", bundled[0], "--out", os.path.join(tmp, "results")],
                         work, env, timeout=120)
            if played.returncode != 0:
                failures.append(f"installed elsim run {bundled[0]} exited {played.returncode}")
    for f in failures:
        print("FAIL " + f)
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
