#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Field transcripts into scenarios, end to end: a transcript recorded from the software
module (the serial log `elsim run --html` writes for a module, in the `> `/`< ` form a host's
serial log has) becomes a scenario with `elsim scenario from-transcript`; played in a fresh
world it passes. The same transcript with one answer the world cannot reproduce fails at the
step of that line, saying what was expected and what was observed.

Usage: transcript_test.py ELSIM_EXECUTABLE SCENARIOS_DIR
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SCENARIOS = os.path.abspath(sys.argv.pop(2)) if len(sys.argv) > 2 else "scenarios"
ELSIM = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "elsim"

# A host that onboards its module by claim, as the OEM guide tells it.
RECORDED = """\
description: A host onboards its module by claim; its serial log is the field transcript.
world: ../worlds/oem-guide.yaml
actors:
  m1: {module: acme}
  portal: {claim-thing: oem-a}
steps:
  - {at: m1, send: AT+CONNECT, expect: OK 1 CONNECTED}
  - {at: m1, send: "AT+CONNECT?", expect: OK 1 0 CONNECTED STAGING}
  - {claim: {by: portal, module: m1, endpoint: oem-a}}
  - {event: m1, expect: CONLOST}
  - {at: m1, send: AT+CONNECT, retry-while: "/^ERR14 [14] /", expect: OK 1 CONNECTED, within: 30s}
  - {at: m1, send: "AT+CONNECT?", expect: OK 1 1 CONNECTED CUSTOMER}
  - {at: m1, send: "AT+CONF? Endpoint", expect: "OK ${oem-a.endpoint}"}
  - {at: m1, send: "AT+CONF Topic1=${m1.thingName}/data", expect: OK}
  - {at: m1, send: AT+SEND1 hello, expect: OK}
"""


def run(*args, cwd=None, timeout=120):
    return subprocess.run([ELSIM, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


class FromTranscriptTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="elsim-transcript-")
        # The scenarios and their worlds side by side, as in the project's scenarios/ folder.
        shutil.copytree(os.path.join(SCENARIOS, "worlds"), os.path.join(self.dir, "worlds"))
        os.makedirs(os.path.join(self.dir, "field"))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def record(self):
        """Plays RECORDED with --html and returns the module's serial log."""
        path = os.path.join(self.dir, "field", "recorded.yaml")
        with open(path, "w") as f:
            f.write(RECORDED)
        out = os.path.join(self.dir, "out-recorded")
        result = run("run", path, "--out", out, "--html", os.path.join(out, "html"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        logs = glob.glob(os.path.join(out, "html", "field", "recorded.m1.serial.log"))
        self.assertEqual(len(logs), 1, os.listdir(os.path.join(out, "html")))
        with open(logs[0]) as f:
            return f.read()

    def convert(self, transcript, name):
        log = os.path.join(self.dir, name + ".log")
        with open(log, "w") as f:
            f.write(transcript)
        out = os.path.join(self.dir, "field", name + ".yaml")
        result = run("scenario", "from-transcript", log, "-o", out,
                     "--world", os.path.join(self.dir, "worlds", "oem-guide.yaml"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("step(s)", result.stdout)
        return out

    def test_a_recorded_transcript_replays_and_passes(self):
        transcript = self.record()
        self.assertIn("> AT+CONNECT", transcript)
        scenario = self.convert(transcript, "replay")
        with open(scenario) as f:
            text = f.read()
        self.assertIn("claim: {by: portal, module: m1, endpoint: oem-a}", text)
        self.assertIn("${m1.thingName}", text)
        result = run("run", scenario, "--out", os.path.join(self.dir, "out-replay"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("PASS field/replay", result.stdout)

    def test_an_answer_the_world_cannot_give_fails_at_its_line(self):
        transcript = self.record()
        # The host saw the OEM account refuse the module for good: not what this world does.
        # The line changed is the answer to the AT+CONNECT that reached the OEM account.
        lines = transcript.splitlines()
        index = next(i for i, line in enumerate(lines) if line.endswith("< OK 1 CONNECTED")
                     and i > 0 and lines[i - 1].endswith("> AT+CONNECT") and "CUSTOMER" in
                     "".join(lines[i:i + 3]))
        lines[index] = re.sub(r"< .*$", "< ERR14 5 UNABLE TO CONNECT Access denied", lines[index])
        changed_line = index + 1
        scenario = self.convert("\n".join(lines) + "\n", "tampered")
        result = run("run", scenario, "--out", os.path.join(self.dir, "out-tampered"))
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        fail = [line for line in result.stdout.splitlines() if line.startswith("FAIL field/tampered")]
        self.assertEqual(len(fail), 1, result.stdout)
        self.assertIn(f"step 'line {changed_line - 1}: ", fail[0])
        self.assertIn('expected "ERR14 5 UNABLE TO CONNECT Access denied", observed "OK 1',
                      fail[0])

    def test_bad_input_writes_nothing(self):
        log = os.path.join(self.dir, "nothing.log")
        with open(log, "w") as f:
            f.write("boot banner\nno commands here\n")
        out = os.path.join(self.dir, "field", "nothing.yaml")
        result = run("scenario", "from-transcript", log, "-o", out,
                     "--world", os.path.join(self.dir, "worlds", "oem-guide.yaml"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("nothing.log: no AT command found", result.stderr)
        self.assertFalse(os.path.exists(out))
        missing = run("scenario", "from-transcript", os.path.join(self.dir, "absent.log"))
        self.assertEqual(missing.returncode, 2)
        self.assertEqual(len(missing.stderr.strip().splitlines()), 1, missing.stderr)


if __name__ == "__main__":
    unittest.main()
