# SPDX-License-Identifier: Apache-2.0
"""Shared by the elsim CLI tests: run a command and show it, report failures, check a world."""
import os
import re
import subprocess


def run(argv, cwd, env=None, timeout=300):
    """Runs argv, prints the command, its status and the tail of its output, returns the result."""
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    print(f"$ {' '.join(argv)} -> {result.returncode}\n"
          f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def report(failures):
    """Prints each failure and the verdict; the exit status for the test."""
    for f in failures:
        print("FAIL " + f)
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


def check_world_uses(elsim, root, world, cwd, env, failures):
    """`elsim world up` from an installed tree: its brokers load the plugin under root."""
    up = run([elsim, "world", "up", "--dir", world], cwd, env, timeout=120)
    try:
        if up.returncode != 0:
            failures.append(f"{elsim} world up failed")
            return
        with open(os.path.join(world, "accounts", "staging", "mosquitto.conf")) as f:
            plugin = re.search(r"^plugin (\S+)$", f.read(), re.M)
        if not plugin or not plugin.group(1).startswith(root):
            failures.append("the broker does not load the plugin under " + root + ": "
                            + (plugin.group(1) if plugin else "(no plugin line)"))
    finally:
        run([elsim, "world", "down", "--dir", world], cwd, env, timeout=120)
