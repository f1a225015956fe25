// SPDX-License-Identifier: Apache-2.0
// Profiles: ThingName format and uniqueness, birth certificates (serial = CN = ThingName),
// AWS-issued certificates, verification and server specs.
#include <optional>
#include <set>

#include "test_pki.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pki {
namespace {

using ::testing::HasSubstr;
using testing::kNow;
using testing::TestRoot;

// A named text and whether the function under test accepts it (ThingNames, registration codes).
struct TextCase {
    std::string name;
    std::string text;
    bool valid;
};

void PrintTo(const TextCase& c, std::ostream* os) { *os << c.name; }

// Names each instantiated case after its `name` member.
const auto kCaseName = [](const auto& test_info) { return test_info.param.name; };

// Issues `spec` from the test root for a fresh P-256 key and parses the result; nullopt (with
// the failure recorded) when any step fails.
std::optional<CertificateInfo> IssueFromTestRoot(const IssueSpec& spec) {
    auto key = Key::Generate(KeyType::kEcP256);
    if (!key) {
        ADD_FAILURE() << key.error().message;
        return std::nullopt;
    }
    auto cert = TestRoot().Issue(spec, *key);
    if (!cert) {
        ADD_FAILURE() << cert.error().message;
        return std::nullopt;
    }
    auto info = ParseCertificatePem(cert->pem);
    if (!info) {
        ADD_FAILURE() << info.error().message;
        return std::nullopt;
    }
    return std::move(info).value();
}

class IsThingNameTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(IsThingNameTest, AcceptsOnlyTheFactoryFormat) {
    EXPECT_EQ(IsThingName(GetParam().text), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Texts, IsThingNameTest,
    ::testing::Values(TextCase{"lowest", "4" + std::string(33, '0'), true},
                      TextCase{"highest", "7" + std::string(33, 'f'), true},
                      TextCase{"leading_zero", "0" + std::string(33, 'a'), false},
                      TextCase{"top_bit_set", "8" + std::string(33, 'a'), false},
                      TextCase{"upper_case", "4" + std::string(33, 'A'), false},
                      TextCase{"too_short", "4" + std::string(31, 'a'), false},
                      TextCase{"too_long", "4" + std::string(34, 'a'), false},
                      TextCase{"not_hex", "4" + std::string(32, 'a') + "g", false},
                      TextCase{"empty", "", false}),
    kCaseName);

TEST(NewThingNameTest, IsWellFormedUniqueAndMatchesItsSerial) {
    std::set<std::string> seen;
    std::set<char> first_digits;
    for (int i = 0; i < 2000; ++i) {
        auto name = NewThingName();
        ASSERT_TRUE(name);
        ASSERT_TRUE(IsThingName(name->text)) << name->text;
        ASSERT_EQ(name->serial.size(), kThingNameBytes);
        EXPECT_EQ(name->text.size(), kThingNameHexLength);
        first_digits.insert(name->text.front());
        EXPECT_TRUE(seen.insert(name->text).second) << "duplicate " << name->text;
    }
    // Non-sequential: the first nibble alone takes every allowed value across 2000 draws.
    EXPECT_EQ(first_digits, (std::set<char>{'4', '5', '6', '7'}));
}

TEST(ModuleIdentityMakerTest, BirthCertificateSerialEqualsCnEqualsThingName) {
    ModuleIdentityMaker::Options options;
    options.not_before = kNow;
    options.not_after = kNow + Days{3650};
    options.organization = "Acme";
    ModuleIdentityMaker maker(TestRoot(), options);
    for (int i = 0; i < 50; ++i) {
        auto identity = maker.Make();
        ASSERT_TRUE(identity) << identity.error().message;
        auto info = ParseCertificatePem(identity->certificate.pem);
        ASSERT_TRUE(info);
        EXPECT_EQ(info->serial_hex, identity->thing_name);
        EXPECT_EQ(info->subject.Get("CN"), identity->thing_name);
        EXPECT_EQ(info->subject.Get("O"), "Acme");
        EXPECT_TRUE(info->has_client_auth);
        EXPECT_FALSE(info->is_ca);
        EXPECT_EQ(info->key_type, "EC P-256");
        EXPECT_TRUE(IsSignedBy(*info, TestRoot().info()));
        auto key = Key::FromPrivatePem(identity->key_pem);
        ASSERT_TRUE(key);
        EXPECT_EQ(key->PublicKeySha256(), info->public_key_sha256);
        auto chain = ParseCertificateChainPem(identity->chain_pem);
        ASSERT_TRUE(chain);
        ASSERT_EQ(chain->size(), 2U);
        EXPECT_EQ((*chain)[1].certificate_id, TestRoot().info().certificate_id);
    }
}

TEST(AwsDeviceCertificateTest, LooksLikeCreateKeysAndCertificate) {
    auto issued = IssueAwsDeviceCertificate(TestRoot(), kNow);
    ASSERT_TRUE(issued) << issued.error().message;
    auto info = ParseCertificatePem(issued->certificate.pem);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->subject.ToString(), "CN=AWS IoT Certificate");
    EXPECT_EQ(info->not_after, TimePoint{std::chrono::seconds{2524607999}});
    EXPECT_EQ(info->key_type, "RSA 2048");
    EXPECT_THAT(issued->private_key_pem, ::testing::StartsWith("-----BEGIN RSA PRIVATE KEY-----"));
    EXPECT_THAT(issued->public_key_pem, ::testing::StartsWith("-----BEGIN PUBLIC KEY-----"));
    EXPECT_EQ(info->public_key_sha256, Key::FromPublicPem(issued->public_key_pem)->PublicKeySha256());
}

class VerificationSpecTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(VerificationSpecTest, CnIsTheRegistrationCode) {
    auto spec = VerificationSpec(GetParam().text, kNow, Days{1});
    if (!GetParam().valid) {
        ASSERT_FALSE(spec);
        EXPECT_THAT(spec.error().message, HasSubstr("registration code"));
        return;
    }
    ASSERT_TRUE(spec);
    const auto info = IssueFromTestRoot(*spec);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->subject.Get("CN"), GetParam().text);
    EXPECT_TRUE(IsSignedBy(*info, TestRoot().info()));
}

INSTANTIATE_TEST_SUITE_P(Codes, VerificationSpecTest,
                         ::testing::Values(TextCase{"aws_64_hex", std::string(64, 'a'), true},
                                           TextCase{"short", "abc123", true},
                                           TextCase{"empty", "", false},
                                           TextCase{"too_long", std::string(65, 'a'), false},
                                           TextCase{"space", "abc 123", false},
                                           TextCase{"slash", "a/b", false}),
                         kCaseName);

struct ServerCase {
    std::string name;
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    std::string cn;  // empty: must fail
};

void PrintTo(const ServerCase& c, std::ostream* os) { *os << c.name; }

class ServerSpecTest : public ::testing::TestWithParam<ServerCase> {};

TEST_P(ServerSpecTest, CnIsTheFirstNameAndAllAreSans) {
    auto spec = ServerSpec(GetParam().dns, GetParam().ips, kNow, Days{1});
    if (GetParam().cn.empty()) {
        ASSERT_FALSE(spec);
        return;
    }
    ASSERT_TRUE(spec);
    const auto info = IssueFromTestRoot(*spec);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->subject.Get("CN"), GetParam().cn);
    EXPECT_FALSE(info->has_client_auth);
}

INSTANTIATE_TEST_SUITE_P(
    Names, ServerSpecTest,
    ::testing::Values(
        ServerCase{
            "one_name", {"a-ats.iot.us-east-1.elsim.test"}, {}, "a-ats.iot.us-east-1.elsim.test"},
        ServerCase{
            "names_and_ips", {"x.elsim.test", "y.elsim.test"}, {"127.0.0.3"}, "x.elsim.test"},
        ServerCase{"ip_only", {}, {"127.0.0.4"}, "127.0.0.4"}, ServerCase{"nothing", {}, {}, ""}),
    kCaseName);

}  // namespace
}  // namespace pki
