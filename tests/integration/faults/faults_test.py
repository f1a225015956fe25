#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Faults a world must survive, against real worlds (real mosquitto, plugin, Paho, TLS).

Cases (one per run; --repeat N runs it N times in a row, each with a fresh world):
  staging-kill  `elsim onboard --modules 50`; once the first claim is acknowledged, kill -9 the
                staging account's broker. The job must end on its own within a bound (no
                deadlock), say that the staging broker exited (signal 9), and its counts must
                agree with the OEM account's registry (read afterwards through the AWS CLI):
                every thing registered there is a module reported onboarded, or a failed one
                reported as reached by its claim, and vice versa.
  oem-kill      the same, killing the OEM account's broker once the first module reached it.
  sigterm       `elsim onboard --modules 50`; kill -9 staging as above, then SIGTERM the job
                at once: it must exit within 40 s, whatever it was blocked in.
  supervisor    `elsim world up`; a thing created through the control plane; kill -9 of the
                oem-a broker. The supervisor must reap it (no zombie), restart it within 10 s
                with its registry (the thing is still there), and `world status` must say
                "the oem-a broker exited (signal 9); restarted" with the broker's last log lines.
  slowloris     `elsim world up`; 200 connections to oem-a's control plane send one header byte
                every 2 s for 20 s (reconnecting when closed), while an ordinary GET /things is
                sent every 0.5 s: each must be answered (200) within 1 s.

Usage: faults_test.py ELSIM CASE [--repeat N] [--modules N]
Exit 0 pass, 1 fail; one line per failure.
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ELSIM = ""
AWS = shutil.which("aws") or "/usr/bin/aws"
JOB_BOUND = 300  # seconds an onboarding of 50 modules may take, faults included (2 loaded cores)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def read_world(world_dir):
    with open(os.path.join(world_dir, "world.json")) as f:
        return json.load(f)


def account(world, name=None, kind=None):
    for a in world["accounts"]:
        if (name is None or a["name"] == name) and (kind is None or a["kind"] == kind):
            return a
    raise Failure(f"no account name={name} kind={kind} in world.json")


def process_state(pid):
    """'Z' for a zombie, None when gone, else the state letter."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2]


def aws_iot(acct, region, *argv):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=acct["accountId"], AWS_SECRET_ACCESS_KEY="x",
               AWS_PAGER="", AWS_DEFAULT_OUTPUT="json", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    result = subprocess.run([AWS, "iot", *argv, "--endpoint-url", acct["controlPlaneUrl"],
                             "--region", region], capture_output=True, text=True, timeout=60,
                            env=env)
    check(result.returncode == 0, f"aws iot {' '.join(argv)}: {result.stderr.strip()}")
    return json.loads(result.stdout) if result.stdout.strip() else {}


def world_up(world_dir, config=None):
    argv = [ELSIM, "world", "up", "--dir", world_dir]
    if config:
        argv += ["--config", config]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"world up: {result.stderr.strip()}")


def world_down(world_dir):
    subprocess.run([ELSIM, "world", "down", "--dir", world_dir], capture_output=True,
                   text=True, timeout=60)


# ---- onboarding under a broker kill --------------------------------------------------------

def onboard_with_kill(tmp, modules, victim, sigterm_after_kill=False):
    """Runs `elsim onboard`, kills `victim`'s broker at the right moment; returns (exit, lines,
    elapsed, killed_pid)."""
    job_dir = os.path.join(tmp, "job")
    proc = subprocess.Popen([ELSIM, "--log-level", "error", "onboard", "--modules", str(modules),
                             "--dir", job_dir], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    killed = {}
    started = time.monotonic()
    # Kill trigger: the first acknowledged claim (staging), the first module at oem-a (oem).
    trigger = " claimed for " if victim == "staging" else "connected to oem-"

    def reader():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if not killed and trigger in line:
                world = read_world(os.path.join(job_dir, "world"))
                kind = "staging" if victim == "staging" else "oem"
                pid = account(world, kind=kind)["brokerPid"]
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                killed["at"] = time.monotonic()
                if sigterm_after_kill:
                    time.sleep(0.5)
                    proc.send_signal(signal.SIGTERM)
                    killed["sigterm"] = time.monotonic()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    bound = 40 if sigterm_after_kill else JOB_BOUND
    deadline = started + JOB_BOUND
    while proc.poll() is None and time.monotonic() < deadline:
        if "sigterm" in killed and time.monotonic() > killed["sigterm"] + bound:
            break
        time.sleep(0.2)
    hung = proc.poll() is None
    killed["exited"] = time.monotonic()
    if hung:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    thread.join(timeout=10)
    elapsed = time.monotonic() - started
    if hung:
        tail = "\n".join(lines[-15:])
        what = (f"did not exit within {bound} s of SIGTERM" if "sigterm" in killed
                else f"hung: no exit within {JOB_BOUND} s")
        raise Failure(f"elsim onboard {what} (killed {victim} broker: {bool(killed)}); "
                      f"last lines:\n{tail}")
    check(killed, f"the kill trigger '{trigger}' never came; exit {proc.returncode}; output:\n" +
          "\n".join(lines[-20:]))
    return proc.returncode, lines, elapsed, killed


def registry_things(tmp, names):
    """Starts the job's world again (its registries survive) and lists oem-a's things."""
    world_dir = os.path.join(tmp, "job", "world")
    world_up(world_dir)
    try:
        world = read_world(world_dir)
        oem = account(world, kind="oem")
        things = set()
        token = None
        while True:
            argv = ["list-things", "--max-results", "250"]
            if token:
                argv += ["--next-token", token]
            page = aws_iot(oem, world["region"], *argv)
            things.update(t["thingName"] for t in page.get("things", []))
            token = page.get("nextToken")
            if not token:
                break
        return things & names, oem["name"]
    finally:
        world_down(world_dir)


def check_report_against_registry(tmp, lines, modules):
    onboarded, reached, failed, names = set(), set(), set(), set()
    reasons = collections.Counter()
    for line in lines:
        m = re.search(r"module \d+ (\S+): (.*)$", line)
        if not m:
            continue
        name, text = m.group(1), m.group(2)
        names.add(name)
        if text.startswith("verified:"):
            onboarded.add(name)
        elif text.startswith("FAILED: "):
            failed.add(name)
            reason = re.sub(r"[0-9a-f]{20,}", "T", text[len("FAILED: "):])
            reasons[re.sub(r"\d+(\.\d+)?", "N", reason)[:90]] += 1
            if "yet the claim reached it" in text:
                reached.add(name)
    summary = next((l for l in reversed(lines) if re.search(r"onboarded \d+/\d+ modules", l)), "")
    check(summary, "no summary line:\n" + "\n".join(lines[-10:]))
    m = re.search(r"onboarded (\d+)/(\d+) modules", summary)
    check(int(m.group(1)) == len(onboarded) and int(m.group(2)) == modules,
          f"summary '{summary}' vs {len(onboarded)} verified lines")
    check(len(names) == modules, f"{len(names)} modules named in the output, expected {modules}")
    check(len(onboarded) + len(failed) == modules,
          f"{len(onboarded)} onboarded + {len(failed)} failed != {modules}")
    registered, oem_name = registry_things(tmp, names)
    expected = onboarded | reached
    check(registered == expected,
          f"the report and {oem_name}'s registry disagree: registered but reported failed "
          f"without the claim reaching it: {sorted(registered - expected)}; reported but not "
          f"registered: {sorted(expected - registered)}")
    if failed:
        held = re.search(r"(\S+) holds (\d+) of the (\d+) things", summary)
        check(held and int(held.group(2)) == len(registered),
              f"summary '{summary}': expected '{oem_name} holds {len(registered)} of the "
              f"{modules} things'")
    return len(onboarded), len(failed), len(reached), reasons


def case_kill(tmp, args, victim):
    code, lines, elapsed, killed = onboard_with_kill(tmp, args.modules, victim)
    text = "\n".join(lines)
    name = "staging" if victim == "staging" else "oem-a"
    check(re.search(rf"the {name} broker exited \(signal 9\)", text),
          f"no line saying the {name} broker exited (signal 9); last lines:\n" +
          "\n".join(lines[-15:]))
    check(code in (0, 1), f"exit {code}")
    onboarded, failed, reached, reasons = check_report_against_registry(tmp, lines, args.modules)
    top = "; ".join(f"{n}x {r}" for r, n in reasons.most_common(2))
    return (f"{victim}-kill: exit {code} in {elapsed:.1f} s, {onboarded} onboarded, "
            f"{failed} failed ({reached} of them reached by their claim){': ' + top if top else ''}")


def case_sigterm(tmp, args):
    code, lines, elapsed, killed = onboard_with_kill(tmp, args.modules, "staging",
                                                     sigterm_after_kill=True)
    return (f"sigterm: exit {code} {killed['exited'] - killed['sigterm']:.1f} s after SIGTERM "
            f"({elapsed:.1f} s in all)")


# ---- the world supervisor ---------------------------------------------------------------------

def case_supervisor(tmp, args):
    world_dir = os.path.join(tmp, "w")
    world_up(world_dir)
    try:
        world = read_world(world_dir)
        oem = account(world, name="oem-a")
        aws_iot(oem, world["region"], "create-thing", "--thing-name", "survivor")
        old = oem["brokerPid"]
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 10
        new = old
        while time.monotonic() < deadline:
            new = account(read_world(world_dir), name="oem-a")["brokerPid"]
            if new not in (0, old) and process_state(new) not in (None, "Z"):
                break
            time.sleep(0.1)
        check(new not in (0, old), f"oem-a's broker not restarted within 10 s (pid {new})")
        check(process_state(old) is None,
              f"the killed broker pid {old} is left as state {process_state(old)} (not reaped)")
        thing = aws_iot(oem, world["region"], "describe-thing", "--thing-name", "survivor")
        check(thing.get("thingName") == "survivor", f"describe-thing after restart: {thing}")
        status = subprocess.run([ELSIM, "world", "status", "--dir", world_dir],
                                capture_output=True, text=True, timeout=60)
        check(status.returncode == 0, f"world status: exit {status.returncode}\n{status.stdout}")
        check(re.search(r"the oem-a broker exited \(signal 9\); restarted \(pid \d+\)",
                        status.stdout), "world status does not tell:\n" + status.stdout)
        check(re.search(r"^    \| .+", status.stdout, re.M),
              "world status shows no log lines of the dead broker:\n" + status.stdout)
        with open(os.path.join(world_dir, "supervisor.log")) as f:
            log = f.read()
        check(f"broker pid {old} exited (signal 9)" in log, "supervisor.log: " + log[-2000:])
        # world up on the same directory still refuses while the world runs, and down works.
        again = subprocess.run([ELSIM, "world", "up", "--dir", world_dir], capture_output=True,
                               text=True, timeout=60)
        check(again.returncode != 0 and "already runs" in again.stderr,
              f"second world up: exit {again.returncode} {again.stderr.strip()}")
    finally:
        world_down(world_dir)
    check(process_state(new) is None, f"restarted broker pid {new} outlived world down")
    return f"supervisor: pid {old} -> {new}, registry kept"


# ---- slowloris against a control plane --------------------------------------------------------

def case_slowloris(tmp, args):
    world_dir = os.path.join(tmp, "w")
    world_up(world_dir)
    try:
        world = read_world(world_dir)
        oem = account(world, name="oem-a")
        m = re.match(r"http://([\d.]+):(\d+)$", oem["controlPlaneUrl"])
        host, port = m.group(1), int(m.group(2))
        url = oem["controlPlaneUrl"] + "/things"
        auth = (f"AWS4-HMAC-SHA256 Credential={oem['accountId']}/20260101/{world['region']}/"
                f"iot/aws4_request, SignedHeaders=host, Signature=" + "0" * 64)
        stop = threading.Event()
        stats = {"closed": 0, "opened": 0}
        head = b"GET /things HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096

        def slow_clients():
            socks = {}
            while not stop.is_set():
                while len(socks) < 200 and not stop.is_set():
                    s = socket.create_connection((host, port), timeout=5)
                    s.setblocking(False)
                    socks[s] = 0
                    stats["opened"] += 1
                for s in list(socks):
                    try:
                        s.send(head[socks[s]:socks[s] + 1])
                        socks[s] += 1
                    except OSError:
                        stats["closed"] += 1
                        s.close()
                        del socks[s]
                stop.wait(2.0)
            for s in socks:
                s.close()

        slow = threading.Thread(target=slow_clients, daemon=True)
        slow.start()
        time.sleep(3)  # let them all connect and start dribbling
        latencies, errors = [], []
        end = time.monotonic() + 20
        while time.monotonic() < end:
            request = urllib.request.Request(url, headers={"Authorization": auth})
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = json.loads(response.read())
                    if response.status != 200 or "things" not in body:
                        errors.append(f"status {response.status} {body}")
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(e))
            latencies.append(time.monotonic() - t0)
            time.sleep(0.5)
        stop.set()
        slow.join(timeout=30)
        latencies.sort()
        worst = latencies[-1]
        check(not errors, f"{len(errors)} of {len(latencies)} GET /things failed during the "
                          f"slowloris: {errors[:3]}")
        check(worst <= 1.0, f"GET /things took up to {worst:.2f} s during the slowloris "
                            f"(median {latencies[len(latencies) // 2]:.3f} s)")
        check(stats["opened"] >= 200, f"only {stats['opened']} slow connections opened")
        return (f"slowloris: {len(latencies)} GET /things answered, median "
                f"{latencies[len(latencies) // 2] * 1000:.0f} ms, worst {worst * 1000:.0f} ms; "
                f"{stats['opened']} slow connections, {stats['closed']} closed by the server")
    finally:
        world_down(world_dir)


CASES = {
    "staging-kill": lambda tmp, args: case_kill(tmp, args, "staging"),
    "oem-kill": lambda tmp, args: case_kill(tmp, args, "oem"),
    "sigterm": case_sigterm,
    "supervisor": case_supervisor,
    "slowloris": case_slowloris,
}


def main():
    global ELSIM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("elsim")
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--modules", type=int, default=50)
    args = parser.parse_args()
    ELSIM = os.path.abspath(args.elsim)
    failures = 0
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(prefix=f"elsim-fault-{args.case}-") as tmp:
            t0 = time.monotonic()
            try:
                print(f"run {run}/{args.repeat} PASS {CASES[args.case](tmp, args)} "
                      f"({time.monotonic() - t0:.1f} s)", flush=True)
            except Failure as e:
                failures += 1
                print(f"run {run}/{args.repeat} FAIL {args.case}: {e}", flush=True)
    print(f"{args.case}: {args.repeat - failures}/{args.repeat} passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
