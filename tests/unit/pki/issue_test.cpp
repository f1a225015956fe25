// SPDX-License-Identifier: Apache-2.0
// Issuing: each IssueSpec field shows up in the parsed certificate; bad specs are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "test_pki.hpp"

namespace pki {
namespace {

using ::testing::HasSubstr;
using testing::kNow;
using testing::LeafSpec;
using testing::TestRoot;

struct Expected {
    bool is_ca;
    bool client_auth;
    std::string serial_hex;  // empty: not checked
    std::string key_type;
};
const Expected kLeaf{false, true, "", "EC P-256"};
const Expected kNoError{};

struct IssueCase {
    std::string name;
    std::function<void(IssueSpec&)> mutate;
    KeyType key_type;
    Expected expected;
    std::string error;  // non-empty: Issue must fail with this text
};
void PrintTo(const IssueCase& c, std::ostream* os) { *os << c.name; }

class IssueTest : public ::testing::TestWithParam<IssueCase> {};

TEST_P(IssueTest, CertificateSaysWhatTheSpecSays) {
    const auto& param = GetParam();
    static const Key ec_key = *Key::Generate(KeyType::kEcP256);
    static const Key rsa_key = *Key::Generate(KeyType::kRsa2048);
    IssueSpec spec = LeafSpec("issued");
    param.mutate(spec);
    auto issued =
        TestRoot().Issue(spec, param.key_type == KeyType::kEcP256 ? ec_key : rsa_key);
    if (!param.error.empty()) {
        ASSERT_FALSE(issued);
        EXPECT_EQ(issued.error().code, sim::ErrorCode::kInvalidArgument);
        EXPECT_THAT(issued.error().message, HasSubstr(param.error));
        return;
    }
    ASSERT_TRUE(issued) << issued.error().message;
    auto info = ParseCertificatePem(issued->pem);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->is_ca, param.expected.is_ca);
    EXPECT_EQ(info->has_client_auth, param.expected.client_auth);
    EXPECT_EQ(info->key_type, param.expected.key_type);
    if (!param.expected.serial_hex.empty()) {
        EXPECT_EQ(info->serial_hex, param.expected.serial_hex);
    }
    EXPECT_EQ(info->not_before, spec.not_before);
    EXPECT_EQ(info->not_after, spec.not_after);
    EXPECT_TRUE(IsSignedBy(*info, TestRoot().info()));
}

INSTANTIATE_TEST_SUITE_P(
    Specs, IssueTest,
    ::testing::Values(
        IssueCase{"client_auth_leaf", [](IssueSpec&) {}, KeyType::kEcP256, kLeaf, ""},
        IssueCase{"server_auth_only_has_no_client_auth",
                  [](IssueSpec& s) { s.eku = ExtendedKeyUsage::kServerAuth; }, KeyType::kEcP256,
                  Expected{false, false, "", "EC P-256"}, ""},
        IssueCase{"both_usages",
                  [](IssueSpec& s) { s.eku = ExtendedKeyUsage::kClientAndServerAuth; }, KeyType::kEcP256, kLeaf, ""},
        IssueCase{"no_eku_allows_client_auth",
                  [](IssueSpec& s) { s.eku = ExtendedKeyUsage::kNone; }, KeyType::kEcP256, kLeaf, ""},
        IssueCase{"ca_with_pathlen",
                  [](IssueSpec& s) {
                      s.is_ca = true;
                      s.path_len = 0;
                  },
                  KeyType::kEcP256, Expected{true, true, "", "EC P-256"}, ""},
        IssueCase{"rsa_subject_key", [](IssueSpec&) {}, KeyType::kRsa2048,
                  Expected{false, true, "", "RSA 2048"}, ""},
        IssueCase{"explicit_serial",
                  [](IssueSpec& s) { s.serial = {0x00, 0x01, 0xab}; }, KeyType::kEcP256,
                  Expected{false, true, "1ab", "EC P-256"}, ""},
        IssueCase{"twenty_byte_serial",
                  [](IssueSpec& s) { s.serial = std::vector<std::uint8_t>(20, 0x11); },
                  KeyType::kEcP256, Expected{false, true, std::string(40, '1'), "EC P-256"}, ""},
        IssueCase{"sans",
                  [](IssueSpec& s) {
                      s.dns_names = {"a.elsim.test", "*.iot.elsim.test"};
                      s.ip_addresses = {"127.0.0.2", "::1"};
                  },
                  KeyType::kEcP256, kLeaf, ""},
        IssueCase{"after_2049_uses_generalized_time",
                  [](IssueSpec& s) { s.not_after = TimePoint{std::chrono::seconds{4'102'444'800}}; },
                  KeyType::kEcP256, kLeaf, ""},
        // Invalid specs.
        IssueCase{"empty_subject", [](IssueSpec& s) { s.subject.entries.clear(); },
                  KeyType::kEcP256, kNoError, "subject is empty"},
        IssueCase{"not_after_before_not_before",
                  [](IssueSpec& s) { s.not_after = s.not_before - std::chrono::seconds{1}; },
                  KeyType::kEcP256, kNoError, "not_after must be later"},
        IssueCase{"equal_dates", [](IssueSpec& s) { s.not_after = s.not_before; },
                  KeyType::kEcP256, kNoError, "not_after must be later"},
        IssueCase{"serial_too_long",
                  [](IssueSpec& s) { s.serial = std::vector<std::uint8_t>(21, 1); },
                  KeyType::kEcP256, kNoError, "1 to 20 bytes"},
        IssueCase{"negative_serial", [](IssueSpec& s) { s.serial = {0x80, 0x01}; },
                  KeyType::kEcP256, kNoError, "positive"},
        IssueCase{"pathlen_without_ca", [](IssueSpec& s) { s.path_len = 1; }, KeyType::kEcP256,
                  kNoError, "path_len"},
        IssueCase{"bad_dns_name", [](IssueSpec& s) { s.dns_names = {"bad name"}; },
                  KeyType::kEcP256, kNoError, "DNS name 'bad name'"},
        IssueCase{"bad_ip", [](IssueSpec& s) { s.ip_addresses = {"300.1.1.1"}; },
                  KeyType::kEcP256, kNoError, "IP address '300.1.1.1'"},
        IssueCase{"cn_too_long",
                  [](IssueSpec& s) { s.subject.entries = {{"CN", std::string(65, 'x')}}; },
                  KeyType::kEcP256, kNoError, "subject entry CN="},
        IssueCase{"unknown_attribute",
                  [](IssueSpec& s) { s.subject.entries = {{"NOPE", "x"}}; }, KeyType::kEcP256,
                  kNoError, "subject entry NOPE=x"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(CertificateAuthorityTest, SubordinateChainsUpToTheRoot) {
    auto key = Key::Generate(KeyType::kEcP256);
    auto sub = TestRoot().CreateSubordinate(
        IntermediateCaSpec(DistinguishedName{{{"CN", "Sub"}}}, kNow, Days{100}), *key);
    ASSERT_TRUE(sub) << sub.error().message;
    EXPECT_TRUE(sub->info().is_ca);
    EXPECT_TRUE(IsSignedBy(sub->info(), TestRoot().info()));
    EXPECT_EQ(sub->chain_pem(), sub->pem() + TestRoot().pem());
    auto leaf_key = Key::Generate(KeyType::kEcP256);
    auto leaf = sub->Issue(LeafSpec(), *leaf_key);
    ASSERT_TRUE(leaf);
    auto info = ParseCertificatePem(leaf->pem);
    EXPECT_TRUE(IsSignedBy(*info, sub->info()));
    EXPECT_FALSE(IsSignedBy(*info, TestRoot().info()));
}

struct LoadCase {
    std::string name;
    std::function<std::string()> cert;
    std::function<std::string()> key;
    std::string error;  // empty: loads
};

void PrintTo(const LoadCase& c, std::ostream* os) { *os << c.name; }

class LoadCaTest : public ::testing::TestWithParam<LoadCase> {};

TEST_P(LoadCaTest, ChecksCertificateKeyAndMatch) {
    auto ca = CertificateAuthority::Load(GetParam().cert(), GetParam().key());
    if (GetParam().error.empty()) {
        ASSERT_TRUE(ca) << ca.error().message;
        EXPECT_EQ(ca->info().certificate_id, TestRoot().info().certificate_id);
        return;
    }
    ASSERT_FALSE(ca);
    EXPECT_EQ(ca.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_THAT(ca.error().message, HasSubstr(GetParam().error));
}

std::string RootPem() { return TestRoot().pem(); }
std::string RootKey() { return TestRoot().key().PrivatePem(); }
std::string OtherKey() { return Key::Generate(KeyType::kEcP256)->PrivatePem(); }
std::string LeafPem() {
    static const std::string pem = TestRoot().Issue(LeafSpec(), TestRoot().key())->pem;
    return pem;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, LoadCaTest,
    ::testing::Values(
        LoadCase{"matching", RootPem, RootKey, ""},
        LoadCase{"key_of_another_ca", RootPem, OtherKey, "does not match the certificate"},
        LoadCase{"leaf_is_not_a_ca", LeafPem, RootKey, "not a CA certificate"},
        LoadCase{"garbled_certificate",
                 [] { return std::string("-----BEGIN CERTIFICATE-----\n@@\n-----END CERTIFICATE-----\n"); },
                 RootKey, "garbled PEM certificate"},
        LoadCase{"no_key", RootPem, [] { return std::string("nothing"); },
                 "no PEM private key found"},
        LoadCase{"garbled_key", RootPem,
                 [] { return std::string("-----BEGIN PRIVATE KEY-----\n@@\n-----END PRIVATE KEY-----\n"); },
                 "garbled PEM private key"}),
    [](const auto& test_info) { return test_info.param.name; });

struct DnCase {
    std::string name;
    std::string text;
    DistinguishedName expected;
    std::string error;
};

void PrintTo(const DnCase& c, std::ostream* os) { *os << c.name; }

class ParseDistinguishedNameTest : public ::testing::TestWithParam<DnCase> {};

TEST_P(ParseDistinguishedNameTest, ParsesOrNamesTheBadPart) {
    auto dn = ParseDistinguishedName(GetParam().text);
    if (GetParam().error.empty()) {
        ASSERT_TRUE(dn) << dn.error().message;
        EXPECT_EQ(*dn, GetParam().expected);
        return;
    }
    ASSERT_FALSE(dn);
    EXPECT_THAT(dn.error().message, HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Texts, ParseDistinguishedNameTest,
    ::testing::Values(
        DnCase{"comma_form", "O=Acme,CN=Root", DistinguishedName{{{"O", "Acme"}, {"CN", "Root"}}}, ""},
        DnCase{"slash_form", "/C=US/CN=x", DistinguishedName{{{"C", "US"}, {"CN", "x"}}}, ""},
        DnCase{"escaped_comma", "O=Acme\\, Inc.,CN=y",
               DistinguishedName{{{"O", "Acme, Inc."}, {"CN", "y"}}}, ""},
        DnCase{"space_after_comma", "O=A, CN=B", DistinguishedName{{{"O", "A"}, {"CN", "B"}}}, ""},
        DnCase{"no_equals", "nonsense", {}, "is not KEY=VALUE"},
        DnCase{"empty_value", "CN=", {}, "empty value"},
        DnCase{"unknown_attribute", "XYZ=1", {}, "attribute 'XYZ' is unknown"},
        DnCase{"empty", "", {}, "is not KEY=VALUE"}),
    [](const auto& test_info) { return test_info.param.name; });

}  // namespace
}  // namespace pki
