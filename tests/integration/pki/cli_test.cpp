// SPDX-License-Identifier: Apache-2.0
// `elsim pki` verbs as a subprocess: bad input exits 2 with one line naming the file or option
// and writes nothing; good input chains verb to verb; --force replaces atomically.
#include <algorithm>
#include <string_view>

#include "run.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

// In pki::testing, beside the helpers of run.hpp (Elsim, OpenSsl, RunResult, ScratchDir, Slurp).
namespace pki::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void WriteText(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// Everything in `dir`, so a failed run can be shown to have changed nothing.
std::vector<std::string> Listing(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.path().filename().string().rfind(".run.", 0) != 0) {
            names.push_back(fs::relative(entry.path(), dir).string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

// A CA made once for the whole suite, plus files to break things with.
class PkiCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        scratch_ = std::make_unique<ScratchDir>();
        const fs::path base = scratch_->path() / "fixtures";
        fs::create_directories(base);
        ASSERT_EQ(Elsim({"pki", "ca", "--dir", (base / "ca").string()}, base).status, 0);
        ASSERT_EQ(Elsim({"pki", "ca", "--dir", (base / "other-ca").string()}, base).status, 0);
        ASSERT_EQ(
            Elsim({"pki", "aws-ca", "--dir", (base / "aws").string(), "--key-type", "ec"}, base)
                .status,
            0);
        WriteText(base / "garbled.pem",
                  "-----BEGIN CERTIFICATE-----\n%%%garbage%%%\n-----END CERTIFICATE-----\n");
        WriteText(base / "empty.pem", "");
        fs::create_directories(base / "taken");
    }
    static void TearDownTestSuite() { scratch_.reset(); }
    static fs::path Fixtures() { return scratch_->path() / "fixtures"; }
    static inline std::unique_ptr<ScratchDir> scratch_;
};

// Placeholders in a case's arguments, replaced when it runs: a path under the suite's fixtures
// (Fixture("ca/root.pem")) and the output directory (kOut).
constexpr std::string_view kFixturePrefix = "<fixtures>/";
constexpr const char* kOut = "<out>";

std::string Fixture(std::string_view relative) {
    return std::string(kFixturePrefix) + std::string(relative);
}

std::vector<std::string> Expand(const std::vector<std::string>& args, const fs::path& fixtures,
                                const fs::path& out) {
    std::vector<std::string> expanded;
    for (const auto& arg : args) {
        if (arg == kOut) {
            expanded.push_back(out.string());
        } else if (arg.rfind(kFixturePrefix, 0) == 0) {
            expanded.push_back((fixtures / arg.substr(kFixturePrefix.size())).string());
        } else {
            expanded.push_back(arg);
        }
    }
    return expanded;
}

struct BadInputCase {
    std::string name;
    std::vector<std::string> args;  // after `elsim`, with Fixture(...) and kOut placeholders
    std::string must_name;          // the file or option the message must mention ("" skips)
    std::string reason;
};

void PrintTo(const BadInputCase& c, std::ostream* os) { *os << c.name; }

class PkiCliBadInput : public PkiCli, public ::testing::WithParamInterface<BadInputCase> {};

TEST_P(PkiCliBadInput, ExitsTwoWithOneLineAndWritesNothing) {
    ScratchDir work;
    const fs::path out = work.path() / "out";
    const auto before = Listing(Fixtures());
    RunResult r = Elsim(Expand(GetParam().args, Fixtures(), out), work.path());
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    // One line of our own; CLI11's option errors (reported by the shared main.cpp) add its
    // fixed "Run with --help for more information." line, which is not counted.
    std::string err = r.err;
    const std::string help_hint = "Run with --help for more information.\n";
    if (const auto at = err.find(help_hint); at != std::string::npos) {
        err.erase(at, help_hint.size());
    }
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << r.err;
    if (!GetParam().must_name.empty()) {
        const std::string name = GetParam().must_name.front() == '-'
                                     ? GetParam().must_name
                                     : (Fixtures() / GetParam().must_name).string();
        EXPECT_THAT(r.err, HasSubstr(name));
    }
    EXPECT_THAT(r.err, HasSubstr(GetParam().reason));
    EXPECT_FALSE(fs::exists(out)) << "output directory was created";
    EXPECT_TRUE(Listing(work.path()).empty()) << "something was written in the work dir";
    EXPECT_EQ(Listing(Fixtures()), before) << "fixtures changed";
}

std::string S(const fs::path& p) { return p.string(); }

INSTANTIATE_TEST_SUITE_P(
    Table, PkiCliBadInput,
    ::testing::Values(
        BadInputCase{"count_zero",
                     {"pki", "modules", "--ca-dir", Fixture("ca"), "--count", "0", "--dir", kOut},
                     "--count",
                     "at least 1"},
        BadInputCase{"missing_ca_dir",
                     {"pki", "modules", "--ca-dir", Fixture("nope"), "--count", "1", "--dir", kOut},
                     "nope",
                     "missing"},
        BadInputCase{"garbled_ca_cert",
                     {"pki", "modules", "--ca-cert", Fixture("garbled.pem"), "--ca-key",
                      Fixture("ca/root.key"), "--count", "1", "--dir", kOut},
                     "garbled.pem",
                     "garbled PEM certificate"},
        BadInputCase{"empty_ca_cert",
                     {"pki", "modules", "--ca-cert", Fixture("empty.pem"), "--ca-key",
                      Fixture("ca/root.key"), "--count", "1", "--dir", kOut},
                     "empty.pem",
                     "no PEM certificate found"},
        BadInputCase{"unreadable_ca_key",
                     {"pki", "modules", "--ca-cert", Fixture("ca/root.pem"), "--ca-key",
                      Fixture("ca/missing.key"), "--count", "1", "--dir", kOut},
                     "ca/missing.key",
                     ""},
        BadInputCase{"key_of_another_ca",
                     {"pki", "modules", "--ca-cert", Fixture("ca/root.pem"), "--ca-key",
                      Fixture("other-ca/root.key"), "--count", "1", "--dir", kOut},
                     "other-ca/root.key",
                     "does not match the certificate"},
        BadInputCase{"certificate_given_as_key",
                     {"pki", "modules", "--ca-cert", Fixture("ca/root.pem"), "--ca-key",
                      Fixture("ca/root.pem"), "--count", "1", "--dir", kOut},
                     "ca/root.pem",
                     "no PEM private key found"},
        BadInputCase{"existing_output_without_force",
                     {"pki", "ca", "--dir", Fixture("taken")},
                     "taken",
                     "use --force"},
        BadInputCase{"bad_subject",
                     {"pki", "ca", "--dir", kOut, "--subject", "nonsense"},
                     "--subject",
                     "not KEY=VALUE"},
        BadInputCase{"bad_registration_code",
                     {"pki", "verification", "--ca-dir", Fixture("ca"), "--registration-code",
                      "not a code!", "--dir", kOut},
                     "--registration-code",
                     "letters or digits"},
        BadInputCase{"server_without_names",
                     {"pki", "server", "--ca-dir", Fixture("aws"), "--dir", kOut},
                     "--name",
                     "at least one name"},
        BadInputCase{"server_bad_ip",
                     {"pki", "server", "--ca-dir", Fixture("aws"), "--name", "x.elsim.test", "--ip",
                      "999.1.1.1", "--dir", kOut},
                     "",
                     "IP address '999.1.1.1'"},
        BadInputCase{"claim_signed_by_garbled_ca",
                     {"pki", "claim", "--ca-cert", Fixture("garbled.pem"), "--ca-key",
                      Fixture("aws/root-ca.key"), "--dir", kOut},
                     "garbled.pem",
                     "garbled"},
        BadInputCase{"id_of_garbled_file",
                     {"pki", "id", Fixture("garbled.pem")},
                     "garbled.pem",
                     "garbled PEM certificate"},
        BadInputCase{"id_of_missing_file", {"pki", "id", Fixture("absent.pem")}, "absent.pem", ""},
        BadInputCase{"unknown_key_type",
                     {"pki", "ca", "--dir", kOut, "--key-type", "dsa"},
                     "--key-type",
                     ""}),
    [](const auto& test_info) { return test_info.param.name; });

TEST_F(PkiCli, VerbsChainFromCaToModulesVerificationServerAndClaim) {
    ScratchDir work;
    const fs::path w = work.path();
    ASSERT_EQ(Elsim({"pki", "ca", "--dir", S(w / "ca"), "--intermediate", "--key-type", "rsa",
                     "--days", "30", "--subject", "O=Acme,CN=Acme Root"},
                    w)
                  .status,
              0);
    RunResult modules =
        Elsim({"pki", "modules", "--ca-cert", S(w / "ca/intermediate.pem"), "--ca-key",
               S(w / "ca/intermediate.key"), "--count", "3", "--dir", S(w / "modules")},
              w);
    ASSERT_EQ(modules.status, 0) << modules.err;
    const auto index = nlohmann::json::parse(Slurp(w / "modules/index.json"));
    ASSERT_EQ(index["modules"].size(), 3U);
    for (const auto& m : index["modules"]) {
        RunResult v = OpenSsl(
            {"verify", "-CAfile", S(w / "ca/root.pem"), "-untrusted", S(w / "ca/intermediate.pem"),
             S(w / "modules" / m["certificate"].get<std::string>())},
            w);
        EXPECT_EQ(v.status, 0) << v.out << v.err;
    }
    const std::string csv = Slurp(w / "modules/index.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);

    const std::string code = std::string(64, 'a');
    ASSERT_EQ(Elsim({"pki", "verification", "--ca-dir", S(w / "ca"), "--registration-code", code,
                     "--dir", S(w / "verification")},
                    w)
                  .status,
              0);
    RunResult subject = OpenSsl({"x509", "-in", S(w / "verification/verification.pem"), "-noout",
                                 "-subject", "-nameopt", "RFC2253"},
                                w);
    EXPECT_EQ(subject.out, "subject=CN=" + code + "\n");
    RunResult v = OpenSsl({"verify", "-CAfile", S(w / "ca/root.pem"), "-untrusted",
                           S(w / "ca/intermediate.pem"), S(w / "verification/verification.pem")},
                          w);
    EXPECT_EQ(v.status, 0) << v.out << v.err;

    ASSERT_EQ(Elsim({"pki", "server", "--ca-dir", S(Fixtures() / "aws"), "--name", "a.elsim.test",
                     "--name", "b.elsim.test", "--ip", "127.0.0.2", "--dir", S(w / "server")},
                    w)
                  .status,
              0);
    RunResult san =
        OpenSsl({"x509", "-in", S(w / "server/cert.pem"), "-noout", "-ext", "subjectAltName"}, w);
    EXPECT_THAT(san.out, HasSubstr("DNS:a.elsim.test, DNS:b.elsim.test, IP Address:127.0.0.2"));
    RunResult claim =
        Elsim({"pki", "claim", "--ca-dir", S(Fixtures() / "aws"), "--dir", S(w / "claim")}, w);
    ASSERT_EQ(claim.status, 0) << claim.err;
    EXPECT_EQ(Slurp(w / "claim/certificate-id.txt"),
              Elsim({"pki", "id", S(w / "claim/cert.pem")}, w).out);
}

TEST_F(PkiCli, ForceReplacesTheWholeDirectoryAndLeavesNoTemporaries) {
    ScratchDir work;
    const fs::path out = work.path() / "modules";
    const std::vector<std::string> args = {"pki",     "modules", "--ca-dir", S(Fixtures() / "ca"),
                                           "--count", "2",       "--dir",    S(out)};
    ASSERT_EQ(Elsim(args, work.path()).status, 0);
    const auto first = Listing(out);
    EXPECT_EQ(first.size(), 2U * 4U + 2U);  // 2 × (dir + 3 files) + index.json + index.csv
    RunResult again = Elsim(args, work.path());
    EXPECT_EQ(again.status, 2);
    EXPECT_EQ(Listing(out), first);  // unchanged
    std::vector<std::string> forced = args;
    forced.emplace_back("--force");
    ASSERT_EQ(Elsim(forced, work.path()).status, 0);
    const auto second = Listing(out);
    EXPECT_EQ(second.size(), first.size());
    EXPECT_NE(second, first);                                   // new ThingNames
    EXPECT_EQ(Listing(work.path()).size(), second.size() + 1);  // only "modules" itself added
}

TEST_F(PkiCli, LargeBatchReportsProgressAndEveryThingNameIsUnique) {
    ScratchDir work;
    RunResult r = Elsim({"pki", "modules", "--ca-dir", S(Fixtures() / "ca"), "--count", "2000",
                         "--dir", S(work.path() / "m")},
                        work.path());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("modules 1000/2000"));
    EXPECT_THAT(r.err, HasSubstr("modules 2000/2000"));
    const auto index = nlohmann::json::parse(Slurp(work.path() / "m/index.json"));
    std::set<std::string> names;
    std::set<std::string> ids;
    for (const auto& m : index["modules"]) {
        names.insert(m["thingName"].get<std::string>());
        ids.insert(m["certificateId"].get<std::string>());
    }
    EXPECT_EQ(names.size(), 2000U);
    EXPECT_EQ(ids.size(), 2000U);
}

}  // namespace
}  // namespace pki::testing
