// SPDX-License-Identifier: Apache-2.0
// The certificate model: certificateId computation, PEM/DER parsing (valid and invalid),
// names, signature and validity checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include <openssl/x509.h>

#include "pki/certificate.hpp"
#include "pki/openssl_certificate.hpp"
#include "test_pki.hpp"

namespace pki {
namespace {

using ::testing::HasSubstr;
using testing::kNow;
using testing::LeafSpec;
using testing::TestRoot;

// ---- certificateId = lowercase hex SHA-256 of the DER -------------------------------------

struct IdCase {
    std::string name;
    std::string der;
    std::string expected;
};

void PrintTo(const IdCase& c, std::ostream* os) { *os << c.name; }

class CertificateIdTest : public ::testing::TestWithParam<IdCase> {};

TEST_P(CertificateIdTest, IsLowercaseHexSha256OfTheBytes) {
    EXPECT_EQ(CertificateIdOfDer(GetParam().der), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Fips180Vectors, CertificateIdTest,
    ::testing::Values(
        IdCase{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        IdCase{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        IdCase{"two_blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        IdCase{"binary_zeros", std::string(3, '\0'),
               "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(CertificateIdTest, ParsedCertificateIdIsTheHashOfItsDer) {
    auto key = Key::Generate(KeyType::kEcP256);
    auto issued = TestRoot().Issue(LeafSpec(), *key);
    ASSERT_TRUE(issued) << issued.error().message;
    auto info = ParseCertificatePem(issued->pem);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->der, issued->der);
    EXPECT_EQ(info->certificate_id, CertificateIdOfDer(issued->der));
    EXPECT_EQ(info->certificate_id, issued->certificate_id);
    EXPECT_EQ(info->certificate_id.size(), 64U);
}

// ---- parsing: invalid inputs ----------------------------------------------------------------

struct BadPemCase {
    std::string name;
    std::string pem;
    std::string error;
};

void PrintTo(const BadPemCase& c, std::ostream* os) { *os << c.name; }

class ParseBadPemTest : public ::testing::TestWithParam<BadPemCase> {};

TEST_P(ParseBadPemTest, FailsWithTheReason) {
    auto info = ParseCertificatePem(GetParam().pem);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_THAT(info.error().message, HasSubstr(GetParam().error));
    auto chain = ParseCertificateChainPem(GetParam().pem);
    ASSERT_FALSE(chain);
}

std::string Truncated() {
    std::string pem = TestRoot().pem();
    const auto end = pem.find("-----END");
    return pem.substr(0, end - 40) + "\n" + pem.substr(end);
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, ParseBadPemTest,
    ::testing::Values(
        BadPemCase{"empty", "", "no PEM certificate found"},
        BadPemCase{"plain_text", "hello world\n", "no PEM certificate found"},
        BadPemCase{"private_key_not_certificate", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                                  "-----END PRIVATE KEY-----\n",
                   "no PEM certificate found"},
        BadPemCase{"garbled_base64",
                   "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
                   "garbled PEM certificate"},
        BadPemCase{"valid_base64_not_der",
                   "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
                   "garbled PEM certificate"},
        BadPemCase{"unterminated", "-----BEGIN CERTIFICATE-----\nMIIB\n",
                   "garbled PEM certificate"},
        BadPemCase{"truncated_body", Truncated(), "garbled PEM certificate"}),
    [](const auto& test_info) { return test_info.param.name; });

struct BadDerCase {
    std::string name;
    std::string der;
};

void PrintTo(const BadDerCase& c, std::ostream* os) { *os << c.name; }

class ParseBadDerTest : public ::testing::TestWithParam<BadDerCase> {};

TEST_P(ParseBadDerTest, IsRefused) {
    auto info = ParseCertificateDer(GetParam().der);
    ASSERT_FALSE(info);
    EXPECT_THAT(info.error().message, HasSubstr("garbled DER certificate"));
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, ParseBadDerTest,
    ::testing::Values(BadDerCase{"empty", ""}, BadDerCase{"junk", "\x30\x03\x02\x01"},
                      BadDerCase{"trailing_byte", TestRoot().info().der + "x"},
                      BadDerCase{"cut_short", TestRoot().info().der.substr(0, 100)}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(ParseCertificateChainPemTest, ReadsEveryCertificateInOrder) {
    auto key = Key::Generate(KeyType::kEcP256);
    auto leaf = TestRoot().Issue(LeafSpec("chained"), *key);
    ASSERT_TRUE(leaf);
    auto chain = ParseCertificateChainPem("junk before\n" + leaf->pem + TestRoot().pem());
    ASSERT_TRUE(chain) << chain.error().message;
    ASSERT_EQ(chain->size(), 2U);
    EXPECT_EQ((*chain)[0].subject.Get("CN"), "chained");
    EXPECT_EQ((*chain)[1].certificate_id, TestRoot().info().certificate_id);
    auto first = ParseCertificatePem(leaf->pem + TestRoot().pem());
    ASSERT_TRUE(first);
    EXPECT_EQ(first->certificate_id, leaf->certificate_id);
}

TEST(ParseCertificateChainPemTest, NamesTheBadCertificate) {
    auto chain = ParseCertificateChainPem(
        TestRoot().pem() + "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n");
    ASSERT_FALSE(chain);
    EXPECT_THAT(chain.error().message, HasSubstr("certificate 2 of the chain"));
}

// ---- names --------------------------------------------------------------------------------

struct NameCase {
    std::string name;
    DistinguishedName dn;
    std::string text;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class DistinguishedNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(DistinguishedNameTest, RoundTripsThroughACertificate) {
    auto key = Key::Generate(KeyType::kEcP256);
    IssueSpec spec = LeafSpec();
    spec.subject = GetParam().dn;
    auto issued = TestRoot().Issue(spec, *key);
    ASSERT_TRUE(issued) << issued.error().message;
    auto info = ParseCertificatePem(issued->pem);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->subject, GetParam().dn);
    EXPECT_EQ(info->subject.ToString(), GetParam().text);
    EXPECT_EQ(info->issuer, TestRoot().info().subject);
}

INSTANTIATE_TEST_SUITE_P(
    Names, DistinguishedNameTest,
    ::testing::Values(
        NameCase{"cn_only", DistinguishedName{{{"CN", "x"}}}, "CN=x"},
        NameCase{"ordered", DistinguishedName{{{"C", "US"}, {"O", "Acme, Inc."}, {"CN", "a"}}},
                 "C=US,O=Acme\\, Inc.,CN=a"},
        NameCase{"serial_number_attribute",
                 DistinguishedName{{{"serialNumber", "1234"}, {"CN", "b"}}},
                 "serialNumber=1234,CN=b"},
        NameCase{"unicode", DistinguishedName{{{"CN", "Gr\xc3\xbc\xc3\x9f" "e"}}},
                 "CN=Gr\xc3\xbc\xc3\x9f" "e"},
        NameCase{"dotted_oid_for_unknown",
                 DistinguishedName{{{"1.2.3.4", "v"}, {"CN", "c"}}}, "1.2.3.4=v,CN=c"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(DistinguishedNameTest, GetReturnsFirstAndGetAllEveryValue) {
    const DistinguishedName dn{{{"OU", "a"}, {"CN", "x"}, {"OU", "b"}}};
    EXPECT_EQ(dn.Get("OU"), "a");
    EXPECT_EQ(dn.Get("O"), std::nullopt);
    EXPECT_THAT(dn.GetAll("OU"), ::testing::ElementsAre("a", "b"));
    EXPECT_TRUE(dn.GetAll("C").empty());
}

// ---- signatures and validity ---------------------------------------------------------------

// A leaf of the test root, and a look-alike root: the same subject with another key.
class IsSignedByTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto key = Key::Generate(KeyType::kEcP256);
        ASSERT_TRUE(key);
        auto leaf = TestRoot().Issue(LeafSpec(), *key);
        ASSERT_TRUE(leaf);
        auto parsed = ParseCertificatePem(leaf->pem);
        ASSERT_TRUE(parsed);
        leaf_info = std::move(*parsed);
        auto other_key = Key::Generate(KeyType::kEcP256);
        ASSERT_TRUE(other_key);
        auto root = CertificateAuthority::CreateRoot(
            RootCaSpec(TestRoot().info().subject, kNow, Days{10}), *other_key);
        ASSERT_TRUE(root);
        lookalike = std::move(*root);
    }

    std::optional<CertificateInfo> leaf_info;
    std::optional<CertificateAuthority> lookalike;
};

TEST_F(IsSignedByTest, TellsTheRealIssuerFromALookAlike) {
    EXPECT_TRUE(IsSignedBy(*leaf_info, TestRoot().info()));
    EXPECT_FALSE(IsSignedBy(*leaf_info, lookalike->info()));
    EXPECT_FALSE(IsSignedBy(TestRoot().info(), *leaf_info));
    EXPECT_TRUE(IsSignedBy(TestRoot().info(), TestRoot().info()));  // self-signed
}

// A signature check remembers the issuers that verified a certificate; the memory must follow
// the bytes, never a look-alike or a certificate whose DER was changed after parsing.
TEST_F(IsSignedByTest, RemembersOnlyWhatTheBytesProve) {
    ASSERT_TRUE(leaf_info->decoded);
    ASSERT_TRUE(IsSignedBy(*leaf_info, TestRoot().info()));   // remembered now
    EXPECT_TRUE(IsSignedBy(*leaf_info, TestRoot().info()));   // from memory
    EXPECT_FALSE(IsSignedBy(*leaf_info, lookalike->info()));  // same subject, other key

    // A copy shares the decoded form; once its DER changes, the decoded form is not used.
    pki::CertificateInfo tampered = *leaf_info;
    tampered.der[tampered.der.size() - 3] ^= 0x5a;  // inside the signature
    EXPECT_FALSE(IsSignedBy(tampered, TestRoot().info()));
    pki::CertificateInfo garbled = *leaf_info;
    garbled.der = "not DER";
    EXPECT_FALSE(IsSignedBy(garbled, TestRoot().info()));

    // An issuer built field by field (no decoded form) is decoded from its DER.
    pki::CertificateInfo bare_root = TestRoot().info();
    bare_root.decoded = nullptr;
    EXPECT_TRUE(IsSignedBy(*leaf_info, bare_root));
    bare_root.der = lookalike->info().der;  // the subject still matches, the key does not
    EXPECT_FALSE(IsSignedBy(*leaf_info, bare_root));
}

// What the TLS layer decoded reads the same as a parse of its DER.
TEST(CertificateInfoOfX509Test, EqualsAParseOfTheDer) {
    auto key = Key::Generate(KeyType::kEcP256);
    auto leaf = TestRoot().Issue(LeafSpec(), *key);
    ASSERT_TRUE(leaf);
    const auto* cursor = reinterpret_cast<const unsigned char*>(leaf->der.data());
    X509* decoded = d2i_X509(nullptr, &cursor, static_cast<long>(leaf->der.size()));
    ASSERT_NE(decoded, nullptr);
    auto from_x509 = CertificateInfoOfX509(decoded);
    X509_free(decoded);  // the info holds its own reference
    ASSERT_TRUE(from_x509) << from_x509.error().message;
    auto parsed = ParseCertificateDer(leaf->der);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(from_x509->der, parsed->der);
    EXPECT_EQ(from_x509->pem, parsed->pem);
    EXPECT_EQ(from_x509->certificate_id, parsed->certificate_id);
    EXPECT_EQ(from_x509->subject, parsed->subject);
    EXPECT_EQ(from_x509->issuer, parsed->issuer);
    EXPECT_EQ(from_x509->serial_hex, parsed->serial_hex);
    EXPECT_EQ(from_x509->not_after, parsed->not_after);
    EXPECT_EQ(from_x509->public_key_sha256, key->PublicKeySha256());
    EXPECT_EQ(from_x509->key_type, "EC P-256");
    EXPECT_TRUE(IsSignedBy(*from_x509, TestRoot().info()));

    auto none = CertificateInfoOfX509(nullptr);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message, "no certificate");
}

struct ValidityCase {
    std::string name;
    TimePoint at;
    bool valid;
};

void PrintTo(const ValidityCase& c, std::ostream* os) { *os << c.name; }

class IsValidAtTest : public ::testing::TestWithParam<ValidityCase> {};

TEST_P(IsValidAtTest, ChecksBothBoundsInclusive) {
    auto key = Key::Generate(KeyType::kEcP256);
    auto leaf = TestRoot().Issue(LeafSpec(), *key);
    auto info = ParseCertificatePem(leaf->pem);
    ASSERT_TRUE(info);
    EXPECT_EQ(IsValidAt(*info, GetParam().at), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, IsValidAtTest,
    ::testing::Values(ValidityCase{"now", kNow, true},
                      ValidityCase{"at_not_before", kNow - std::chrono::hours{1}, true},
                      ValidityCase{"before", kNow - std::chrono::hours{1} - std::chrono::seconds{1},
                                   false},
                      ValidityCase{"at_not_after", kNow + Days{30}, true},
                      ValidityCase{"after", kNow + Days{30} + std::chrono::seconds{1}, false}),
    [](const auto& test_info) { return test_info.param.name; });

}  // namespace
}  // namespace pki
