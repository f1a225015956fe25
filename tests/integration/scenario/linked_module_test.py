#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`elsim run --modules`: module actors played by an `elsim module` process at the other end of
a serial line, driven only with AT lines, as a real module on a USB serial adapter would be.

Set-up, all through command lines: a world made once for its manufacturer CA (`elsim world up`,
`elsim world identities`, `elsim world down`); an `elsim module --pty` process with that birth
identity, its own factory Endpoint, a RootCA the scenario worlds do not use, and --endpoints on
a hosts file the runner rewrites for each world; between that module and the runner:

  * serial: a socat pty pair (Debian socat): the runner opens the pty socat makes with
    `--modules m1=serial:PATH` (termios raw 115200 8N1, no flow control) and socat relays to the
    module's pty. Bundled scenarios play through it (onboarding by claim, publishing to the
    OEM's back end), and one scenario written here whose power step and a client holding the
    module's birth key are skipped with the reason (the scenario passes; the result line and the
    timeline say which steps were skipped and why).
  * tcp: an `elsim module --tcp` process plays the scenario written here too.
  * slow: a relay in this script between a pty pair of its own and the module's pty that
    forwards one byte at a time with a delay (a slow line that splits every answer), with a
    short module chatter before the run (a module mid-boot). A bundled onboarding scenario
    passes through it; a step whose answer comes after its window is awaited before the next
    line is sent (the timeline records the late answer; the next AT gets its own OK).

Checked in the timelines: the link note (115200 8N1, EVENT? polling), the resynchronisation,
AT+FACTORY_RESET, the ThingName and certificate read with AT+CONF?, the staging account
answering at the module's factory Endpoint, RootCA set and put back (the module's RootCA after
the run is the one it had before). Bad --modules values exit 2 with one line.

Usage: linked_module_test.py ELSIM_EXECUTABLE SCENARIOS_DIR
"""
import ctypes
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty

ELSIM = os.path.abspath(sys.argv[1])
SCENARIOS = os.path.abspath(sys.argv[2])
FACTORY_ENDPOINT = "acmestaging001-ats.iot.us-east-1.elsim.test"
DEADLINE = time.monotonic() + 280  # The ctest TIMEOUT is 300 s.


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run(*args, expect_rc=0, timeout=60):
    done = subprocess.run(args, capture_output=True, text=True,
                          timeout=max(1, min(timeout, DEADLINE - time.monotonic())))
    check(done.returncode == expect_rc,
          f"{' '.join(args)}: exit {done.returncode}, expected {expect_rc}\n"
          f"{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def results_of(out_dir):
    found = {}
    for root, _, files in os.walk(out_dir):
        for name in files:
            if name.endswith(".result.json"):
                with open(os.path.join(root, name)) as f:
                    result = json.load(f)
                found[result["id"]] = result
    return found


def texts(result, kind=None, participant=None):
    return [e["text"] for e in result["timeline"]
            if (kind is None or e["kind"] == kind)
            and (participant is None or e["participant"] == participant)]


def raw(fd):
    tty.setraw(fd)


class SlowRelay:
    """Forwards bytes between a pty pair of its own (the runner opens the slave) and the
    module's pty, one byte at a time with a delay."""

    def __init__(self, module_pty, delay):
        self.master, slave = pty.openpty()
        raw(slave)
        self.path = os.ttyname(slave)
        self.slave = slave  # Kept open: the master never sees a hang-up between runs.
        self.module = os.open(module_pty, os.O_RDWR | os.O_NOCTTY)
        raw(self.module)
        self.delay = delay
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            ready, _, _ = select.select([self.master, self.module], [], [], 0.2)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                other = self.module if fd == self.master else self.master
                for byte in data:
                    os.write(other, bytes([byte]))
                    time.sleep(self.delay)

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        for fd in (self.master, self.slave, self.module):
            os.close(fd)


def module_root_ca(port_path):
    """Reads the module's RootCA over a link of our own (AT+CONF? RootCA pem)."""
    fd = os.open(port_path, os.O_RDWR | os.O_NOCTTY)
    try:
        raw(fd)
        os.write(fd, b"AT+CONF? RootCA pem\n")
        buffer = b""
        end = time.monotonic() + 10
        while time.monotonic() < end and b"-----END CERTIFICATE-----" not in buffer:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                buffer += os.read(fd, 4096)
        time.sleep(0.2)
        return buffer.decode("latin-1")
    finally:
        os.close(fd)


def main():
    check(shutil.which("socat"), "socat is not installed (scripts/setup-deps --with-test-tools)")
    workdir = tempfile.mkdtemp(prefix="elsim-linked-")
    world_dir = os.path.join(workdir, "maker-world")
    processes = []
    relay = None
    ok = False
    try:
        # -- Bad --modules values: one line, exit 2, nothing started.
        one_file = os.path.join(SCENARIOS, "claim", "onboard-by-claim-step-by-step.yaml")
        for bad, says in [
            ("m1=usb:/dev/ttyUSB0", "unknown kind 'usb'"),
            ("m1=serial:", "serial needs a device path"),
            ("m1=serial:dev/ttyUSB0", "must be absolute"),
            ("m1=tcp:127.0.0.1:99999", "port '99999'"),
            ("m9=serial:/dev/ttyUSB0", "m9 is not a module actor of scenario"),
            ("portal=serial:/dev/ttyUSB0", "portal is not a module actor"),
        ]:
            done = subprocess.run([ELSIM, "run", one_file, "--modules", bad, "--out",
                                   os.path.join(workdir, "bad")], capture_output=True, text=True,
                                  timeout=30)
            output = (done.stdout + done.stderr).strip()
            check(done.returncode == 2, f"--modules {bad}: exit {done.returncode}: {output}")
            check(says in output and len(output.splitlines()) == 1,
                  f"--modules {bad}: expected one line naming {says!r}, got {output!r}")
        done = subprocess.run([ELSIM, "run", one_file, "--module-cas", workdir],
                              capture_output=True, text=True, timeout=30)
        check(done.returncode == 2 and "go with --modules" in done.stderr,
              f"--module-cas alone: {done.returncode} {done.stderr!r}")

        # -- The maker's CA and one birth identity under it, from a world made for that.
        run(ELSIM, "world", "up", "--config",
            os.path.join(SCENARIOS, "worlds", "oem-guide.yaml"), "--dir", world_dir)
        try:
            run(ELSIM, "world", "identities", "--world", world_dir, "--count", "1", "--dir",
                os.path.join(workdir, "ids"))
        finally:
            run(ELSIM, "world", "down", "--dir", world_dir)
        modules_dir = os.path.join(workdir, "ids", "modules")
        identity = os.path.join(modules_dir, sorted(os.listdir(modules_dir))[0])
        thing_name = os.path.basename(identity)
        cas = os.path.join(world_dir, "pki", "manufacturers")

        # -- The module process: its own factory Endpoint and RootCA (not the scenario
        # worlds'), names resolved through a hosts file the runner rewrites for each world.
        hosts = os.path.join(workdir, "hosts.json")
        with open(hosts, "w") as f:
            f.write('{"endpoints": {}}\n')
        own_root = os.path.join(world_dir, "pki", "root-ca.pem")

        def start_module(link, name):
            """`elsim module` on a link (--pty / --tcp 0); returns the link it printed."""
            process = subprocess.Popen(
                [ELSIM, "--log-level", "warn", "module", *link, "--identity", identity,
                 "--staging-endpoint", FACTORY_ENDPOINT, "--root-ca", own_root, "--endpoints",
                 hosts, "--state-dir", os.path.join(workdir, name)],
                stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, name + ".log"), "w"),
                text=True, preexec_fn=die_with_parent)
            processes.append(process)
            return process.stdout.readline().strip()

        module_pty = start_module(["--pty"], "module-pty")
        check(module_pty.startswith("/dev/pts/"), f"elsim module printed {module_pty!r}")

        # -- serial: a socat pty pair between the runner and the module.
        serial_path = os.path.join(workdir, "ttyM1")
        socat = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={serial_path}", f"{module_pty},raw,echo=0"],
            stderr=open(os.path.join(workdir, "socat.log"), "w"), preexec_fn=die_with_parent)
        processes.append(socat)
        for _ in range(100):
            if os.path.exists(serial_path):
                break
            time.sleep(0.05)
        check(os.path.exists(serial_path), "socat made no pty")
        with open(own_root) as f:
            own_root_pem = f.read().strip()

        skip_file = os.path.join(workdir, "local", "linked-skips.yaml")
        os.makedirs(os.path.dirname(skip_file))
        with open(skip_file, "w") as f:
            f.write(f"""description: software-only steps are skipped for a linked module
world: {os.path.join(SCENARIOS, 'worlds', 'oem-guide.yaml')}
actors:
  m1: {{module: acme}}
  twin: {{client: oem-a, certificate: m1}}
steps:
  - {{name: attention, at: m1, send: AT, expect: OK}}
  - {{name: factory fresh, event: m1, expect: STARTUP}}
  - {{name: power cycle, restart: m1}}
  - {{name: the twin connects, connect: twin}}
  - {{name: its ThingName by AT, at: m1, send: "AT+CONF? ThingName", expect: "OK ${{m1.thingName}}"}}
  - {{name: staging login, at: m1, send: AT+CONNECT, expect: OK 1 CONNECTED, within: 10s}}
  - {{at: m1, send: "AT+CONF? Endpoint", expect: "OK {FACTORY_ENDPOINT}"}}
""")
        out_serial = os.path.join(workdir, "out-serial")
        bundled = [os.path.join(SCENARIOS, "claim", name) for name in (
            "onboard-by-claim-step-by-step.yaml",
            "the-oem-backend-receives-what-the-module-publishes.yaml")]
        started = time.monotonic()
        done = subprocess.run(
            [ELSIM, "run", *bundled, skip_file, "--modules", f"m1=serial:{serial_path}",
             "--module-cas", cas, "--module-hosts", hosts, "--out", out_serial, "-j", "4"],
            capture_output=True, text=True, timeout=DEADLINE - time.monotonic())
        serial_seconds = time.monotonic() - started
        print(done.stdout)
        check(done.returncode == 0, f"serial run: exit {done.returncode}\n{done.stderr}")
        check("3 at a time" not in done.stdout and "1 at a time" in done.stdout,
              "linked runs are not one scenario at a time")
        results = results_of(out_serial)
        check(len(results) == 3, f"results: {sorted(results)}")
        skips = results["local/linked-skips"]
        skipped = texts(skips, "skip")
        check(len(skipped) == 2, f"skipped steps: {skipped}")
        check(skipped[0].startswith("power cycle: software-only") and "serial:" in skipped[0],
              f"power step skip: {skipped[0]}")
        check(skipped[1].startswith("the twin connects: software-only") and "birth key" in
              skipped[1], f"client skip: {skipped[1]}")
        check("2 step(s) skipped, first: power cycle" in done.stdout,
              "the result line does not say the skips")
        for result in results.values():
            notes = " | ".join(texts(result, participant="m1"))
            for needed in ("linked over serial:", "115200 8N1", "AT+EVENT?", "resynchronised",
                           "RootCA set to the world's server root",
                           "RootCA put back as it was"):
                check(needed in notes, f"{result['id']}: m1's timeline lacks {needed!r}")
            sent = texts(result, "at>", "m1")
            check("AT+FACTORY_RESET" in sent and "AT+CONF? ThingName" in sent and
                  "AT+CONF? Certificate pem" in sent, f"{result['id']}: AT sent: {sent[:8]}")
            check(any(FACTORY_ENDPOINT in t for t in texts(result, "note", "staging")),
                  f"{result['id']}: staging does not answer at the factory Endpoint")
            check(any(f"module {thing_name} (acme, linked over serial:" in t
                      for t in texts(result, "note", "m1")), f"{result['id']}: no module note")
        # The module trusts its own root again.
        check(own_root_pem in module_root_ca(serial_path).replace("\r\n", "\n"),
              "the module's RootCA was not put back")

        # -- slow: one byte at a time, 1 ms apart, after some chatter (a module mid-boot).
        socat.terminate()
        socat.wait(timeout=10)
        relay = SlowRelay(module_pty, 0.001)
        # Mid-command when the run starts: an AT+CONNECT sent before (its answer, whenever it
        # comes, is not taken for an answer to the runner), and chatter (a module mid-boot).
        # The chatter first: the module may answer AT+CONNECT within microseconds (a refused TCP
        # connect), and its answer's bytes would otherwise interleave with the chatter's.
        os.write(relay.master, b"boot: ExpressLink v1.3 starting\r\n")  # Heard by the runner.
        os.write(relay.module, b"AT+CONNECT\n")
        # The 25 bytes of AT+CONF? Certificate pem alone take 24 ms to cross the relay, so no
        # answer can come within the step's 20 ms.
        late_file = os.path.join(workdir, "local", "linked-late-answer.yaml")
        with open(late_file, "w") as f:
            f.write(f"""description: an answer later than its step's window is awaited
world: {os.path.join(SCENARIOS, 'worlds', 'oem-guide.yaml')}
actors:
  m1: {{module: acme}}
steps:
  - {{name: too short a window, expect-not: {{at: m1, send: "AT+CONF? Certificate pem"}}, for: 20ms}}
  - {{name: the next answer is its own, at: m1, send: AT, expect: OK}}
  - {{at: m1, send: "AT+CONF? ThingName", expect: "OK ${{m1.thingName}}"}}
""")
        out_slow = os.path.join(workdir, "out-slow")
        started = time.monotonic()
        done = subprocess.run(
            [ELSIM, "run", bundled[0], late_file, "--modules", f"m1=pty:{relay.path}",
             "--module-cas", cas, "--module-hosts", hosts, "--out", out_slow],
            capture_output=True, text=True, timeout=DEADLINE - time.monotonic())
        slow_seconds = time.monotonic() - started
        print(done.stdout)
        check(done.returncode == 0, f"slow run: exit {done.returncode}\n{done.stderr}")
        results = results_of(out_slow)
        late = results["local/linked-late-answer"]
        notes = texts(late, "note", "m1")
        check(any(t.startswith("late answer to AT+CONF? Certificate pem after ") for t in notes),
              f"no late answer note: {notes}")
        answers = texts(late, "at<", "m1")
        check("OK" in answers, f"answers: {answers}")
        onboard = results["claim/onboard-by-claim-step-by-step"]
        check(any("the module was saying" in t and "boot: ExpressLink" in t
                  for t in texts(onboard, "note", "m1")),
              "the chatter before the run was not drained: " +
              " | ".join(texts(onboard, "note", "m1")))
        check(any(re.search(r"ERR14|OK 1 CONNECTED", t) for t in texts(onboard, "note", "m1")),
              "the answer to the AT+CONNECT sent before the run is not in the timeline: " +
              " | ".join(texts(onboard, "note", "m1")))

        # -- tcp: an `elsim module --tcp` process (the same birth identity, its own state).
        where = start_module(["--tcp", "0"], "module-tcp")
        check(re.fullmatch(r"127\.\d+\.\d+\.\d+:\d+", where), f"elsim module --tcp printed {where!r}")
        out_tcp = os.path.join(workdir, "out-tcp")
        done = subprocess.run(
            [ELSIM, "run", skip_file, "--modules", f"m1=tcp:{where}", "--module-cas", cas,
             "--module-hosts", hosts, "--out", out_tcp],
            capture_output=True, text=True, timeout=DEADLINE - time.monotonic())
        print(done.stdout)
        check(done.returncode == 0, f"tcp run: exit {done.returncode}\n{done.stderr}")
        tcp_result = results_of(out_tcp)["local/linked-skips"]
        check(any(t.startswith(f"linked over tcp:{where}") for t in texts(tcp_result, "note", "m1")),
              "no tcp link note")
        check(len(texts(tcp_result, "skip")) == 2, "tcp: the two steps were not skipped")
        print(f"linked runs: serial (socat) 3 scenarios in {serial_seconds:.1f} s; "
              f"slow relay (1 ms per byte) 2 scenarios in {slow_seconds:.1f} s")
        ok = True
    finally:
        if relay:
            relay.close()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        if ok and not os.environ.get("ELSIM_KEEP_TEST_FILES"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}", file=sys.stderr)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        main()
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
