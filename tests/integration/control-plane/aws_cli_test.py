#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The real AWS CLI v2 (/usr/bin/aws) against `elsim account serve`, unmodified but for
--endpoint-url and dummy credentials: the onboarding commands, their error cases
(exit 254 with the AWS error name), a SIGKILL restart that must lose nothing, and SigV4
verification with a right and a wrong secret.

Usage: aws_cli_test.py --elsim PATH/TO/elsim
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

AWS = "/usr/bin/aws"
ACCOUNT = "123456789012"
REGION = "us-east-1"


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


class Server:
    """`elsim account serve` on a free loopback port (port 0: the OS picks)."""

    def __init__(self, elsim, state_dir, extra=()):
        self.log_path = os.path.join(os.path.dirname(state_dir), "server-%d.log" % time.time_ns())
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [elsim, "account", "serve", "--dir", state_dir, "--listen", "127.0.0.1:0",
             "--account", ACCOUNT, *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + 20
        self.endpoint = None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.match(r"elsim account: listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.endpoint = m.group(1)
                break
        if self.endpoint is None:
            self.stop()
            raise Failure("server did not print its ready line; log:\n" + open(self.log_path).read())

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Cli:
    def __init__(self, home):
        self.env = dict(os.environ)
        for key in list(self.env):
            if key.startswith("AWS_"):
                del self.env[key]
        self.env.update({
            "HOME": home, "AWS_ACCESS_KEY_ID": ACCOUNT, "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
        })
        self.endpoint = None
        self.calls = 0

    def run(self, *args, expect_error=None, secret=None):
        env = dict(self.env)
        if secret is not None:
            env["AWS_SECRET_ACCESS_KEY"] = secret
        cmd = [AWS, "iot", *args, "--endpoint-url", self.endpoint, "--region", REGION,
               "--output", "json"]
        self.calls += 1
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if expect_error:
            check(done.returncode == 254,
                  "%s: expected exit 254 (%s), got %d: %s%s" % (args[0], expect_error,
                                                               done.returncode, done.stdout, done.stderr))
            check("(%s)" % expect_error in done.stderr,
                  "%s: expected %s in: %s" % (args[0], expect_error, done.stderr))
            return None
        check(done.returncode == 0, "%s failed (%d): %s" % (" ".join(args), done.returncode, done.stderr))
        return json.loads(done.stdout) if done.stdout.strip() else {}


def der_id(pem_path):
    der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def pem_id(pem_text, work):
    path = os.path.join(work, "tmp-%d.pem" % time.time_ns())
    with open(path, "w") as f:
        f.write(pem_text)
    return der_id(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elsim", required=True)
    args = parser.parse_args()
    elsim = os.path.abspath(args.elsim)
    work = tempfile.mkdtemp(prefix="elsim-cp-cli-")
    state = os.path.join(work, "state")
    home = os.path.join(work, "home")
    os.makedirs(home)
    cli = Cli(home)
    server = None
    ok = False
    try:
        def pki(*pki_args):
            subprocess.run([elsim, "pki", *pki_args], check=True, capture_output=True, text=True)

        def write(name, text):
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        server = Server(elsim, state)
        cli.endpoint = server.endpoint

        # -- Registration code and CA registration (DEFAULT mode, verification certificate)
        code = cli.run("get-registration-code")["registrationCode"]
        check(re.fullmatch(r"[0-9a-f]{64}", code), "registration code is 64 hex: " + code)
        check(cli.run("get-registration-code")["registrationCode"] == code, "code is stable")
        pki("ca", "--dir", os.path.join(work, "ca1"))
        pki("verification", "--ca-dir", os.path.join(work, "ca1"), "--registration-code", code,
            "--dir", os.path.join(work, "verification"))
        pki("verification", "--ca-dir", os.path.join(work, "ca1"), "--registration-code", "0" * 64,
            "--dir", os.path.join(work, "wrong-verification"))
        ca1_pem = os.path.join(work, "ca1", "root.pem")
        cli.run("register-ca-certificate", "--ca-certificate", "file://" + ca1_pem,
                "--verification-certificate",
                "file://" + os.path.join(work, "wrong-verification", "verification.pem"),
                expect_error="RegistrationCodeValidationException")
        reply = cli.run("register-ca-certificate", "--ca-certificate", "file://" + ca1_pem,
                        "--verification-certificate",
                        "file://" + os.path.join(work, "verification", "verification.pem"))
        ca1 = reply["certificateId"]
        check(ca1 == der_id(ca1_pem), "CA id is the SHA-256 of its DER")
        check(reply["certificateArn"] == "arn:aws:iot:%s:%s:cacert/%s" % (REGION, ACCOUNT, ca1),
              "CA ARN: " + reply["certificateArn"])
        d = cli.run("describe-ca-certificate", "--certificate-id", ca1)
        desc = d["certificateDescription"]
        check(desc["status"] == "INACTIVE" and desc["autoRegistrationStatus"] == "DISABLE" and
              desc["certificateMode"] == "DEFAULT", "new CA: " + json.dumps(desc))
        cli.run("update-ca-certificate", "--certificate-id", ca1, "--new-status", "ACTIVE",
                "--new-auto-registration-status", "ENABLE")
        desc = cli.run("describe-ca-certificate", "--certificate-id", ca1)["certificateDescription"]
        check(desc["status"] == "ACTIVE" and desc["autoRegistrationStatus"] == "ENABLE",
              "updated CA: " + json.dumps(desc))

        # -- SNI_ONLY CA (onboarding-by-claim Appendix B)
        pki("ca", "--dir", os.path.join(work, "ca2"))
        ca2_pem = os.path.join(work, "ca2", "root.pem")
        ca2 = cli.run("register-ca-certificate", "--ca-certificate", "file://" + ca2_pem,
                      "--certificate-mode", "SNI_ONLY", "--set-as-active",
                      "--allow-auto-registration")["certificateId"]
        desc = cli.run("describe-ca-certificate", "--certificate-id", ca2)["certificateDescription"]
        check(desc["certificateMode"] == "SNI_ONLY" and desc["status"] == "ACTIVE" and
              desc["autoRegistrationStatus"] == "ENABLE", "SNI_ONLY CA: " + json.dumps(desc))
        cli.run("delete-ca-certificate", "--certificate-id", ca2,
                expect_error="CertificateStateException")

        # -- Policy, JITP template, registration config
        policy = write("policy.json", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iot:Connect",
                           "Resource": "arn:aws:iot:%s:%s:client/${iot:Connection.Thing.ThingName}" % (REGION, ACCOUNT)}]}))
        p = cli.run("create-policy", "--policy-name", "DevicePolicy", "--policy-document", "file://" + policy)
        check(p["policyVersionId"] == "1", "policy version 1")
        template = write("jitp.json", json.dumps({
            "Parameters": {"AWS::IoT::Certificate::CommonName": {"Type": "String"},
                           "AWS::IoT::Certificate::Id": {"Type": "String"}},
            "Resources": {
                "thing": {"Type": "AWS::IoT::Thing",
                          "Properties": {"ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"}}},
                "certificate": {"Type": "AWS::IoT::Certificate",
                                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                                               "Status": "ACTIVE"}},
                "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "DevicePolicy"}}}}))
        t = cli.run("create-provisioning-template", "--template-name", "JITPTemplate", "--type", "JITP",
                    "--template-body", "file://" + template, "--provisioning-role-arn",
                    "arn:aws:iam::%s:role/JITPRole" % ACCOUNT, "--enabled")
        check(t["defaultVersionId"] == 1 and t["templateName"] == "JITPTemplate", "template: " + json.dumps(t))
        cli.run("update-ca-certificate", "--certificate-id", ca1, "--registration-config",
                "templateName=JITPTemplate")
        d = cli.run("describe-ca-certificate", "--certificate-id", ca1)
        check(d["registrationConfig"].get("templateName") == "JITPTemplate",
              "registration config: " + json.dumps(d["registrationConfig"]))

        # -- Certificates: AWS-issued, from CSR, under a CA, without a CA
        k = cli.run("create-keys-and-certificate", "--set-as-active")
        check(k["keyPair"]["PrivateKey"].startswith("-----BEGIN RSA PRIVATE KEY-----"), "RSA private key PEM")
        check(k["keyPair"]["PublicKey"].startswith("-----BEGIN PUBLIC KEY-----"), "public key PEM")
        check(k["certificateId"] == pem_id(k["certificatePem"], work), "issued id = SHA-256 of DER")
        keys_id, keys_arn = k["certificateId"], k["certificateArn"]
        csr = os.path.join(work, "device.csr")
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(work, "device.key"), "-out", csr, "-subj", "/CN=csr-device"],
                       check=True, capture_output=True)
        c = cli.run("create-certificate-from-csr", "--certificate-signing-request", "file://" + csr)
        csr_id = c["certificateId"]
        check(csr_id == pem_id(c["certificatePem"], work), "CSR certificate id")
        pki("modules", "--ca-dir", os.path.join(work, "ca1"), "--count", "1", "--dir", os.path.join(work, "mods1"))
        index = json.load(open(os.path.join(work, "mods1", "index.json")))
        module = index[0] if isinstance(index, list) else index["modules"][0]
        module_pem = os.path.join(work, "mods1", module["certificate"])
        r = cli.run("register-certificate", "--certificate-pem", "file://" + module_pem,
                    "--ca-certificate-pem", "file://" + ca1_pem, "--status", "ACTIVE")
        module_id = r["certificateId"]
        check(module_id == der_id(module_pem), "registered id = SHA-256 of DER")
        pki("ca", "--dir", os.path.join(work, "ca3"))
        pki("modules", "--ca-dir", os.path.join(work, "ca3"), "--count", "1", "--dir", os.path.join(work, "mods3"))
        index3 = json.load(open(os.path.join(work, "mods3", "index.json")))
        module3 = index3[0] if isinstance(index3, list) else index3["modules"][0]
        noca_id = cli.run("register-certificate-without-ca", "--certificate-pem",
                          "file://" + os.path.join(work, "mods3", module3["certificate"]),
                          "--status", "ACTIVE")["certificateId"]
        desc = cli.run("describe-certificate", "--certificate-id", module_id)["certificateDescription"]
        check(desc["status"] == "ACTIVE" and desc.get("caCertificateId") == ca1,
              "module certificate: " + json.dumps({k2: v for k2, v in desc.items() if k2 != "certificatePem"}))
        desc = cli.run("describe-certificate", "--certificate-id", noca_id)["certificateDescription"]
        check(desc["certificateMode"] == "SNI_ONLY", "without-CA certificate is SNI_ONLY")
        desc = cli.run("describe-certificate", "--certificate-id", csr_id)["certificateDescription"]
        check(desc["status"] == "INACTIVE", "CSR certificate starts INACTIVE")
        cli.run("update-certificate", "--certificate-id", csr_id, "--new-status", "ACTIVE")
        desc = cli.run("describe-certificate", "--certificate-id", csr_id)["certificateDescription"]
        check(desc["status"] == "ACTIVE", "CSR certificate now ACTIVE")
        listed = {x["certificateId"] for x in cli.run("list-certificates")["certificates"]}
        check({keys_id, csr_id, module_id, noca_id} <= listed, "list-certificates: %s" % listed)

        # -- Things, attachments, endpoint
        th = cli.run("create-thing", "--thing-name", "Thing-1", "--attribute-payload",
                     "attributes={model=el1}")
        check(th["thingArn"] == "arn:aws:iot:%s:%s:thing/Thing-1" % (REGION, ACCOUNT), "thing ARN")
        d = cli.run("describe-thing", "--thing-name", "Thing-1")
        check(d["defaultClientId"] == "Thing-1" and d["version"] == 1 and
              d["attributes"] == {"model": "el1"}, "describe-thing: " + json.dumps(d))
        names = [x["thingName"] for x in cli.run("list-things")["things"]]
        check("Thing-1" in names, "list-things: %s" % names)
        cli.run("attach-policy", "--policy-name", "DevicePolicy", "--target", keys_arn)
        cli.run("attach-thing-principal", "--thing-name", "Thing-1", "--principal", keys_arn)
        pols = [x["policyName"] for x in cli.run("list-attached-policies", "--target", keys_arn)["policies"]]
        check(pols == ["DevicePolicy"], "list-attached-policies: %s" % pols)
        ep = cli.run("describe-endpoint", "--endpoint-type", "iot:Data-ATS")["endpointAddress"]
        check(re.fullmatch(r"[a-z0-9]{14}-ats\.iot\.us-east-1\.elsim\.test", ep), "endpoint: " + ep)

        # -- Deletes and error cases
        cli.run("describe-certificate", "--certificate-id", "ab" * 32,
                expect_error="ResourceNotFoundException")
        cli.run("delete-certificate", "--certificate-id", noca_id, expect_error="CertificateStateException")
        cli.run("update-certificate", "--certificate-id", noca_id, "--new-status", "INACTIVE")
        cli.run("delete-certificate", "--certificate-id", noca_id)
        cli.run("describe-certificate", "--certificate-id", noca_id, expect_error="ResourceNotFoundException")
        cli.run("create-thing", "--thing-name", "Thing-2")
        cli.run("delete-thing", "--thing-name", "Thing-2")
        cli.run("describe-thing", "--thing-name", "Thing-2", expect_error="ResourceNotFoundException")

        # -- Refusals by the service model's constraints (those the CLI does not check itself:
        # patterns, maximum lengths and values, enum values); nothing is created
        cli.run("create-thing", "--thing-name", "not a name", expect_error="InvalidRequestException")
        cli.run("create-thing", "--thing-name", "Thing-3", "--attribute-payload",
                json.dumps({"attributes": {"a": "v" * 801}}), expect_error="InvalidRequestException")
        cli.run("list-things", "--max-results", "251", expect_error="InvalidRequestException")
        cli.run("update-certificate", "--certificate-id", "ab" * 32, "--new-status", "ENABLED",
                expect_error="InvalidRequestException")
        # What the CLI cannot send: a body over the server's 2 MiB read limit, a wrong method
        def raw(method, path, body=b""):
            request = urllib.request.Request(server.endpoint + path, data=body or None,
                                             method=method,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:
                    return reply.status, dict(reply.headers), reply.read()
            except urllib.error.HTTPError as error:
                return error.code, dict(error.headers), error.read()
        # The server refuses on the head (Content-Length) and closes: send only the head.
        host, port = server.endpoint[len("http://"):].split(":")
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(b"POST /things/Huge HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nContent-Length: %d\r\n\r\n" % (3 << 20))
            reply = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 400") and b"x-amzn-ErrorType: InvalidRequestException"
              in head and json.loads(body)["__type"] == "InvalidRequestException",
              "3 MiB body: %r" % reply[:300])
        status, headers, body = raw("PUT", "/things")
        check(status == 405 and headers.get("x-amzn-ErrorType") == "MethodNotAllowedException"
              and "GET" in headers.get("Allow", ""), "PUT /things: %d %s" % (status, headers))
        names = [t["thingName"] for t in cli.run("list-things")["things"]]
        check(not {"Thing-3", "not a name", "Huge"} & set(names),
              "refused requests created nothing: %s" % names)

        # -- SIGKILL, restart: nothing lost
        server.kill()
        server.stop()
        server = Server(elsim, state)
        cli.endpoint = server.endpoint
        check(cli.run("describe-thing", "--thing-name", "Thing-1")["thingName"] == "Thing-1", "thing survives")
        check(cli.run("get-registration-code")["registrationCode"] == code, "code survives")
        desc = cli.run("describe-ca-certificate", "--certificate-id", ca1)
        check(desc["certificateDescription"]["status"] == "ACTIVE" and
              desc["registrationConfig"].get("templateName") == "JITPTemplate", "CA survives")
        server.stop()

        # -- Signature verification: right secret passes (also with an ARN label that is
        #    double-encoded in the canonical request), wrong secret is refused.
        server = Server(elsim, state, ["--verify-signatures", "--secret", ACCOUNT + "=right-secret"])
        cli.endpoint = server.endpoint
        pols = cli.run("list-attached-policies", "--target", keys_arn, secret="right-secret")["policies"]
        check([x["policyName"] for x in pols] == ["DevicePolicy"], "signed list-attached-policies")
        cli.run("describe-thing", "--thing-name", "Thing-1", secret="wrong-secret",
                expect_error="InvalidSignatureException")
        ok = True
        print("aws_cli_test: %d AWS CLI calls passed" % cli.calls)
    except (Failure, subprocess.CalledProcessError) as e:
        detail = e.stderr if isinstance(e, subprocess.CalledProcessError) else ""
        print("aws_cli_test: FAILED: %s %s" % (e, detail or ""), file=sys.stderr)
        if server is not None:
            print("--- server log ---\n" + open(server.log_path).read(), file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("aws_cli_test: work directory kept: " + work, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
