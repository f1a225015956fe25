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
import sys
import tempfile

from cli_support import check_world_uses, report, run

CMAKE, BUILD_DIR = sys.argv[1], os.path.abspath(sys.argv[2])


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
        check_world_uses(elsim, prefix, os.path.join(tmp, "w"), work, env, failures)
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
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
