#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CPack's .deb: its declared dependencies resolve with apt, and its contents run on their own.

Builds the package from the build tree into a temporary directory, then checks that
- the control file declares what the binaries need (mosquitto, which elsim runs, and the shared
  libraries dpkg-shlibdeps found: OpenSSL and Paho among them);
- `apt-get install --simulate ./elsim_*.deb` resolves it against this machine's Debian 12 package
  lists (nothing is installed: the test never changes the system);
- the files unpacked into an empty root run from there: `elsim --version`, and `elsim world up`
  starts brokers that load the packaged plugin and TLS tap.

Usage: deb_package_test.py CPACK_COMMAND BUILD_DIR ELSIM_VERSION
"""
import glob
import os
import re
import shutil
import sys
import tempfile

from cli_support import check_world_uses, report, run

CPACK, BUILD_DIR, VERSION = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="elsim-deb-") as tmp:
        made = run([CPACK, "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
                    "-B", tmp], tmp)
        debs = glob.glob(os.path.join(tmp, "elsim_*.deb"))
        if made.returncode != 0 or len(debs) != 1:
            print(f"FAIL cpack made {debs}")
            return 1
        deb = debs[0]
        if not os.path.basename(deb).startswith(f"elsim_{VERSION}_"):
            failures.append(f"package name {os.path.basename(deb)} does not carry {VERSION}")

        depends = run(["dpkg-deb", "--field", deb, "Depends"], tmp).stdout
        for needed in ("mosquitto", "libssl3", "libpaho-mqttpp3"):
            if not re.search(rf"(^|[ ,]){re.escape(needed)}", depends):
                failures.append(f"Depends does not name {needed}: {depends.strip()}")

        if shutil.which("apt-get"):
            # --simulate resolves the package and its dependencies without installing anything.
            sim = run(["apt-get", "install", "--simulate", "--no-install-recommends", deb], tmp)
            if sim.returncode != 0 or not re.search(r"^Inst elsim ", sim.stdout, re.M):
                failures.append("apt-get install --simulate did not resolve the package")

        root = os.path.join(tmp, "root")
        run(["dpkg-deb", "-x", deb, root], tmp)
        elsim = os.path.join(root, "usr", "bin", "elsim")
        env = {k: v for k, v in os.environ.items() if k != "ELSIM_BROKER_PLUGIN"}
        version = run([elsim, "--version"], tmp, env)
        if version.returncode != 0 or VERSION not in version.stdout:
            failures.append(f"the packaged elsim --version says {version.stdout.strip()!r}")
        check_world_uses(elsim, root, os.path.join(tmp, "w"), tmp, env, failures)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
