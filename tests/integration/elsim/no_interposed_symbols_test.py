#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The elsim executable interposes no symbol of libc or OpenSSL: no function or object that
libc.so.6, libssl.so.3 or libcrypto.so.3 define is defined in elsim's dynamic symbol table
(`nm -D --defined-only`), so every call into those libraries reaches the libraries themselves.
Data objects the linker copies into the executable (R_X86_64_COPY relocations, e.g. `stderr`)
are the ordinary way an executable refers to a library's variables, not an interposition, and
are left out.

It also checks itself: a symbol those libraries define must be found in their tables (`close`,
`SSL_CTX_new`, `EVP_PKEY_free`), so an empty or unreadable table cannot pass.

Usage: no_interposed_symbols_test.py ELSIM_EXECUTABLE
"""
import re
import subprocess
import sys


def defined(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            names.add(fields[2].split("@")[0])
    return names


def main():
    elsim = sys.argv[1]
    ldd = subprocess.run(["ldd", elsim], capture_output=True, text=True, check=True).stdout
    libraries = {}
    for line in ldd.splitlines():
        match = re.match(r"\s*(libc\.so\.6|libssl\.so\.3|libcrypto\.so\.3) => (\S+)", line)
        if match:
            libraries[match.group(1)] = match.group(2)
    failures = []
    for needed in ("libc.so.6", "libssl.so.3", "libcrypto.so.3"):
        if needed not in libraries:
            failures.append(f"ldd does not list {needed} for {elsim}")
    theirs = {name: defined(path) for name, path in libraries.items()}
    for name, probe in (("libc.so.6", "close"), ("libssl.so.3", "SSL_CTX_new"),
                        ("libcrypto.so.3", "EVP_PKEY_free")):
        if name in theirs and probe not in theirs[name]:
            failures.append(f"{name}: {probe} not in its dynamic symbol table (nm failed?)")
    relocations = subprocess.run(["readelf", "-rW", elsim], capture_output=True, text=True,
                                 check=True).stdout
    copied = {line.split()[4].split("@")[0] for line in relocations.splitlines()
              if "R_X86_64_COPY" in line and len(line.split()) >= 5}
    ours = defined(elsim) - copied
    for name, symbols in sorted(theirs.items()):
        clash = sorted(ours & symbols)
        if clash:
            failures.append(f"elsim defines {len(clash)} symbol(s) of {name}: "
                            + ", ".join(clash[:20]))
    for failure in failures:
        print("FAIL: " + failure)
    if not failures:
        print(f"OK: {len(ours)} dynamic symbols defined by elsim, none of "
              + ", ".join(sorted(libraries)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
