#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of `elsim run` itself: the real executable plays small scenario files that
each test writes into a temporary directory, in real worlds (mosquitto + the account plugin on
leased loopback addresses), with --out in that directory.

What is proved:
  * bad input (an unknown key, an unknown actor, a path that does not exist) exits 2 with
    `file:line: reason` for each error (one line for a missing path) and starts no world;
    `--check` exits 0 on good files and 2 on bad ones;
  * a failing step exits 1: the FAIL line names the step with what was expected and observed,
    --junit writes well-formed XML (one testcase per scenario, the failure naming the step, the
    timeline in system-out), the timeline file holds the AT line, the failed world is kept with
    its broker logs and a passed world is removed;
  * the run's seed is printed and `--seed` replays it: the same per-scenario seed and the same
    endpoint host names (another seed gives other host names);
  * --filter keeps only matching ids; -j 2 runs all of three scenarios;
  * a scenario's `timeout:` ends it as ERROR within the timeout plus a little, naming the step
    that was running, and leaves no mosquitto of its world behind;
  * two `elsim run` processes playing the same file with the same seed at once both pass, on
    different addresses;
  * a scenario file named from its own folder (`x.yaml`, `./x.yaml`) or from below it
    (`../x.yaml`) gets the id `<folder>/<name>` and its results under --out.

Usage: runner_test.py ELSIM_EXECUTABLE
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

ELSIM = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "elsim"

# The smallest world: one manufacturer and its staging account.
WORLD = """\
region: us-east-1
manufacturers: [{name: acme}]
accounts: [{name: staging, kind: staging, manufacturer: acme}]
"""

INLINE_WORLD = """\
world:
  region: us-east-1
  manufacturers: [{name: acme}]
  accounts: [{name: staging, kind: staging, manufacturer: acme}]
"""

LOGIN_STEP = "  - {name: login, at: m1, send: AT+CONNECT, expect: OK 1 CONNECTED, within: 10s}\n"


def scenario(description, steps, world=INLINE_WORLD, extra=""):
    """A scenario with one module m1 of acme; `steps` are YAML step lines."""
    return (f"description: {description}\n" + world + extra +
            "actors:\n  m1: {module: acme}\nsteps:\n" + steps)


def mosquittos_naming(text):
    """PIDs of live mosquitto processes whose command line contains `text`."""
    pids = []
    needle = text.encode()
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue  # the process ended meanwhile
        if b"mosquitto" in cmdline and needle in cmdline:
            pids.append(int(path.split("/")[2]))
    return pids


def endpoint_hosts(timeline_text):
    """The endpoint host names of a timeline's "account ... up: HOST at ADDRESS" notes."""
    return re.findall(r" up: (\S+) at ", timeline_text)


def endpoint_addresses(timeline_text):
    return re.findall(r" up: \S+ at (\S+)", timeline_text)


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="elsim-runner-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, relative, text):
        path = os.path.join(self.dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run_elsim(self, args, timeout=60, cwd=None):
        return subprocess.run([ELSIM, "run"] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, cwd=cwd)

    def read(self, *parts):
        with open(self.path(*parts), encoding="utf-8") as f:
            return f.read()

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")

    # 1. Bad input.
    def test_bad_files_exit_2_with_file_line_reason_and_start_no_world(self):
        bad_key = self.write("bad/unknown-key.yaml", scenario(
            "An unknown key.", LOGIN_STEP, extra="colour: blue\n"))
        bad_actor = self.write("bad/unknown-actor.yaml", scenario(
            "An unknown actor.",
            LOGIN_STEP + "  - {name: ghost, at: m9, send: AT+CONNECT, expect: OK}\n"))
        good = self.write("bad/good.yaml", scenario("Logs in.", LOGIN_STEP))
        out = self.path("out")

        proc = self.run_elsim([self.path("bad"), "--out", out])
        self.assertExit(proc, 2)
        lines = proc.stdout.splitlines()
        # The line numbers: the inline world takes lines 2-5, so `colour:` is line 6; the ghost
        # step is the second step, line 10.
        self.assertIn(f"{bad_key}:6: unknown key 'colour' in the scenario", lines)
        self.assertTrue(any(line.startswith(f"{bad_actor}:10: ") and "'m9'" in line
                            for line in lines), proc.stdout)
        self.assertFalse(any(line.startswith(good) for line in lines), proc.stdout)
        self.assertIn("nothing was run", proc.stdout)
        self.assertNotRegex(proc.stdout, r"(?m)^(PASS|FAIL|ERROR) ")
        # Nothing started: no results, no world, no broker.
        self.assertEqual(glob.glob(os.path.join(out, "**", "*"), recursive=True), [])
        self.assertEqual(mosquittos_naming(self.dir), [])

        check_bad = self.run_elsim(["--check", bad_key, bad_actor, good])
        self.assertExit(check_bad, 2)
        self.assertIn(f"{bad_key}:6: unknown key 'colour' in the scenario",
                      check_bad.stdout.splitlines())
        self.assertRegex(check_bad.stdout, rf"(?m)^{re.escape(bad_actor)}:10: .*'m9'")
        self.assertIn("2 error(s) in 3 file(s)", check_bad.stdout)

        check_good = self.run_elsim(["--check", good])
        self.assertExit(check_good, 0)
        self.assertIn("1 scenario(s) OK", check_good.stdout)
        self.assertFalse(os.path.exists(out))

    def test_a_path_that_does_not_exist_exits_2_with_one_line(self):
        missing = self.path("no-such-folder", "x.yaml")
        for args in ([missing, "--out", self.path("out")], ["--check", missing]):
            proc = self.run_elsim(args)
            self.assertExit(proc, 2)
            said = (proc.stdout + proc.stderr).strip()
            self.assertNotIn("\n", said)
            self.assertIn(missing, said)
            self.assertIn("no such scenario file or folder", said)
        self.assertFalse(os.path.exists(self.path("out")))

    # 2. A failing scenario, its report, its JUnit entry, its kept world.
    def test_a_failing_step_is_reported_and_its_world_kept(self):
        self.write("claim/worlds/tiny.yaml", WORLD)
        world_ref = "world: worlds/tiny.yaml\n"
        self.write("claim/fails.yaml", scenario(
            "Expects a wrong answer.",
            "  - {name: the wrong answer, at: m1, send: AT+CONNECT, expect: OK 9 NOPE, "
            "within: 5s}\n", world=world_ref))
        self.write("claim/passes.yaml", scenario("Logs in.", LOGIN_STEP, world=world_ref))
        out = self.path("out")
        junit = self.path("out", "junit.xml")

        proc = self.run_elsim([self.path("claim"), "--out", out, "--junit", junit, "-j", "2"])
        self.assertExit(proc, 1)
        fail_lines = [l for l in proc.stdout.splitlines() if l.startswith("FAIL claim/fails ")]
        self.assertEqual(len(fail_lines), 1, proc.stdout)
        self.assertIn("step 'the wrong answer'", fail_lines[0])
        self.assertIn('expected "OK 9 NOPE"', fail_lines[0])
        self.assertIn('observed "OK 1 CONNECTED"', fail_lines[0])
        self.assertRegex(proc.stdout, r"(?m)^PASS claim/passes ")
        self.assertIn("2 scenarios: 1 passed, 1 failed, 0 errors", proc.stdout)

        # JUnit: well-formed, one testcase per scenario (the worlds/ folder is no scenario).
        root = ET.parse(junit).getroot()
        self.assertEqual(root.tag, "testsuite")
        self.assertEqual(root.get("tests"), "2")
        self.assertEqual(root.get("failures"), "1")
        cases = {case.get("name"): case for case in root.iter("testcase")}
        self.assertEqual(sorted(cases), ["claim/fails", "claim/passes"])
        failures = cases["claim/fails"].findall("failure")
        self.assertEqual(len(failures), 1)
        self.assertIn("the wrong answer", failures[0].get("message"))
        self.assertIn("OK 9 NOPE", failures[0].get("message"))
        self.assertRegex(cases["claim/fails"].findtext("system-out"), r"at>\s+AT\+CONNECT")
        self.assertEqual(cases["claim/passes"].findall("failure"), [])

        timeline = self.read("out", "claim", "fails.timeline.txt")
        self.assertRegex(timeline, r"m1\s+at>\s+AT\+CONNECT")
        self.assertRegex(timeline, r"m1\s+at<\s+OK 1 CONNECTED")
        result = json.loads(self.read("out", "claim", "fails.result.json"))
        self.assertEqual(result["outcome"], "FAIL")
        self.assertEqual(result["failure"]["step"], "the wrong answer")

        self.assertNotEqual(glob.glob(os.path.join(out, "claim", "fails.world", "accounts", "*",
                                                   "broker.log")), [])
        self.assertFalse(os.path.exists(self.path("out", "claim", "passes.world")))
        self.assertTrue(os.path.isfile(self.path("out", "claim", "passes.timeline.txt")))

    # 3. Seeds.
    def test_seed_is_printed_and_replays(self):
        self.write("seeds/login.yaml", scenario("Logs in.", LOGIN_STEP))
        first = self.run_elsim([self.path("seeds"), "--out", self.path("out1")])
        self.assertExit(first, 0)
        match = re.search(r"seed (\d+) \(replay with --seed \1\)", first.stdout)
        self.assertIsNotNone(match, first.stdout)
        seed = match.group(1)

        replay = self.run_elsim([self.path("seeds"), "--out", self.path("out2"), "--seed", seed])
        self.assertExit(replay, 0)
        self.assertIn(f"seed {seed} ", replay.stdout)
        other = self.run_elsim([self.path("seeds"), "--out", self.path("out3"),
                                "--seed", str(int(seed) + 1)])
        self.assertExit(other, 0)

        def seed_and_hosts(out):
            result = json.loads(self.read(out, "seeds", "login.result.json"))
            hosts = endpoint_hosts(self.read(out, "seeds", "login.timeline.txt"))
            self.assertEqual(len(hosts), 1)
            return result["seed"], hosts

        seed1, hosts1 = seed_and_hosts("out1")
        seed2, hosts2 = seed_and_hosts("out2")
        seed3, hosts3 = seed_and_hosts("out3")
        self.assertEqual(seed1, seed2)
        self.assertEqual(hosts1, hosts2)
        self.assertNotEqual(seed1, seed3)
        self.assertNotEqual(hosts1, hosts3)

    # 4. --filter and -j.
    def test_filter_and_jobs(self):
        for name in ("alpha", "beta", "gamma"):
            self.write(f"f/{name}.yaml", scenario(f"{name} logs in.", LOGIN_STEP))

        only_beta = self.run_elsim([self.path("f"), "--out", self.path("out1"),
                                    "--filter", "beta"])
        self.assertExit(only_beta, 0)
        self.assertEqual(re.findall(r"(?m)^PASS (\S+) ", only_beta.stdout), ["f/beta"])
        self.assertEqual(sorted(os.listdir(self.path("out1", "f"))),
                         ["beta.log", "beta.result.json", "beta.timeline.txt"])

        two = self.run_elsim([self.path("f"), "--out", self.path("out2"),
                              "--filter", "alpha", "--filter", "f/gam"])
        self.assertExit(two, 0)
        self.assertEqual(sorted(re.findall(r"(?m)^PASS (\S+) ", two.stdout)),
                         ["f/alpha", "f/gamma"])

        none = self.run_elsim([self.path("f"), "--out", self.path("out3"), "--filter", "zeta"])
        self.assertExit(none, 2)
        self.assertFalse(os.path.exists(self.path("out3")))

        all_three = self.run_elsim([self.path("f"), "--out", self.path("out4"), "-j", "2"])
        self.assertExit(all_three, 0)
        self.assertIn("running 3 scenario(s), 2 at a time", all_three.stdout)
        self.assertEqual(sorted(re.findall(r"(?m)^PASS (\S+) ", all_three.stdout)),
                         ["f/alpha", "f/beta", "f/gamma"])
        self.assertIn("3 scenarios: 3 passed, 0 failed, 0 errors", all_three.stdout)
        for name in ("alpha", "beta", "gamma"):
            result = json.loads(self.read("out4", "f", f"{name}.result.json"))
            self.assertEqual(result["outcome"], "PASS")

    # 5. The scenario's timeout.
    def test_timeout_ends_the_scenario_and_its_brokers(self):
        self.write("t/slow.yaml", scenario(
            "Sleeps past its timeout.",
            LOGIN_STEP + "  - {name: the long nap, sleep: 10s}\n", extra="timeout: 3s\n"))
        out = self.path("out")
        world_dir = os.path.join(out, "t", "slow.world")
        started = time.monotonic()
        proc = subprocess.Popen([ELSIM, "run", self.path("t"), "--out", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # While it runs, its world's broker is a mosquitto naming the world's directory (so the
        # check below that none is left would notice one).
        seen_broker = False
        while proc.poll() is None and time.monotonic() - started < 30:
            seen_broker = seen_broker or bool(mosquittos_naming(world_dir))
            time.sleep(0.1)
        stdout, stderr = proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
        self.assertEqual(proc.returncode, 1, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertTrue(seen_broker, "no mosquitto of the world was seen while it ran")
        # The scenario's own watchdog ends it (the runner's kill comes 20 s later).
        self.assertLess(elapsed, 3 + 5, stdout)
        self.assertGreaterEqual(elapsed, 3)
        self.assertRegex(stdout, r"(?m)^ERROR t/slow \(.*step 'the long nap'.*timeout")
        result = json.loads(self.read("out", "t", "slow.result.json"))
        self.assertEqual(result["outcome"], "ERROR")
        self.assertEqual(result["failure"]["step"], "the long nap")
        self.assertRegex(self.read("out", "t", "slow.timeline.txt"), r"at>\s+AT\+CONNECT")
        deadline = time.monotonic() + 5
        while mosquittos_naming(world_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(mosquittos_naming(world_dir), [])

    # 6. Worlds side by side.
    def test_two_runs_of_one_file_at_once_do_not_collide(self):
        file = self.write("p/together.yaml", scenario(
            "Logs in and stays a while.", LOGIN_STEP + "  - {name: stay, sleep: 1s}\n"))
        procs = [subprocess.Popen([ELSIM, "run", file, "--seed", "7",
                                   "--out", self.path(f"out{i}")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in (1, 2)]
        outputs = [proc.communicate(timeout=60) for proc in procs]
        for proc, (stdout, stderr) in zip(procs, outputs):
            self.assertEqual(proc.returncode, 0, f"stdout:\n{stdout}\nstderr:\n{stderr}")
            self.assertRegex(stdout, r"(?m)^PASS p/together ")
        timelines = [self.read(f"out{i}", "p", "together.timeline.txt") for i in (1, 2)]
        # One seed: the same endpoint names; leased addresses: different places.
        self.assertEqual(endpoint_hosts(timelines[0]), endpoint_hosts(timelines[1]))
        addresses = [set(endpoint_addresses(t)) for t in timelines]
        self.assertTrue(addresses[0] and addresses[1])
        self.assertFalse(addresses[0] & addresses[1], addresses)

    # A file named relative to the working directory.
    def test_a_bare_file_name_gets_its_folder_in_the_id(self):
        self.write("here/login.yaml", scenario("Logs in.", LOGIN_STEP))
        os.makedirs(self.path("here", "below"))
        for i, (cwd, name) in enumerate([("here", "login.yaml"), ("here", "./login.yaml"),
                                         (os.path.join("here", "below"), "../login.yaml")]):
            out = self.path(f"out{i}")
            proc = self.run_elsim([name, "--out", out], cwd=self.path(cwd))
            self.assertExit(proc, 0)
            self.assertRegex(proc.stdout, r"(?m)^PASS here/login ")
            self.assertTrue(os.path.isfile(os.path.join(out, "here", "login.result.json")),
                            name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
