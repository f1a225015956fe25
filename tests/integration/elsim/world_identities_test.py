#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A newcomer's first steps: a world, identities it trusts, a module that connects.

Starts the default world (`elsim world up` without --config) and checks its accounts table (the
first OEM account has AWS's documentation account id 123456789012, the AWS CLI line names it);
`elsim world identities` issues modules signed by the world's manufacturer CA and a claim-thing
certificate signed by its issuing CA; a module from those identities answers AT+CONNECT with
`OK 1 CONNECTED`; a module and a claim certificate from `elsim pki demo` (another PKI) are
refused before connecting, in one line naming the file and the CA it would need; `elsim staging
register-oem` works with the OEM account's AWS_ACCESS_KEY_ID exported; `world status`
shows the table with health; `world down` says what it stopped.

Usage: world_identities_test.py ELSIM_EXECUTABLE
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ELSIM = os.path.abspath(sys.argv[1])
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL " + message)


def run(*argv, stdin=None, status=0):
    result = subprocess.run([ELSIM, *argv], capture_output=True, text=True, timeout=60,
                            input=stdin)
    check(result.returncode == status,
          f"elsim {' '.join(argv)}: exit {result.returncode}, expected {status}\n"
          f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def module_session(identity, world, lines):
    """Sends AT lines to `elsim module --stdio`, one every second; returns its stdout lines."""
    proc = subprocess.Popen([ELSIM, "--log-level", "error", "module", "--identity", identity,
                             "--world", world, "--stdio"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in lines:
        proc.stdin.write(line + "\r\n")
        proc.stdin.flush()
        time.sleep(3)
    out, err = proc.communicate(timeout=30)
    return out.splitlines(), err, proc.returncode


def main():
    with tempfile.TemporaryDirectory(prefix="elsim-first-hour-") as tmp:
        world = os.path.join(tmp, "w")
        up = run("world", "up", "--dir", world)
        try:
            table = up.stdout
            check(re.search(r"^ACCOUNT +KIND +ACCOUNT ID +MQTT ENDPOINT +ADDRESS:PORT +"
                            r"CONTROL PLANE +REGION", table, re.M), "no table header:\n" + table)
            check(re.search(r"^oem-a +oem +123456789012 +\S+-ats\.iot\.us-east-1\.elsim\.test +"
                            r"127\.\d+\.\d+\.\d+:8883 +http://127\.\d+\.\d+\.\d+:8443 +us-east-1",
                            table, re.M), "no oem-a row with id 123456789012:\n" + table)
            check(re.search(r"AWS_ACCESS_KEY_ID=123456789012 AWS_SECRET_ACCESS_KEY=x AWS_PAGER= "
                            r"aws iot list-things --endpoint-url http://\S+ --region us-east-1",
                            table), "no AWS CLI line:\n" + table)

            hosts = run("world", "hosts", "--dir", world).stdout.splitlines()
            with open(os.path.join(world, "world.json")) as f:
                accounts = json.load(f)["accounts"]
            for account in accounts:
                check(f"{account['address']}\t{account['endpoint']}\t# {account['name']}" in hosts,
                      "world hosts: " + "\n".join(hosts))
            check(hosts[0].startswith("# ") and len(hosts) == len(accounts) + 1,
                  "world hosts: " + "\n".join(hosts))

            ids = os.path.join(tmp, "ids")
            made = run("world", "identities", "--world", world, "--count", "2", "--dir", ids)
            modules = sorted(os.listdir(os.path.join(ids, "modules")))
            modules = [m for m in modules if os.path.isdir(os.path.join(ids, "modules", m))]
            check(len(modules) == 2, f"expected 2 module identities, got {modules}")
            check(os.path.isfile(os.path.join(ids, "claim", "cert.pem")), "no claim cert.pem")
            check("acme-ca.pem" in made.stdout, "identities output: " + made.stdout)

            out, err, code = module_session(os.path.join(ids, "modules", modules[0]), world,
                                            ["AT+CONNECT"])
            check(code == 0 and "OK 1 CONNECTED" in out,
                  f"trusted module did not connect: {out} {err}")

            demo = os.path.join(tmp, "demo")
            run("pki", "demo", "--dir", demo)
            demo_module = sorted(d for d in os.listdir(os.path.join(demo, "modules"))
                                 if os.path.isdir(os.path.join(demo, "modules", d)))[0]
            demo_cert = os.path.join(demo, "modules", demo_module, "cert.pem")
            refused = run("module", "--identity", os.path.join(demo, "modules", demo_module),
                          "--world", world, "--stdio", stdin="", status=2)
            lines = refused.stderr.strip().splitlines()
            check(len(lines) == 1 and lines[0].startswith(
                f"elsim module: {demo_cert} is not signed by a CA the world trusts: it needs "
                f"{world}/pki/manufacturers/acme-ca.pem"), "module refusal: " + refused.stderr)

            claim = run("claim", "--world", world, "--staging", "x", "--claim-cert",
                        os.path.join(demo, "claim", "cert.pem"), "--claim-key",
                        os.path.join(demo, "claim", "private.key"), "--uuid", "u", "--thing",
                        demo_module, "--endpoint", "e", status=2)
            lines = claim.stderr.strip().splitlines()
            check(len(lines) == 1 and "is not signed by a CA the world trusts: it needs "
                  f"{world}/pki/issuing-ca.pem" in lines[0], "claim refusal: " + claim.stderr)

            # AWS_ACCESS_KEY_ID exported for the OEM account (to use the AWS CLI) does not
            # point `elsim staging` at that account.
            os.environ["AWS_ACCESS_KEY_ID"] = "123456789012"
            os.environ["AWS_SECRET_ACCESS_KEY"] = "x"
            registered = run("staging", "register-oem", "--world", world, "--name", "ExampleCorp",
                             "--certificate", os.path.join(ids, "claim", "cert.pem"))
            check(re.fullmatch(r"[0-9a-f-]{36}\n", registered.stdout),
                  "register-oem with the OEM's key exported: " + registered.stdout)
            del os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]

            status = run("world", "status", "--dir", world)
            check(re.search(r"^staging +staging +\d{12} .* us-east-1 +mqtt up, control plane up$",
                            status.stdout, re.M), "status table:\n" + status.stdout)
        finally:
            down = run("world", "down", "--dir", world)
        check(re.search(r"^stopped the world in .*: supervisor pid \d+ and 3 brokers: staging "
                        r"\(127[.\d]+\), oem-a", down.stdout), "down output: " + down.stdout)
    print("PASS" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
