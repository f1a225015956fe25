#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drives `elsim module --pty` with pyserial (Debian python3-serial) through onboarding.

Two real mosquitto brokers with mutual TLS stand in for the staging account (127.0.0.2) and an
OEM account (127.0.0.3); the PKI comes from `elsim pki`. The claim is published by
`mosquitto_pub` on <ThingName>/expresslink_config as the OEM's claim script would.
# TODO(staging/oem engineers): swap the plain brokers for `elsim world` accounts and the
# mosquitto_pub claim for `elsim claim`; then expect the first OEM CONNECT to fail once with
# ERR14 (JITP) and succeed on retry, as the loop below already tolerates.

Usage: pty_onboarding_test.py ELSIM_EXECUTABLE MOSQUITTO_EXECUTABLE
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import serial  # python3-serial

ELSIM, MOSQUITTO = sys.argv[1], sys.argv[2]
STAGING_IP, OEM_IP = "127.0.0.2", "127.0.0.3"
STAGING_HOST = "a1staging-ats.iot.us-east-1.elsim.test"
OEM_HOST = "a2oem-ats.iot.eu-west-1.elsim.test"


def free_port(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


class Broker:
    def __init__(self, workdir, name, ip, pki):
        self.ip, self.port = ip, free_port(ip)
        self.conf = os.path.join(workdir, name + ".conf")
        self.log = open(os.path.join(workdir, name + ".log"), "w+")
        with open(self.conf, "w") as f:
            f.write(f"""per_listener_settings false
allow_anonymous true
listener {self.port} {ip}
cafile {pki}/ca/root.pem
certfile {pki}/server-{name}/cert.pem
keyfile {pki}/server-{name}/key.pem
require_certificate true
use_identity_as_username false
set_tcp_nodelay true
""")
            if os.geteuid() == 0:
                f.write("user root\n")  # else mosquitto drops to a user that cannot read keys
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        # Ready when the log says "running" (the port opens before the certificates load).
        deadline = time.time() + 10
        while time.time() < deadline and self.proc.poll() is None:
            self.log.seek(0)
            if " running" in self.log.read():
                return
            time.sleep(0.02)
        self.log.seek(0)
        raise RuntimeError(f"{name} broker did not start:\n{self.log.read()}")

    def stop(self):
        for _ in range(50):
            if self.proc.poll() is not None:
                break
            self.proc.terminate()
            try:
                self.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Module:
    def __init__(self, args, logfile):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=logfile, text=True)
        path = self.proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/"), f"expected a pty path, got {path!r}"
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
        self.port.timeout = timeout
        raw = self.port.read_until(b"\r\n")
        assert raw.endswith(b"\r\n"), f"no complete response line, got {raw!r}"
        return raw[:-2].decode("latin-1")

    def expect(self, line, pattern, timeout=15):
        got = self.command(line, timeout)
        assert re.fullmatch(pattern, got[0]), f"{line!r}: expected {pattern!r}, got {got!r}"
        return got

    def wait_event(self, pattern, timeout=10):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            got = self.command("AT+EVENT?")[0]
            if got == "OK":
                time.sleep(0.05)
                continue
            seen.append(got)
            if re.fullmatch(pattern, got):
                return got
        raise AssertionError(f"event {pattern!r} not seen; saw {seen}")

    def stop(self):
        self.port.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        assert self.proc.returncode == 0, f"elsim module exited {self.proc.returncode}"


def main():
    workdir = tempfile.mkdtemp(prefix="elsim-module-pty-")
    brokers, module = [], None
    ok = False
    try:
        pki = os.path.join(workdir, "pki")
        run(ELSIM, "pki", "ca", "--dir", f"{pki}/ca")
        run(ELSIM, "pki", "modules", "--ca-dir", f"{pki}/ca", "--count", "1", "--dir",
            f"{pki}/modules")
        run(ELSIM, "pki", "aws-ca", "--dir", f"{pki}/aws")
        for name, host, ip in (("staging", STAGING_HOST, STAGING_IP), ("oem", OEM_HOST, OEM_IP)):
            run(ELSIM, "pki", "server", "--ca-dir", f"{pki}/aws", "--name", host, "--ip", ip,
                "--dir", f"{pki}/server-{name}")
        staging = Broker(workdir, "staging", STAGING_IP, pki)
        brokers.append(staging)
        oem = Broker(workdir, "oem", OEM_IP, pki)
        brokers.append(oem)
        endpoints = os.path.join(workdir, "endpoints.json")
        with open(endpoints, "w") as f:
            json.dump({STAGING_HOST: f"{STAGING_IP}:{staging.port}",
                       OEM_HOST: f"{OEM_IP}:{oem.port}"}, f)
        thing = next(d for d in sorted(os.listdir(f"{pki}/modules"))
                     if os.path.isdir(f"{pki}/modules/{d}"))

        module_log = open(os.path.join(workdir, "module.log"), "w+")
        module = Module([ELSIM, "--log-level", "debug", "module", "--pty",
                         "--identity", f"{pki}/modules/{thing}",
                         "--staging-endpoint", STAGING_HOST,
                         "--root-ca", f"{pki}/aws/root-ca.pem",
                         "--endpoints", endpoints,
                         "--state-dir", os.path.join(workdir, "state")], module_log)

        # Framing basics over the real pty.
        module.port.write(b"abcdefAT\n")
        assert module.readline(5) == "OK"
        module.port.write(b"AT\r\n\r\n")
        assert module.readline(5) == "OK"
        module.expect("AT+EVENT?", r"OK 2 0 STARTUP")
        module.expect("AT+CONF? ThingName", "OK " + thing)
        got = module.command("AT+CONF? Certificate pem")
        assert got[0].startswith("OK") and got[1] == "-----BEGIN CERTIFICATE-----", got
        # Bad input never wedges the module: binary garbage, NUL bytes, 1 MB without EOL.
        module.port.write(bytes(range(256)).replace(b"\n", b"").replace(b"\r", b"") + b"\n")
        module.port.write(b"AT+\x00\x01\n")
        assert module.readline(5) == "ERR2 PARSE ERROR"
        module.port.write(b"AT+SEND1 " + b"x" * (1 << 20) + b"\n")
        assert module.readline(20) == "ERR1 OVERFLOW"
        module.expect("AT", "OK")

        # Staging: connect, state, the claim, MSG 0 + GET0, CONLOST.
        module.expect("AT+CONNECT", "OK 1 CONNECTED")
        module.expect("AT+CONNECT?", "OK 1 0 CONNECTED STAGING")
        claim = json.dumps({"Endpoint": OEM_HOST})
        subprocess.run(["mosquitto_pub", "-h", STAGING_IP, "-p", str(staging.port),
                        "--cafile", f"{pki}/aws/root-ca.pem",
                        "--cert", f"{pki}/modules/{thing}/cert.pem",
                        "--key", f"{pki}/modules/{thing}/key.pem",
                        "-i", "claim-script", "-q", "1",
                        "-t", f"{thing}/expresslink_config", "-m", claim], check=True, timeout=10)
        module.wait_event(r"OK 1 0 MSG")
        module.wait_event(r"OK 3 0 CONLOST")
        assert module.command("AT+GET0") == [f"OK1 {thing}/expresslink_config", claim]
        module.expect("AT+CONNECT?", "OK 0 1 DISCONNECTED CUSTOMER")
        module.expect("AT+CONF? Endpoint", "OK " + re.escape(OEM_HOST))

        # OEM account: connect (tolerating one JITP-style failure), SEND/SUBSCRIBE/GET.
        for attempt in range(5):
            got = module.command("AT+CONNECT", timeout=30)
            if got[0] == "OK 1 CONNECTED":
                break
            assert got[0].startswith("ERR14 "), got
            time.sleep(1.5 * (attempt + 1))
        else:
            raise AssertionError("could not connect to the OEM endpoint")
        module.expect("AT+CONNECT?", "OK 1 1 CONNECTED CUSTOMER")
        module.expect(f"AT+CONF Topic1={thing}/data", "OK")
        module.expect("AT+SUBSCRIBE1", "OK")
        module.wait_event(r"OK 8 1 SUBACK")
        module.expect("AT+SEND1 Hello\\AWorld!", "OK")
        module.wait_event(r"OK 1 1 MSG")
        assert module.command("AT+GET1") == ["OK Hello\\AWorld!"]
        module.expect("AT+GET1", "OK")

        # Persistence: the Endpoint survives a restart of the module process.
        module.stop()
        module = Module([ELSIM, "module", "--pty", "--identity", f"{pki}/modules/{thing}",
                         "--staging-endpoint", STAGING_HOST,
                         "--root-ca", f"{pki}/aws/root-ca.pem", "--endpoints", endpoints,
                         "--state-dir", os.path.join(workdir, "state")], module_log)
        module.expect("AT+CONNECT?", "OK 0 1 DISCONNECTED CUSTOMER")
        module.expect("AT+FACTORY_RESET", "OK")
        module.expect("AT+CONNECT?", "OK 0 0 DISCONNECTED STAGING")
        # A broker that goes away: CONLOST.
        module.expect("AT+CONNECT", "OK 1 CONNECTED")
        staging.stop()
        module.wait_event(r"OK 3 0 CONLOST", timeout=15)
        got = module.command("AT+CONNECT", timeout=30)
        assert got[0].startswith("ERR14 3 "), got
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
        for broker in brokers:
            broker.stop()
        if not ok:
            for name in ("module.log", "staging.log", "oem.log"):
                path = os.path.join(workdir, name)
                if os.path.exists(path):
                    print(f"--- {name} (tail) ---")
                    with open(path, errors="replace") as f:
                        print("".join(f.readlines()[-40:]))
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
