// SPDX-License-Identifier: Apache-2.0
// `elsim pki` output checked by the `openssl` command as an independent oracle: good chains
// verify, broken cases fail with OpenSSL's own reason, certificateId = the SHA-256 fingerprint,
// ThingName = serial = CN.
#include <algorithm>
#include <cctype>

#include "run.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/certificate.hpp"

// In pki::testing, beside the helpers of run.hpp (Elsim, OpenSsl, RunResult, ScratchDir, Slurp).
namespace pki::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// `openssl x509 -noout -fingerprint -sha256` without colons, lower-cased.
std::string Fingerprint(const fs::path& cert, const fs::path& scratch) {
    RunResult r =
        OpenSsl({"x509", "-in", cert.string(), "-noout", "-fingerprint", "-sha256"}, scratch);
    EXPECT_EQ(r.status, 0) << r.err;
    std::string hex;
    for (char c : r.out.substr(r.out.find('=') + 1)) {
        if (std::isxdigit(static_cast<unsigned char>(c))) {
            hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    return hex;
}

// One demo PKI per variant (with and without an intermediate), made once by the real binary.
class DemoPki : public ::testing::TestWithParam<bool> {
protected:
    static void SetUpTestSuite() {
        for (bool intermediate : {false, true}) {
            auto& dir = Dirs()[intermediate ? 1 : 0];
            dir = std::make_unique<ScratchDir>();
            std::vector<std::string> args = {"pki", "demo", "--dir",
                                             (dir->path() / "demo").string()};
            if (intermediate) {
                args.emplace_back("--intermediate");
            }
            RunResult r = Elsim(args, dir->path());
            ASSERT_EQ(r.status, 0) << r.err;
        }
    }
    static void TearDownTestSuite() {
        for (auto& dir : Dirs()) {
            dir.reset();
        }
    }
    static std::array<std::unique_ptr<ScratchDir>, 2>& Dirs() {
        static std::array<std::unique_ptr<ScratchDir>, 2> dirs;
        return dirs;
    }
    fs::path Scratch() const { return Dirs()[GetParam() ? 1 : 0]->path(); }
    fs::path Demo() const { return Scratch() / "demo"; }
    // openssl verify against the manufacturer root, the intermediate as untrusted.
    RunResult Verify(const fs::path& cert, std::vector<std::string> extra = {}) const {
        std::vector<std::string> args = {"verify", "-CAfile", (Demo() / "ca/root.pem").string()};
        if (GetParam()) {
            args.insert(args.end(), {"-untrusted", (Demo() / "ca/intermediate.pem").string()});
        }
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(cert.string());
        return OpenSsl(args, Scratch());
    }
};

TEST_P(DemoPki, EveryModuleVerifiesAndItsIdIsTheFingerprint) {
    const auto index = nlohmann::json::parse(Slurp(Demo() / "modules/index.json"));
    ASSERT_EQ(index["modules"].size(), 5U);
    for (const auto& module : index["modules"]) {
        const std::string thing = module["thingName"];
        const fs::path cert = Demo() / "modules" / module["certificate"].get<std::string>();
        RunResult r = Verify(cert, {"-purpose", "sslclient"});
        EXPECT_EQ(r.status, 0) << r.out << r.err;
        EXPECT_THAT(r.out, HasSubstr(": OK"));
        EXPECT_EQ(Fingerprint(cert, Scratch()), module["certificateId"]);
        // ThingName = serial = CN, as openssl prints them.
        RunResult fields = OpenSsl(
            {"x509", "-in", cert.string(), "-noout", "-serial", "-subject", "-nameopt", "RFC2253"},
            Scratch());
        std::string upper = thing;
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        EXPECT_THAT(fields.out, HasSubstr("serial=" + upper + "\n"));
        EXPECT_THAT(fields.out, HasSubstr("subject=CN=" + thing + "\n"));
        // The chain file verifies on its own against the root (untrusted = the file itself).
        const fs::path chain = Demo() / "modules" / module["chain"].get<std::string>();
        RunResult c = OpenSsl({"verify", "-CAfile", (Demo() / "ca/root.pem").string(), "-untrusted",
                               chain.string(), cert.string()},
                              Scratch());
        EXPECT_EQ(c.status, 0) << c.out << c.err;
    }
}

TEST_P(DemoPki, ElsimIdMatchesOpenSslFingerprintForEveryCertificate) {
    for (const auto* rel : {"ca/root.pem", "aws/root-ca.pem", "claim/cert.pem",
                            "broken/expired/cert.pem", "broken/look-alike-ca/ca.pem"}) {
        RunResult r = Elsim({"pki", "id", (Demo() / rel).string()}, Scratch());
        ASSERT_EQ(r.status, 0) << rel << r.err;
        EXPECT_EQ(r.out, Fingerprint(Demo() / rel, Scratch()) + "\n") << rel;
    }
}

struct BrokenExpectation {
    std::string name;
    std::vector<std::string> extra;
    std::string reason;  // empty: verifies
};

TEST_P(DemoPki, BrokenCasesFailWithOpenSslsReason) {
    const std::vector<BrokenExpectation> table = {
        {"expired", {}, "certificate has expired"},
        {"not-yet-valid", {}, "certificate is not yet valid"},
        {"no-client-auth", {"-purpose", "sslclient"}, "unsuitable certificate purpose"},
        {"unregistered-ca", {}, "unable to get local issuer certificate"},
        {"look-alike-ca", {}, "certificate signature failure"},
        {"chain-without-ca", {"-purpose", "sslclient"}, ""},
        {"chain-with-ca", {"-purpose", "sslclient"}, ""},
    };
    const auto index = nlohmann::json::parse(Slurp(Demo() / "broken/index.json"));
    ASSERT_EQ(index.size(), table.size());
    for (const auto& expectation : table) {
        SCOPED_TRACE(expectation.name);
        const fs::path cert = Demo() / "broken" / expectation.name / "cert.pem";
        RunResult r = Verify(cert, expectation.extra);
        if (expectation.reason.empty()) {
            EXPECT_EQ(r.status, 0) << r.out << r.err;
        } else {
            EXPECT_NE(r.status, 0);
            EXPECT_THAT(r.out + r.err, HasSubstr(expectation.reason));
        }
        auto entry = std::find_if(index.begin(), index.end(),
                                  [&](const auto& e) { return e["case"] == expectation.name; });
        ASSERT_NE(entry, index.end());
        EXPECT_EQ((*entry)["expectedOpenSslError"], expectation.reason);
        EXPECT_EQ((*entry)["certificateId"], Fingerprint(cert, Scratch()));
    }
    // The no-clientAuth certificate is otherwise good: it verifies without a purpose.
    EXPECT_EQ(Verify(Demo() / "broken/no-client-auth/cert.pem").status, 0);
    // The unregistered and look-alike certificates do verify against their own CA.
    for (const auto* name : {"unregistered-ca", "look-alike-ca"}) {
        RunResult r = OpenSsl({"verify", "-CAfile", (Demo() / "broken" / name / "ca.pem").string(),
                               (Demo() / "broken" / name / "cert.pem").string()},
                              Scratch());
        EXPECT_EQ(r.status, 0) << name << r.out << r.err;
    }
    // The look-alike CA has the issuing CA's subject and a different key.
    auto real = ParseCertificatePem(Slurp(Demo() / "ca/chain.pem"));
    auto fake = ParseCertificatePem(Slurp(Demo() / "broken/look-alike-ca/ca.pem"));
    ASSERT_TRUE(real && fake);
    EXPECT_EQ(fake->subject, real->subject);
    EXPECT_NE(fake->public_key_sha256, real->public_key_sha256);
    // chain-with-ca carries the CA chain; chain-without-ca only the leaf.
    EXPECT_EQ(ParseCertificateChainPem(Slurp(Demo() / "broken/chain-without-ca/cert.pem"))->size(),
              1U);
    EXPECT_EQ(ParseCertificateChainPem(Slurp(Demo() / "broken/chain-with-ca/cert.pem"))->size(),
              GetParam() ? 3U : 2U);
}

TEST_P(DemoPki, AwsSideVerifies) {
    const std::string aws_ca = (Demo() / "aws/root-ca.pem").string();
    RunResult claim = OpenSsl({"verify", "-CAfile", aws_ca, "-purpose", "sslclient",
                               (Demo() / "claim/cert.pem").string()},
                              Scratch());
    EXPECT_EQ(claim.status, 0) << claim.out << claim.err;
    RunResult subject = OpenSsl({"x509", "-in", (Demo() / "claim/cert.pem").string(), "-noout",
                                 "-subject", "-enddate", "-nameopt", "RFC2253"},
                                Scratch());
    EXPECT_THAT(subject.out, HasSubstr("subject=CN=AWS IoT Certificate"));
    EXPECT_THAT(subject.out, HasSubstr("notAfter=Dec 31 23:59:59 2049 GMT"));
    RunResult rsa = OpenSsl(
        {"rsa", "-in", (Demo() / "claim/private.key").string(), "-check", "-noout"}, Scratch());
    EXPECT_EQ(rsa.status, 0) << rsa.err;
    EXPECT_THAT(Slurp(Demo() / "claim/private.key"), HasSubstr("BEGIN RSA PRIVATE KEY"));

    const fs::path server_dir = Demo() / "servers/a1b2c3d4e5f6g7-ats.iot.us-east-1.elsim.test";
    RunResult server =
        OpenSsl({"verify", "-CAfile", aws_ca, "-purpose", "sslserver", "-verify_hostname",
                 "a1b2c3d4e5f6g7-ats.iot.us-east-1.elsim.test", (server_dir / "cert.pem").string()},
                Scratch());
    EXPECT_EQ(server.status, 0) << server.out << server.err;
    RunResult by_ip = OpenSsl({"verify", "-CAfile", aws_ca, "-verify_ip", "127.0.0.1",
                               (server_dir / "cert.pem").string()},
                              Scratch());
    EXPECT_EQ(by_ip.status, 0) << by_ip.out << by_ip.err;
    RunResult wrong = OpenSsl({"verify", "-CAfile", aws_ca, "-verify_hostname", "evil.example",
                               (server_dir / "cert.pem").string()},
                              Scratch());
    EXPECT_NE(wrong.status, 0);
    EXPECT_THAT(wrong.out + wrong.err, HasSubstr("hostname mismatch"));
    // A module certificate is not trusted by the AWS CA, nor a server cert by the manufacturer.
    EXPECT_NE(Verify(server_dir / "cert.pem").status, 0);
}

TEST_P(DemoPki, PrivateKeysAreOwnerOnly) {
    int keys = 0;
    for (const auto& entry : fs::recursive_directory_iterator(Demo())) {
        const std::string name = entry.path().filename().string();
        const bool is_key = name == "key.pem" || (name.ends_with(".key") && name != "public.key");
        const auto perms = fs::status(entry.path()).permissions();
        if (is_key) {
            ++keys;
            EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write)
                << entry.path();
            EXPECT_THAT(Slurp(entry.path()), HasSubstr("PRIVATE KEY")) << entry.path();
        }
    }
    EXPECT_GE(keys, 5 + 7 + 2 + 3);
}

TEST_P(DemoPki, CaKeysMatchTheirCertificates) {
    for (const auto* base : {"ca/root", "aws/root-ca"}) {
        const fs::path pem = Demo() / (std::string(base) + ".pem");
        const fs::path key = Demo() / (std::string(base) + ".key");
        RunResult cert_pub = OpenSsl({"x509", "-in", pem.string(), "-noout", "-pubkey"}, Scratch());
        RunResult key_pub = OpenSsl({"pkey", "-in", key.string(), "-pubout"}, Scratch());
        EXPECT_EQ(cert_pub.out, key_pub.out) << base;
        RunResult text =
            OpenSsl({"x509", "-in", pem.string(), "-noout", "-ext", "basicConstraints"}, Scratch());
        EXPECT_THAT(text.out, HasSubstr("CA:TRUE")) << base;
    }
}

INSTANTIATE_TEST_SUITE_P(CaShapes, DemoPki, ::testing::Bool(), [](const auto& test_info) {
    return test_info.param ? "WithIntermediate" : "RootOnly";
});

}  // namespace
}  // namespace pki::testing
