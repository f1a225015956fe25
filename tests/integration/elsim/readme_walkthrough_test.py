#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs the README's walkthrough (onboarding by claim, by hand) exactly as written.

The commands are extracted from README.md's "Walkthrough" section, not copied here, so the
README cannot drift from the code. ```sh blocks run in order in one bash (variables and the
background module carry over), with `/tmp/` replaced by a fresh temporary directory and the built
elsim first on PATH; every command must exit 0. A `screen PTY 115200` line is what a person does
by hand: the test opens that pty with pyserial at 115200 instead. ```text blocks are the terminal
session: `> LINE` is sent, `< LINE` is the answer expected. An `AT+CONNECT` expected to answer
`OK 1 CONNECTED` is repeated while it answers ERR14 (JITP closes a new certificate's first
connection; the README says to repeat it).

Usage: readme_walkthrough_test.py ELSIM_EXECUTABLE README.md
Exit 77 (skipped) without jq or the AWS CLI.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import serial  # python3-serial

from cli_support import report

ELSIM = os.path.abspath(sys.argv[1])
README = sys.argv[2]
SENTINEL = "__walkthrough_rc="


def walkthrough_blocks(text):
    """(language, [lines]) of each fenced block of the Walkthrough section, in order."""
    start = text.index("\n## Walkthrough")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    return [(lang, body.strip("\n").splitlines())
            for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S)]


class Shell:
    """One bash for every command: variables and background jobs carry over."""

    def __init__(self, env):
        self.proc = subprocess.Popen(["bash"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)

    def run(self, command, timeout=90):
        self.proc.stdin.write(command + f"\necho {SENTINEL}$?\n")
        self.proc.stdin.flush()
        output = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith(SENTINEL):
                return int(line[len(SENTINEL):]), "".join(output)
            output.append(line)
        return -1, "".join(output) + "(no end of command within the timeout)"

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Terminal:
    """The module's pty at 115200 baud, as screen would open it."""

    def __init__(self, path):
        self.port = serial.Serial(path, 115200, timeout=0.2)

    def command(self, line, timeout=30):
        self.port.reset_input_buffer()
        self.port.write((line + "\r\n").encode())
        deadline = time.monotonic() + timeout
        buffer = b""
        while time.monotonic() < deadline:
            buffer += self.port.read(256)
            if b"\n" in buffer:
                return buffer.split(b"\n")[0].decode().strip()
        return "(no answer)"


def main():
    if not shutil.which("jq") or not os.path.exists("/usr/bin/aws"):
        print("jq or the AWS CLI is missing: skipped")
        return 77
    with open(README) as f:
        blocks = walkthrough_blocks(f.read())
    failures = []
    with tempfile.TemporaryDirectory(prefix="elsim-walkthrough-") as tmp:
        env = dict(os.environ, PATH=os.path.dirname(ELSIM) + ":" + os.environ["PATH"])
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            env.pop(key, None)
        shell = Shell(env)
        terminal = None
        try:
            for lang, lines in blocks:
                if failures:
                    break
                if lang == "sh":
                    for raw in lines:
                        command = raw.replace("/tmp/", tmp + "/")
                        pty_file = re.match(r"^screen \$\(cat (\S+)\) 115200$", command)
                        if pty_file:
                            with open(pty_file.group(1)) as f:
                                terminal = Terminal(f.read().strip())
                            print(f"$ {raw}   (opened with pyserial)")
                            continue
                        rc, out = shell.run(command)
                        print(f"$ {raw}\n{out}", end="")
                        if rc != 0:
                            failures.append(f"`{raw}` exited {rc}: {out}")
                            break
                elif lang == "text":
                    if terminal is None:
                        failures.append("an AT session before the module's pty was opened")
                        break
                    sent = None
                    for line in lines:
                        if line.startswith("> "):
                            sent = line[2:]
                            continue
                        expected = line[2:]
                        answer = terminal.command(sent)
                        deadline = time.monotonic() + 60
                        while (sent == "AT+CONNECT" and expected == "OK 1 CONNECTED"
                               and answer.startswith("ERR14") and time.monotonic() < deadline):
                            print(f"> {sent}\n< {answer}   (repeated, as the README says)")
                            time.sleep(2)
                            answer = terminal.command(sent)
                        print(f"> {sent}\n< {answer}")
                        if answer != expected:
                            failures.append(f"{sent}: answered {answer!r}, README says "
                                            f"{expected!r}")
                            break
        finally:
            if terminal is not None:
                terminal.port.close()
            shell.run(f"elsim world down --dir {tmp}/w >/dev/null 2>&1; "
                      "kill %1 >/dev/null 2>&1; true", timeout=30)
            shell.close()
    ran = sum(1 for lang, _ in blocks if lang in ("sh", "text"))
    check_blocks = ran >= 6
    if not check_blocks:
        failures.append(f"the README's walkthrough has {ran} blocks; expected at least 6")
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
