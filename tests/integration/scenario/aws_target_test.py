#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`elsim run --target aws` proved offline: a local world stands in for AWS, reached only the
way real accounts are reached.

The stand-in: a world whose OEM accounts verify every control-plane request's SigV4 signature
with a secret only the test's credentials file holds (elsim world up --signing-secret-file);
accounts.yaml names the accounts by id, with a credentials profile each, the world's root CA as
the "Amazon root CA" file, the staging endpoint and an OEM claim-thing (certificate, key, UUID)
the test registered as the OEM guide's Appendix A says. Every control-plane request of the run
goes through a recording proxy (endpoint-url), which forwards the bytes unchanged.

What is proved:
  * the bundled onboarding-by-claim scenario passes against the stand-in; the staging registry
    assertion is skipped with its reason (timeline, JUnit); the data endpoints come from
    DescribeEndpoint; every request the runner sent is an AWS IoT operation of the botocore
    model (no elsim-private path) and signed (an unsigned request is refused);
  * the account holds afterwards exactly what it held before (everything the run created,
    named with the run prefix and tagged, is deleted);
  * an account id in accounts.yaml that the credentials do not act in: the run refuses, and
    leaves nothing;
  * --keep leaves the resources; `elsim aws cleanup --dry-run` lists them and changes nothing;
    `elsim aws cleanup` deletes them but not a policy with the run's prefix that the run did
    not create (no tag): it says so and exits 1;
  * Ctrl-C (SIGINT to the process group) after the set-up: the scenario stops between steps,
    is ERROR "interrupted", and the account again holds exactly what it held before;
  * a `requires: sim` scenario is SKIP (exit 0), JUnit <skipped>;
  * --compare-with an offline run's results finds no step that differs (the stand-in answers
    as the offline world does);
  * --modules: a linked module (`elsim module --tcp`) plays the module actor with its own birth
    certificate and factory Endpoint; what JITP created for it is deleted at the end, as the
    account did not hold it before; --module-hosts is refused against AWS.

Usage: aws_target_test.py ELSIM_EXECUTABLE SCENARIOS_DIR
"""
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

ELSIM = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "elsim"
SCENARIOS = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "scenarios"
MODEL = "/usr/lib/python3/dist-packages/awscli/botocore/data/iot/2015-05-28/service-2.json"
SCENARIO = os.path.join(SCENARIOS, "claim", "onboard-by-claim-step-by-step.yaml")


class Recorder(http.server.BaseHTTPRequestHandler):
    """Forwards each request unchanged to the account's control plane and records it."""
    target = None  # (host, port)
    log = None

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.log.append({"method": self.command, "path": self.path,
                         "signed": "Authorization" in self.headers})
        conn = http.client.HTTPConnection(*self.target, timeout=30)
        headers = {k: v for k, v in self.headers.items()}
        conn.request(self.command, self.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for k, v in reply.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, *args):  # quiet
        pass


def read(path):
    with open(path) as f:
        return f.read()


def model_operations():
    """(method, path regex) of every operation of the AWS IoT service model."""
    with open(MODEL) as f:
        model = json.load(f)
    out = []
    for name, op in model["operations"].items():
        uri = op["http"]["requestUri"].split("?")[0]
        pattern = re.sub(r"\{[^}+]+\+\}", ".+", uri)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
        out.append((name, op["http"]["method"], re.compile("^" + pattern + "$")))
    return out


class AwsTargetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="elsim-aws-target-")
        cls.world = os.path.join(cls.tmp, "w")
        cls.secret = secrets.token_hex(16)
        secret_file = os.path.join(cls.tmp, "secret")
        with open(secret_file, "w") as f:
            f.write(cls.secret + "\n")
        cls.run_cmd(["world", "up", "--config", os.path.join(SCENARIOS, "worlds", "oem-guide.yaml"),
                     "--dir", cls.world, "--signing-secret-file", secret_file, "--explain"],
                    check=True)
        with open(os.path.join(cls.world, "world.json")) as f:
            cls.state = json.load(f)
        cls.accounts = {a["name"]: a for a in cls.state["accounts"]}
        # Credentials as the AWS CLI reads them: a profile per OEM account.
        cls.credentials = os.path.join(cls.tmp, "credentials")
        with open(cls.credentials, "w") as f:
            for name in ("oem-a", "oem-b"):
                f.write(f"[qa-{name}]\naws_access_key_id = {cls.accounts[name]['accountId']}\n"
                        f"aws_secret_access_key = {cls.secret}\n")
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cls.env["AWS_SHARED_CREDENTIALS_FILE"] = cls.credentials
        cls.env["AWS_PAGER"] = ""
        # The OEM's claim-thing (Appendix A): a claim certificate INACTIVE in its account, and
        # registered with staging by the staging operator.
        ids = os.path.join(cls.tmp, "ids")
        cls.run_cmd(["world", "identities", "--world", cls.world, "--count", "1", "--dir", ids],
                    check=True)
        cls.claim_cert = os.path.join(ids, "claim", "cert.pem")
        cls.aws("oem-a", ["register-certificate-without-ca", "--certificate-pem",
                          "file://" + cls.claim_cert, "--status", "INACTIVE"])
        uuid = cls.run_cmd(["staging", "register-oem", "--world", cls.world, "--name", "QA",
                            "--certificate", cls.claim_cert], check=True).stdout.strip()
        # The recording proxies, one per OEM account, on the account's own leased address.
        cls.log = []
        cls.proxies = {}
        for name in ("oem-a", "oem-b"):
            url = cls.accounts[name]["controlPlaneUrl"]
            host, port = url.split("//")[1].split(":")
            handler = type("H" + name.replace("-", ""), (Recorder,),
                           {"target": (host, int(port)), "log": cls.log})
            server = http.server.ThreadingHTTPServer((host, 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            cls.proxies[name] = server
        staging = cls.accounts["staging"]
        staging_endpoint = staging["endpoint"] + (
            "" if staging["mqttPort"] == 8883 else ":" + str(staging["mqttPort"]))
        pki = os.path.join(cls.world, "pki")
        cls.accounts_yaml = os.path.join(cls.tmp, "accounts.yaml")
        lines = [f"ca-file: {cls.state['serverCaFile']}", "accounts:"]
        for name in ("oem-a", "oem-b"):
            proxy = cls.proxies[name].server_address
            lines += [f"  {name}:", f"    account-id: \"{cls.accounts[name]['accountId']}\"",
                      "    region: us-east-1", f"    profile: qa-{name}",
                      f"    endpoint-url: http://{proxy[0]}:{proxy[1]}"]
        lines[-1:-1] = []
        lines.insert(lines.index("  oem-b:"),
                     f"    claim-thing: {{certificate: {cls.claim_cert}, key: "
                     f"{os.path.join(ids, 'claim', 'private.key')}, uuid: {uuid}}}")
        lines += ["  staging:", f"    staging-endpoint: {staging_endpoint}",
                  "manufacturers:",
                  f"  acme: {{ca-certificate: {pki}/manufacturers/acme-ca.pem, "
                  f"ca-key: {pki}/manufacturers/acme-ca.key}}",
                  "hosts:"]
        lines += [f"  {a['endpoint']}: {a['address']}" for a in cls.state["accounts"]]
        with open(cls.accounts_yaml, "w") as f:
            f.write("\n".join(lines) + "\n")

    @classmethod
    def tearDownClass(cls):
        for server in cls.proxies.values():
            server.shutdown()
            server.server_close()
        cls.run_cmd(["world", "down", "--dir", cls.world])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def run_cmd(cls, args, check=False, timeout=240):
        result = subprocess.run([ELSIM] + args, capture_output=True, text=True, timeout=timeout,
                                env=getattr(cls, "env", None), cwd=cls.tmp)
        if check and result.returncode != 0:
            raise AssertionError(f"elsim {' '.join(args)}: {result.returncode}\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    @classmethod
    def aws(cls, account, args, check=True):
        """The AWS CLI, signed with the account's profile, straight to its control plane."""
        result = subprocess.run(
            ["aws", "iot"] + args + ["--endpoint-url", cls.accounts[account]["controlPlaneUrl"],
                                     "--region", "us-east-1", "--profile", "qa-" + account,
                                     "--output", "json"],
            capture_output=True, text=True, timeout=60, env=cls.env)
        if check and result.returncode != 0:
            raise AssertionError(f"aws iot {args}: {result.stderr}")
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def snapshot(self, account):
        """What the account holds: names and ids of every kind a scenario creates."""
        return {
            "things": sorted(t["thingName"] for t in self.aws(account, ["list-things"])["things"]),
            "certificates": sorted(c["certificateId"] for c in
                                   self.aws(account, ["list-certificates"])["certificates"]),
            "cas": sorted(c["certificateId"] for c in
                          self.aws(account, ["list-ca-certificates"])["certificates"]),
            "policies": sorted(p["policyName"] for p in
                               self.aws(account, ["list-policies"])["policies"]),
            "templates": sorted(t["templateName"] for t in
                                self.aws(account, ["list-provisioning-templates"])["templates"]),
        }

    def run_aws(self, out, *extra, scenario=SCENARIO, accounts=None):
        return self.run_cmd(["run", "--target", "aws", "--accounts", accounts or self.accounts_yaml,
                             "--out", os.path.join(self.tmp, out), *extra, scenario])

    def test_7_a_linked_module_plays_the_module_actor(self):
        """A module reached over a link (here `elsim module --tcp`, as a real module behind a
        serial-to-TCP bridge) plays m1 against the stand-in: its own birth certificate, its own
        factory Endpoint; nothing of the module is made by the runner."""
        ids = os.path.join(self.tmp, "linked-ids")
        self.run_cmd(["world", "identities", "--world", self.world, "--count", "1", "--dir", ids],
                     check=True)
        identity = os.path.join(ids, "modules", sorted(os.listdir(os.path.join(ids, "modules")))[0])
        module = subprocess.Popen(
            [ELSIM, "--log-level", "warn", "module", "--world", self.world, "--identity", identity,
             "--tcp", "0", "--tcp-host", self.accounts["staging"]["address"]],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            where = module.stdout.readline().strip()
            self.assertRegex(where, r"^[0-9.]+:[0-9]+$")
            before = self.snapshot("oem-a")
            result = self.run_aws("linked", "--modules", f"m1=tcp:{where}")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn("PASS claim/onboard-by-claim-step-by-step", result.stdout)
            timeline = read(os.path.join(self.tmp, "linked", "claim",
                                         "onboard-by-claim-step-by-step.timeline.txt"))
            self.assertIn("linked module against AWS: factory Endpoint", timeline)
            self.assertIn("AT+FACTORY_RESET", timeline)
            self.assertNotIn("not created", timeline)
            self.assertIn(os.path.basename(identity), timeline)
            self.assertEqual(self.snapshot("oem-a"), before)
            # Local-world shaping options make no sense against AWS.
            refused = self.run_aws("linked-bad", "--modules", f"m1=tcp:{where}",
                                   "--module-hosts", os.path.join(self.tmp, "hosts.json"))
            self.assertEqual(refused.returncode, 2)
            self.assertIn("--module-hosts", refused.stderr)
        finally:
            module.terminate()
            module.wait(timeout=10)

    def test_1_scenario_passes_and_the_account_is_left_as_it_was(self):
        before = {name: self.snapshot(name) for name in ("oem-a", "oem-b")}
        self.log.clear()
        junit = os.path.join(self.tmp, "junit.xml")
        result = self.run_aws("run1", "--junit", junit)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"target aws: run prefix elsim-[0-9a-f]{6};")
        self.assertIn("PASS claim/onboard-by-claim-step-by-step", result.stdout)
        timeline = read(os.path.join(self.tmp, "run1", "claim",
                                     "onboard-by-claim-step-by-step.timeline.txt"))
        self.assertRegex(timeline, r"skip\s+staging created its thing: sim-only: registry "
                                   r"assertions need the account's control plane")
        self.assertIn("clean-up done", timeline)
        self.assertRegex(timeline, r"deleted policy elsim-[0-9a-f]{6}-ExpressLinkDevicePolicy")
        self.assertIn("system-out", read(junit))
        # Only AWS IoT operations of the botocore model, all signed; DescribeEndpoint among them.
        operations = model_operations()
        seen = set()
        for request in self.log:
            path = request["path"].split("?")[0]
            names = [n for n, m, p in operations if m == request["method"] and p.match(path)]
            self.assertTrue(names, f"not an AWS IoT operation: {request}")
            self.assertTrue(request["signed"], request)
            seen.update(names)
        self.assertIn("DescribeEndpoint", seen)
        self.assertIn("RegisterCACertificate", seen)
        self.assertIn("DeleteCACertificate", seen)
        # Verification is on: an unsigned request is refused.
        url = self.accounts["oem-a"]["controlPlaneUrl"].split("//")[1].split(":")
        conn = http.client.HTTPConnection(url[0], int(url[1]), timeout=10)
        conn.request("GET", "/things")
        self.assertEqual(conn.getresponse().status, 403)
        conn.close()
        after = {name: self.snapshot(name) for name in ("oem-a", "oem-b")}
        self.assertEqual(after, before)

    def test_2_credentials_of_another_account_are_refused(self):
        before = self.snapshot("oem-a")
        wrong = os.path.join(self.tmp, "wrong.yaml")
        text = read(self.accounts_yaml).replace(
            f"account-id: \"{self.accounts['oem-a']['accountId']}\"",
            "account-id: \"999999999999\"")
        with open(wrong, "w") as f:
            f.write(text)
        result = self.run_aws("run2", accounts=wrong)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("accounts.oem-a.account-id is 999999999999, but its credentials act in "
                      f"account '{self.accounts['oem-a']['accountId']}': refused", result.stdout)
        self.assertEqual(self.snapshot("oem-a"), before)

    def test_3_keep_then_cleanup_deletes_only_what_the_run_created(self):
        before = self.snapshot("oem-a")
        prefix = "elsim-test3"
        # A policy with the run's prefix that the run does not create (no tag).
        self.aws("oem-a", ["create-policy", "--policy-name", prefix + "-foreign",
                           "--policy-document",
                           '{"Version":"2012-10-17","Statement":[{"Effect":"Deny",'
                           '"Action":"iot:*","Resource":"*"}]}'])
        result = self.run_aws("run3", "--keep", "--run-prefix", prefix)
        self.assertEqual(result.returncode, 0, result.stdout)
        kept = self.snapshot("oem-a")
        self.assertIn(prefix + "-ExpressLinkDevicePolicy", kept["policies"])
        self.assertIn(prefix + "-ExpressLinkJitpTemplate", kept["templates"])
        ledgers = os.path.join(self.tmp, "run3")
        dry = self.run_cmd(["aws", "cleanup", "--accounts", self.accounts_yaml, "--prefix", prefix,
                            "--ledgers", ledgers, "--dry-run"])
        self.assertIn("would delete policy " + prefix + "-ExpressLinkDevicePolicy in oem-a",
                      dry.stdout)
        self.assertEqual(self.snapshot("oem-a"), kept)
        done = self.run_cmd(["aws", "cleanup", "--accounts", self.accounts_yaml, "--prefix",
                             prefix, "--ledgers", ledgers])
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn(f"not deleted: policy {prefix}-foreign in oem-a: no tag elsim-run={prefix}",
                      done.stdout)
        after = self.snapshot("oem-a")
        self.assertEqual(after["policies"], sorted(before["policies"] + [prefix + "-foreign"]))
        for kind in ("things", "certificates", "cas", "templates"):
            self.assertEqual(after[kind], before[kind], kind)
        self.aws("oem-a", ["delete-policy", "--policy-name", prefix + "-foreign"])
        bad = self.run_cmd(["aws", "cleanup", "--accounts", self.accounts_yaml, "--prefix", "prod"])
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--prefix: 'prod' is not a run prefix", bad.stderr)

    def test_4_requires_sim_is_skipped(self):
        path = os.path.join(self.tmp, "sim-only", "clock.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("description: needs the emulator\nrequires: sim\n"
                    "world: {region: us-east-1, accounts: [{name: oem-a, kind: oem}]}\n"
                    "steps:\n  - {sleep: 1s}\n")
        junit = os.path.join(self.tmp, "junit4.xml")
        result = self.run_aws("run4", "--junit", junit, scenario=path)
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("SKIP sim-only/clock", result.stdout)
        case = ET.parse(junit).getroot().find("testcase")
        self.assertIsNotNone(case.find("skipped"))

    def test_5_compare_with_an_offline_run(self):
        offline = self.run_cmd(["run", "--out", os.path.join(self.tmp, "offline"), SCENARIO])
        self.assertEqual(offline.returncode, 0, offline.stdout)
        result = self.run_aws("run5", "--compare-with", os.path.join(self.tmp, "offline"))
        self.assertEqual(result.returncode, 0, result.stdout)
        # The stand-in answers as the offline world does: no step differs.
        self.assertRegex(result.stdout, r"compared with .*offline: 0 difference\(s\)")

    def test_6_ctrl_c_stops_between_steps_and_cleans_up(self):
        before = self.snapshot("oem-a")
        out = os.path.join(self.tmp, "run6")
        ledger = os.path.join(out, "claim", "onboard-by-claim-step-by-step.aws-ledger.jsonl")
        process = subprocess.Popen(
            [ELSIM, "run", "--target", "aws", "--accounts", self.accounts_yaml, "--out", out,
             SCENARIO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=self.env, cwd=self.tmp, start_new_session=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                if os.path.exists(ledger) and "ExpressLinkJitpTemplate" in read(ledger):
                    break
                time.sleep(0.05)
            else:
                self.fail("the run never created its template")
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole process group
            output, _ = process.communicate(timeout=180)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.assertEqual(process.returncode, 1, output)
        self.assertIn("interrupted", output)
        self.assertEqual(self.snapshot("oem-a"), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
