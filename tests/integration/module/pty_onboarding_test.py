#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drives `elsim module --pty` with pyserial (Debian python3-serial) through a full onboarding
by claim against a real world:

  AT+CONNECT in staging (`OK 1 CONNECTED`), `CONNECT?` = STAGING, a claim published by
  `elsim claim`, the MSG event and the GET0 answer, CONLOST, AT+CONNECT again -> the first
  connect fails with ERR14 and succeeds on retry after JITP (or succeeds at once if JITP
  completed within the connect), `CONNECT?` = CUSTOMER, SEND and SUBSCRIBE/GET round-trip in the
  OEM account.

Only real pieces, driven through their command lines: `elsim world up` (one staging and one OEM
account: mosquitto + the account plugin + control plane, each on its own loopback address of
the block the world leases, so parallel tests do not collide), `elsim oem-account setup`
(OEM guide Appendix B and C), the claim-thing of Appendix A (`elsim pki claim` under the world's
issuing CA, registered INACTIVE in the OEM account with the real AWS CLI, `elsim staging
register-oem` for the UUID), a birth identity from `elsim pki modules` under the world's
manufacturer CA, `elsim module --pty --world DIR`, `elsim claim`, and /usr/bin/aws against the
OEM account's controlPlaneUrl as the oracle for what JITP left behind.

Usage: pty_onboarding_test.py ELSIM_EXECUTABLE [MOSQUITTO_EXECUTABLE]
"""
import ctypes
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import serial  # python3-serial

ELSIM = os.path.abspath(sys.argv[1])
MOSQUITTO = sys.argv[2] if len(sys.argv) > 2 else None
AWS = "/usr/bin/aws"
OEM_NAME = "elsim-pty"
# Whole-test budget (the ctest TIMEOUT is 120 s; every wait below is bounded by this too).
DEADLINE = time.monotonic() + 110


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def remaining(cap):
    left = DEADLINE - time.monotonic()
    if left <= 0:
        raise Failure("test budget exhausted")
    return min(cap, left)


def run(*args, expect_rc=0, timeout=30):
    """Runs a command; returns its stdout. A different exit code fails with its output."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=remaining(timeout))
    check(done.returncode == expect_rc,
          f"{' '.join(args[:3])} ...: exit {done.returncode} (expected {expect_rc})\n"
          f"stdout: {done.stdout}\nstderr: {done.stderr}")
    return done.stdout


class Aws:
    """The real AWS CLI v2 pointed at one account's control plane (access key = account id,
    how the emulator picks the account; any secret)."""

    def __init__(self, home, account):
        self.url = account["controlPlaneUrl"]
        check(re.fullmatch(r"http://127\.\d+\.\d+\.\d+:\d+", self.url),
              "control plane is not on loopback: " + self.url)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update({
            "HOME": home, "AWS_ACCESS_KEY_ID": account["accountId"],
            "AWS_SECRET_ACCESS_KEY": "x", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
        })

    def call(self, *args, expect_error=None):
        cmd = [AWS, "iot", *args, "--endpoint-url", self.url, "--region", "us-east-1",
               "--output", "json"]
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                              timeout=remaining(60))
        if expect_error:
            check(done.returncode == 254 and f"({expect_error})" in done.stderr,
                  f"aws iot {args[0]}: expected {expect_error}, got {done.returncode}: "
                  f"{done.stdout}{done.stderr}")
            return None
        check(done.returncode == 0,
              f"aws iot {args[0]} failed ({done.returncode}): {done.stderr}")
        return json.loads(done.stdout) if done.stdout.strip() else {}


class Module:
    """`elsim module --pty` and a pyserial port on the /dev/pts/N path it prints."""

    def __init__(self, args, logfile):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=logfile, text=True,
                                     preexec_fn=die_with_parent)
        path = self.proc.stdout.readline().strip()
        check(path.startswith("/dev/pts/"), f"expected a pty path, got {path!r}")
        self.port = serial.Serial(path, 115200, timeout=10)

    def command(self, line, timeout=15):
        """Sends one AT line and returns the response lines (OK{n} announces n more)."""
        self.port.write((line + "\r\n").encode())
        first = self.readline(timeout)
        lines = [first]
        m = re.match(r"OK(\d+)", first)
        for _ in range(int(m.group(1)) if m else 0):
            lines.append(self.readline(timeout))
        return lines

    def readline(self, timeout):
        self.port.timeout = remaining(timeout)
        raw = self.port.read_until(b"\r\n")
        check(raw.endswith(b"\r\n"), f"no complete response line, got {raw!r}")
        return raw[:-2].decode("latin-1")

    def expect(self, line, pattern, timeout=15):
        got = self.command(line, timeout)
        check(re.fullmatch(pattern, got[0]), f"{line!r}: expected {pattern!r}, got {got!r}")
        return got

    def wait_event(self, pattern, timeout=10):
        """Polls AT+EVENT? until an event matching `pattern`; fails on any other event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.command("AT+EVENT?")[0]
            if got == "OK":
                time.sleep(0.05)
                continue
            check(re.fullmatch(pattern, got), f"expected event {pattern!r}, got {got!r}")
            return got
        raise Failure(f"event {pattern!r} not seen within {timeout} s")

    def stop(self):
        self.port.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        check(self.proc.returncode == 0, f"elsim module exited {self.proc.returncode}")


def die_with_parent():
    """In the child before exec: SIGKILL it if this test process dies (e.g. killed by ctest at
    its TIMEOUT, when no finally block runs)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def certificate_id(pem_path):
    """certificateId as AWS IoT computes it: SHA-256 of the DER encoding."""
    der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                         capture_output=True, check=True, timeout=10).stdout
    return hashlib.sha256(der).hexdigest()


def connect_to_oem(module):
    """AT+CONNECT to the OEM endpoint. JITP closes the first connection of a new certificate
    without CONNACK (as devices observe on AWS), so the module answers ERR14 and its retry after
    the back-off succeeds; answers `ERR14 1` (back-off still running) are waited out. Returns
    the list of non-back-off failures seen before `OK 1 CONNECTED`."""
    failures = []
    while True:
        got = module.command("AT+CONNECT", timeout=30)[0]
        if got == "OK 1 CONNECTED":
            return failures
        check(re.fullmatch(r"ERR14 [1-6] UNABLE TO CONNECT.*", got),
              f"AT+CONNECT to the OEM account: unexpected answer {got!r}")
        if got.startswith("ERR14 1 "):
            time.sleep(0.2)  # Back-off (1 s plus up to 1/4 after the first failure).
        else:
            # The drop comes after the TLS handshake, before CONNACK: the module cannot tell it
            # from a refused login, so hint 4 (TLS) or 5 (MQTT login); never 2/3 (network).
            check(re.match(r"ERR14 [45] ", got), f"JITP drop answered {got!r}")
            failures.append(got)
            check(len(failures) <= 1, f"more than one failed connect to the OEM: {failures}")
        remaining(30)


def main():
    workdir = tempfile.mkdtemp(prefix="elsim-module-pty-")
    world_dir = os.path.join(workdir, "world")
    home = os.path.join(workdir, "home")
    os.makedirs(home)
    module, world_started, ok = None, False, False
    module_log = open(os.path.join(workdir, "module.log"), "w+")
    try:
        # -- The world: one manufacturer, its staging account, one OEM account.
        world_yaml = os.path.join(workdir, "world.yaml")
        with open(world_yaml, "w") as f:
            f.write("""region: us-east-1
manufacturers:
  - name: acme
accounts:
  - name: staging
    kind: staging
    manufacturer: acme
  - name: oem
    kind: oem
""")
        up = [ELSIM, "world", "up", "--config", world_yaml, "--dir", world_dir]
        if MOSQUITTO:
            up += ["--mosquitto", MOSQUITTO]
        world_started = True  # `down` is harmless if `up` failed before starting anything.
        run(*up)
        with open(os.path.join(world_dir, "world.json")) as f:
            world = json.load(f)
        accounts = {a["name"]: a for a in world["accounts"]}
        staging, oem = accounts["staging"], accounts["oem"]
        # The world leased a block: two consecutive loopback addresses outside 127.0.0.0/24.
        first, second = (ipaddress.ip_address(a["address"]) for a in (staging, oem))
        check(first in ipaddress.ip_network("127.0.0.0/8") and int(second) == int(first) + 1
              and first not in ipaddress.ip_network("127.0.0.0/24"),
              f"accounts not on a leased block: {staging['address']} {oem['address']}")
        manufacturer = next(m for m in world["manufacturers"] if m["name"] == "acme")
        oem_aws = Aws(home, oem)

        # -- OEM account set-up (Appendix B and C) through its control plane.
        out = run(ELSIM, "oem-account", "setup", "--world", world_dir, "--account", "oem",
                  "--manufacturer", "acme")
        check("configured" in out and "ExpressLinkJitpTemplate" in out, "setup output: " + out)

        # -- The claim-thing (Appendix A): an AWS-issued certificate, INACTIVE in the OEM's
        # own account, registered with staging for a UUID.
        claim_dir = os.path.join(workdir, "claim")
        run(ELSIM, "pki", "claim", "--ca-cert", os.path.join(world_dir, "pki", "issuing-ca.pem"),
            "--ca-key", os.path.join(world_dir, "pki", "issuing-ca.key"), "--dir", claim_dir)
        claim_cert = os.path.join(claim_dir, "cert.pem")
        claim_key = os.path.join(claim_dir, "private.key")
        registered = oem_aws.call("register-certificate-without-ca", "--certificate-pem",
                                  "file://" + claim_cert, "--status", "INACTIVE")
        check(registered.get("certificateId") == certificate_id(claim_cert),
              f"register-certificate-without-ca: {registered}")
        uuid = run(ELSIM, "staging", "register-oem", "--world", world_dir, "--name", OEM_NAME,
                   "--certificate", claim_cert).strip()
        check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                           uuid), "register-oem did not print a UUID v4: " + repr(uuid))

        # -- A birth identity under the world's manufacturer CA.
        modules_dir = os.path.join(workdir, "modules")
        run(ELSIM, "pki", "modules", "--ca-cert", manufacturer["caCertificateFile"],
            "--ca-key", manufacturer["caKeyFile"], "--count", "1", "--dir", modules_dir)
        thing = next(d for d in sorted(os.listdir(modules_dir))
                     if os.path.isdir(os.path.join(modules_dir, d)))
        identity = os.path.join(modules_dir, thing)
        module_cert_id = certificate_id(os.path.join(identity, "cert.pem"))
        oem_aws.call("describe-thing", "--thing-name", thing,
                     expect_error="ResourceNotFoundException")

        module_args = [ELSIM, "--log-level", "debug", "module", "--pty", "--identity", identity,
                       "--world", world_dir, "--state-dir", os.path.join(workdir, "state")]
        module = Module(module_args, module_log)

        # Framing basics and bad input over the real pty: never wedges the module.
        module.port.write(b"abcdefAT\n")
        check(module.readline(5) == "OK", "abcdefAT")
        module.expect("AT+EVENT?", r"OK 2 0 STARTUP")
        module.expect("AT+CONF? ThingName", "OK " + thing)
        module.expect("AT+CONF? Endpoint", "OK " + re.escape(staging["endpoint"]))
        got = module.command("AT+CONF? Certificate pem")
        check(got[0].startswith("OK") and got[1] == "-----BEGIN CERTIFICATE-----", got)
        module.port.write(bytes(range(256)).replace(b"\n", b"").replace(b"\r", b"") + b"\n")
        module.port.write(b"AT+\x00\x01\n")
        check(module.readline(5) == "ERR2 PARSE ERROR", "NUL bytes")
        module.port.write(b"AT+SEND1 " + b"x" * (1 << 20) + b"\n")
        check(module.readline(20) == "ERR1 OVERFLOW", "1 MB line")
        module.expect("AT", "OK")

        # -- Staging: AT+CONNECT, CONNECT? = STAGING (first login registers the module there).
        module.expect("AT+CONNECT", "OK 1 CONNECTED", timeout=30)
        module.expect("AT+CONNECT?", "OK 1 0 CONNECTED STAGING")
        module.expect("AT+SHADOW INIT", "ERR24 SHADOW ERROR")

        # -- The claim, by `elsim claim`, watching the module leave staging.
        out = run(ELSIM, "claim", "--world", world_dir, "--staging", staging["endpoint"],
                  "--claim-cert", claim_cert, "--claim-key", claim_key, "--uuid", uuid,
                  "--thing", thing, "--endpoint", oem["endpoint"], "--wait", "10", timeout=40)
        check(out.startswith("claim accepted by staging"), "elsim claim: " + out)
        module.wait_event(r"OK 1 0 MSG")
        module.wait_event(r"OK 3 0 CONLOST")
        claim = module.command("AT+GET0")
        check(claim[0] == f"OK1 {thing}/expresslink_config", f"GET0: {claim}")
        check(json.loads(claim[1]) == {"Endpoint": oem["endpoint"]}, f"GET0 payload: {claim}")
        module.expect("AT+GET0", "OK")
        module.expect("AT+CONNECT?", "OK 0 1 DISCONNECTED CUSTOMER")
        module.expect("AT+CONF? Endpoint", "OK " + re.escape(oem["endpoint"]))
        view = run(ELSIM, "staging", "things", "--world", world_dir)
        check(any(thing in line and OEM_NAME in line for line in view.splitlines()),
              "staging operator view does not show the claim:\n" + view)

        # -- OEM account: JITP on the first connect, then CONNECT? = CUSTOMER.
        failures = connect_to_oem(module)
        if failures:
            print(f"OEM connect: first attempt failed as JITP drops it ({failures[0]}), "
                  "retry succeeded")
        else:
            print("OEM connect: succeeded at once (JITP completed within the connect)")
        module.expect("AT+CONNECT?", "OK 1 1 CONNECTED CUSTOMER")
        described = oem_aws.call("describe-thing", "--thing-name", thing)
        check(described.get("thingName") == thing, f"describe-thing: {described}")
        principals = oem_aws.call("list-thing-principals", "--thing-name", thing)["principals"]
        check(any(p.endswith("cert/" + module_cert_id) for p in principals),
              f"module certificate not attached to the thing: {principals}")
        cert = oem_aws.call("describe-certificate", "--certificate-id", module_cert_id)
        check(cert["certificateDescription"]["status"] == "ACTIVE", f"certificate: {cert}")
        policies = oem_aws.call("list-attached-policies", "--target",
                                cert["certificateDescription"]["certificateArn"])["policies"]
        check([p["policyName"] for p in policies] == ["ExpressLinkDevicePolicy"],
              f"attached policies: {policies}")

        # -- SEND and SUBSCRIBE/GET round trip in the OEM account (Appendix C's policy allows
        # <ThingName>/... for publish, subscribe and receive).
        module.expect(f"AT+CONF Topic1={thing}/data", "OK")
        module.expect("AT+SUBSCRIBE1", "OK")
        module.wait_event(r"OK 8 1 SUBACK")
        module.expect("AT+SEND1 Hello\\AWorld!", "OK")
        module.wait_event(r"OK 1 1 MSG")
        check(module.command("AT+GET1") == ["OK Hello\\AWorld!"], "GET1 round trip")
        module.expect("AT+GET1", "OK")
        module.expect("AT+CONNECT?", "OK 1 1 CONNECTED CUSTOMER")

        # -- Persistence: a restarted module process is still onboarded and, its certificate
        # now ACTIVE, connects to the OEM account at the first attempt.
        module.stop()
        module = Module(module_args, module_log)
        module.expect("AT+CONNECT?", "OK 0 1 DISCONNECTED CUSTOMER")
        module.expect("AT+CONNECT", "OK 1 CONNECTED", timeout=30)
        module.expect("AT+CONNECT?", "OK 1 1 CONNECTED CUSTOMER")
        module.stop()
        module = None
        ok = True
        print("pty onboarding test: OK")
    finally:
        if module is not None:
            try:
                module.stop()
            except Exception:  # noqa: BLE001 - best effort cleanup
                module.proc.kill()
                module.proc.wait(timeout=10)
        if world_started:
            subprocess.run([ELSIM, "world", "down", "--dir", world_dir], capture_output=True,
                           timeout=30)
        if not ok:
            logs = [os.path.join(workdir, "module.log")]
            accounts_dir = os.path.join(world_dir, "accounts")
            if os.path.isdir(accounts_dir):
                logs += [os.path.join(accounts_dir, a, "broker.log")
                         for a in sorted(os.listdir(accounts_dir))]
            logs.append(os.path.join(world_dir, "supervisor.log"))
            for path in logs:
                if os.path.exists(path):
                    print(f"--- {path} (tail) ---")
                    with open(path, errors="replace") as f:
                        print("".join(f.readlines()[-40:]))
        module_log.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    # SIGTERM/SIGHUP run the finally blocks (world down, module killed) like a failure does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    try:
        main()
    except Failure as e:
        print(f"FAILED: {e}")
        sys.exit(1)
