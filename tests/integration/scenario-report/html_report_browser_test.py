#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The HTML report in a real browser.

Runs a passing and a failing scenario with `elsim run --html`, then opens the index and both
scenario pages in headless Chromium, driven over the DevTools protocol on a pipe (no port, no
network), and checks: no console errors, exceptions or blocked fetches on any page; the failed
page shows the failed step with expected, observed and its reason, and opens scrolled to it;
the passed page has no failure; the index filters by status. Screenshots are written to the
output folder.

Usage: html_report_browser_test.py ELSIM SCENARIO_DIR OUT_DIR
Fails (never skips) when Chromium is missing: scripts/setup-deps --with-test-tools installs it.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("ELSIM_CHROMIUM", "/usr/bin/chromium")
FAILING = "scenarios/an-oem-without-the-makers-ca-is-expected-to-connect"
PASSING = "scenarios/a-module-logs-in-to-staging"


class Browser:
    """Headless Chromium with the DevTools protocol on fds 3 (to it) and 4 (from it)."""

    def __init__(self, profile):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's fds 3 and 4 must be the pipe ends, whatever numbers they have here:
        # move them out of the way, onto 3 and 4, then close everything else above stdio.
        def wire():
            reader = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 100)
            writer = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 100)
            os.dup2(reader, 3)
            os.dup2(writer, 4)
            os.closerange(5, os.sysconf("SC_OPEN_MAX"))

        self._proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--remote-debugging-pipe", "--user-data-dir=" + str(profile),
             "--window-size=1280,900", "about:blank"],
            close_fds=False, preexec_fn=wire,
            start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)  # its own session: the browser's processes
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_browser], [], [], 0.2)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None, timeout=20):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method, session, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))


def open_page(browser, url):
    """A new tab at `url`, loaded; returns its session and the problems it reported."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        browser.call(domain + ".enable", session=session)
    browser.events.clear()
    browser.call("Page.navigate", {"url": url}, session=session)
    browser.wait_event("Page.loadEventFired", session)
    evaluate(browser, session, "new Promise(r => setTimeout(r, 200))")
    problems = []
    for event in browser.events:
        if event.get("sessionId") != session:
            continue
        params = event.get("params", {})
        if event["method"] == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            problems.append("console: " + json.dumps(params.get("args")))
        elif event["method"] == "Runtime.exceptionThrown":
            problems.append("exception: " + json.dumps(params["exceptionDetails"]))
        elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
            problems.append("log: " + params["entry"].get("text", ""))
    return session, problems


def evaluate(browser, session, expression):
    result = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                               "awaitPromise": True}, session=session)
    if "exceptionDetails" in result:
        raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
    return result["result"].get("value")


def screenshot(browser, session, path):
    data = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    path.write_bytes(base64.b64decode(data))


def main():
    elsim, scenarios, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    if not os.access(CHROMIUM, os.X_OK):
        print(f"FAIL: {CHROMIUM} is missing; scripts/setup-deps --with-test-tools installs it")
        return 1
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    html = out / "html"
    run = subprocess.run([str(elsim), "run", str(scenarios), "--out", str(out / "results"),
                          "--html", str(html), "-j", "2", "--seed", "1"],
                         capture_output=True, text=True, timeout=150)
    print(run.stdout, run.stderr)
    failures = []

    def check(condition, what):
        print(("ok   " if condition else "FAIL ") + what)
        if not condition:
            failures.append(what)

    check(run.returncode == 1, "elsim run exits 1 (one scenario fails on purpose)")
    check((html / "index.html").is_file(), "index.html written")
    profile = Path(tempfile.mkdtemp(prefix="elsim-chromium-"))
    browser = Browser(profile)
    try:
        started = time.monotonic()
        session, problems = open_page(browser, (html / "index.html").as_uri())
        check(not problems, "index: no console errors " + repr(problems))
        check(evaluate(browser, session, "document.querySelectorAll('tbody tr').length") == 2,
              "index lists both scenarios")
        shown = evaluate(browser, session, """(() => {
            const s = document.getElementById('st'); s.value = 'FAIL';
            s.dispatchEvent(new Event('change'));
            return [...document.querySelectorAll('tbody tr')].filter(r => !r.hidden)
                .map(r => r.dataset.id); })()""")
        check(shown == [FAILING], "index: the status filter keeps only the failure " + repr(shown))
        screenshot(browser, session, out / "index.png")

        session, problems = open_page(browser, (html / (FAILING + ".html")).as_uri())
        check(not problems, "failed page: no console errors " + repr(problems))
        failed = evaluate(browser, session, """(() => {
            const f = document.getElementById('failed');
            if (!f) return null;
            const r = f.getBoundingClientRect();
            return {text: f.innerText, banner: document.getElementById('failure').innerText,
                    top: r.top, bottom: r.bottom, height: innerHeight, scrolled: scrollY,
                    lifelines: [...document.querySelectorAll('.hd .p b')].map(b => b.textContent),
                    repeats: [...document.querySelectorAll('.x')].map(x => x.textContent),
                    serial: [...document.querySelectorAll('a.serial')].map(a => a.href)}; })()""")
        check(failed is not None, "failed page: the failed step is in the DOM (#failed)")
        failed = failed or {}
        text = failed.get("text", "")
        check("OEM connect" in text, "failed page: the failed step's name")
        check('expected "OK 1 CONNECTED"' in text and "observed \"ERR14 4 UNABLE TO CONNECT"
              in text, "failed page: expected vs observed in the failed row")
        banner = failed.get("banner", "")
        check("Expected" in banner and "Observed" in banner and "(line 21)" in banner,
              "failed page: banner with expected, observed and the step's line")
        check(failed.get("scrolled", 0) > 0 and 0 <= failed.get("top", -1) and
              failed.get("bottom", 1e9) <= failed.get("height", 0),
              "failed page: opens scrolled to the failed step " + repr(
                  {k: failed.get(k) for k in ("top", "bottom", "height", "scrolled")}))
        check(failed.get("lifelines") == ["runner", "m1", "portal-b", "staging", "oem-b"],
              "failed page: a lifeline per participant " + repr(failed.get("lifelines")))
        check(any(r.startswith("\u00d7") and int(r[1:]) >= 2 for r in failed.get("repeats", [])),
              "failed page: the back-off answers are collapsed with a count " +
              repr(failed.get("repeats")))
        serial = failed.get("serial", [])
        check(len(serial) == 1 and serial[0].endswith(".m1.serial.log"),
              "failed page: the module's serial log is linked")
        log = (html / (FAILING + ".m1.serial.log")).read_text()
        check("> AT+CONNECT\n" in log and "< ERR14 4 UNABLE TO CONNECT" in log,
              "the serial log has the AT lines sent and answered")
        screenshot(browser, session, out / "failed.png")

        session, problems = open_page(browser, (html / (PASSING + ".html")).as_uri())
        check(not problems, "passed page: no console errors " + repr(problems))
        check(evaluate(browser, session, "document.getElementById('failed')") is None,
              "passed page: no failed step")
        check(evaluate(browser, session,
                       "document.body.innerText.includes('AT+CONNECT')") is True,
              "passed page: the AT lines are drawn")
        screenshot(browser, session, out / "passed.png")
        print(f"three pages checked in {time.monotonic() - started:.2f} s")
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    for name in ("index.png", "failed.png", "passed.png"):
        check((out / name).is_file() and (out / name).stat().st_size > 1000,
              "screenshot " + str(out / name))
    shutil.rmtree(out / "results", ignore_errors=True)  # worlds and timelines; keep the report
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
