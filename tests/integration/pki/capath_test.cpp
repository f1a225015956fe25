// SPDX-License-Identifier: Apache-2.0
// pki/capath.hpp against the `openssl` command: SubjectHash equals `openssl x509 -hash`, and a
// directory AddCaToCapath wrote is one `openssl verify -CApath` trusts, link by link.
#include "pki/capath.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "run.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "pki/profiles.hpp"

namespace pki::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct TestCa {
    CertificateAuthority ca;
    std::string leaf_pem;  ///< A server certificate the CA signed.
};

// A root CA with subject CN=`common_name` and a leaf it signed.
TestCa MakeCa(const std::string& common_name) {
    const auto now = std::chrono::system_clock::now();
    auto key = Key::Generate(KeyType::kEcP256);
    EXPECT_TRUE(key.has_value());
    DistinguishedName subject;
    subject.entries = {{"O", "capath test"}, {"CN", common_name}};
    auto ca = CertificateAuthority::CreateRoot(RootCaSpec(subject, now, Days(2)), *key);
    EXPECT_TRUE(ca.has_value()) << ca.error().message;
    auto spec = ServerSpec({"leaf.example"}, {}, now, Days(1));
    EXPECT_TRUE(spec.has_value());
    auto leaf_key = Key::Generate(KeyType::kEcP256);
    auto leaf = ca->Issue(*spec, *leaf_key);
    EXPECT_TRUE(leaf.has_value()) << leaf.error().message;
    return TestCa{std::move(*ca), leaf->pem};
}

fs::path WriteFile(const fs::path& file, const std::string& text) {
    std::ofstream(file, std::ios::binary) << text;
    return file;
}

std::string OpenSslHash(const std::string& pem, const fs::path& scratch) {
    const auto file = WriteFile(scratch / "hash-input.pem", pem);
    RunResult r = OpenSsl({"x509", "-in", file.string(), "-noout", "-hash"}, scratch);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
}

RunResult VerifyWithCapath(const fs::path& capath, const std::string& leaf_pem,
                           const fs::path& scratch) {
    const auto file = WriteFile(scratch / "leaf.pem", leaf_pem);
    return OpenSsl({"verify", "-CApath", capath.string(), file.string()}, scratch);
}

TEST(SubjectHash, EqualsOpenSslHashForEachSubject) {
    ScratchDir scratch;
    for (const std::string& name :
         std::vector<std::string>{"A", "Another CA", "ünïcode CA", std::string(64, 'x')}) {
        const TestCa ca = MakeCa(name);
        auto hash = SubjectHash(ca.ca.pem());
        ASSERT_TRUE(hash.has_value()) << name << ": " << hash.error().message;
        EXPECT_EQ(*hash, OpenSslHash(ca.ca.pem(), scratch.path())) << name;
    }
}

struct BadPem {
    const char* name;
    std::string text;
};

class SubjectHashRefuses : public ::testing::TestWithParam<BadPem> {};

TEST_P(SubjectHashRefuses, NotACertificate) {
    auto hash = SubjectHash(GetParam().text);
    ASSERT_FALSE(hash.has_value());
    EXPECT_EQ(hash.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_THAT(hash.error().message, HasSubstr("CA certificate is not PEM"));
    ScratchDir scratch;
    const fs::path capath = scratch.path() / "capath";
    auto added = AddCaToCapath(capath, GetParam().text);
    ASSERT_FALSE(added.has_value());
    EXPECT_EQ(added.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_FALSE(fs::exists(capath)) << "bad input must write nothing";
}

std::string Truncated() {
    const std::string pem = MakeCa("truncated").ca.pem();
    return pem.substr(0, pem.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SubjectHashRefuses,
    ::testing::Values(BadPem{"empty", ""}, BadPem{"plain_text", "hello\n"},
                      BadPem{"truncated", Truncated()},
                      BadPem{"garbled_base64",
                             "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"},
                      BadPem{"a_key", Key::Generate(KeyType::kEcP256)->PrivatePem()}),
    [](const ::testing::TestParamInfo<BadPem>& p) { return std::string(p.param.name); });

TEST(AddCaToCapath, OpenSslVerifiesThroughTheDirectoryAndReAddingChangesNothing) {
    ScratchDir scratch;
    const fs::path capath = scratch.path() / "capath";
    const TestCa ca = MakeCa("Verify CA");
    const TestCa stranger = MakeCa("Stranger CA");
    ASSERT_TRUE(AddCaToCapath(capath, ca.ca.pem()).has_value());
    RunResult trusted = VerifyWithCapath(capath, ca.leaf_pem, scratch.path());
    EXPECT_EQ(trusted.status, 0) << trusted.out << trusted.err;
    RunResult refused = VerifyWithCapath(capath, stranger.leaf_pem, scratch.path());
    EXPECT_NE(refused.status, 0) << "a CA not in the directory must not be trusted";

    const auto entries = [&] {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(capath)) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    };
    const auto before = entries();
    ASSERT_EQ(before.size(), 2U);  // <id>.pem and <hash>.0
    EXPECT_THAT(before, ::testing::Contains(ca.ca.info().certificate_id + ".pem"));
    EXPECT_THAT(before, ::testing::Contains(OpenSslHash(ca.ca.pem(), scratch.path()) + ".0"));
    ASSERT_TRUE(AddCaToCapath(capath, ca.ca.pem()).has_value());
    EXPECT_EQ(entries(), before);
}

TEST(AddCaToCapath, CasSharingASubjectTakeTheNextSuffixUpToTen) {
    ScratchDir scratch;
    const fs::path capath = scratch.path() / "capath";
    std::vector<TestCa> cas;
    for (int i = 0; i < 11; ++i) {
        cas.push_back(MakeCa("One Subject"));
    }
    const std::string hash = OpenSslHash(cas.front().ca.pem(), scratch.path());
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(AddCaToCapath(capath, cas[i].ca.pem()).has_value()) << i;
        EXPECT_EQ(fs::read_symlink(capath / (hash + "." + std::to_string(i))),
                  fs::path(cas[i].ca.info().certificate_id + ".pem"));
    }
    // OpenSSL walks the suffixes: the last CA's leaf verifies, not only the first one's.
    RunResult last = VerifyWithCapath(capath, cas[9].leaf_pem, scratch.path());
    EXPECT_EQ(last.status, 0) << last.out << last.err;
    auto full = AddCaToCapath(capath, cas[10].ca.pem());
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error().code, sim::ErrorCode::kResourceExhausted);
    EXPECT_THAT(full.error().message, HasSubstr(capath.string()));
}

}  // namespace
}  // namespace pki::testing
