// SPDX-License-Identifier: Apache-2.0
// Keys (generation, PEM forms) and issuing from a CSR (CreateCertificateFromCsr rules).
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "test_pki.hpp"

namespace pki {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::kNow;
using testing::TestRoot;

struct KeyCase {
    std::string name;
    KeyType type;
    std::string description;
    std::string traditional_header;
};

void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.name; }

class KeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(KeyTest, GeneratesAndRoundTripsThroughPem) {
    auto key = Key::Generate(GetParam().type);
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_TRUE(key->has_private());
    EXPECT_EQ(key->Description(), GetParam().description);
    EXPECT_THAT(key->PrivatePem(), StartsWith("-----BEGIN PRIVATE KEY-----"));
    EXPECT_THAT(key->TraditionalPrivatePem(), StartsWith(GetParam().traditional_header));
    EXPECT_THAT(key->PublicPem(), StartsWith("-----BEGIN PUBLIC KEY-----"));
    for (const auto& pem : {key->PrivatePem(), key->TraditionalPrivatePem()}) {
        auto back = Key::FromPrivatePem(pem);
        ASSERT_TRUE(back) << back.error().message;
        EXPECT_EQ(back->PublicKeySha256(), key->PublicKeySha256());
    }
    auto pub = Key::FromPublicPem(key->PublicPem());
    ASSERT_TRUE(pub);
    EXPECT_FALSE(pub->has_private());
    EXPECT_EQ(pub->PublicKeySha256(), key->PublicKeySha256());
    EXPECT_TRUE(pub->PrivatePem().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Types, KeyTest,
    ::testing::Values(KeyCase{"ec", KeyType::kEcP256, "EC P-256", "-----BEGIN EC PRIVATE KEY-----"},
                      KeyCase{"rsa", KeyType::kRsa2048, "RSA 2048",
                              "-----BEGIN RSA PRIVATE KEY-----"}),
    [](const auto& test_info) { return test_info.param.name; });

struct BadKeyCase {
    std::string name;
    std::string pem;
    std::string error;
};

void PrintTo(const BadKeyCase& c, std::ostream* os) { *os << c.name; }

class BadKeyTest : public ::testing::TestWithParam<BadKeyCase> {};

TEST_P(BadKeyTest, IsRefusedWithoutPrompting) {
    auto key = Key::FromPrivatePem(GetParam().pem);
    ASSERT_FALSE(key);
    EXPECT_THAT(key.error().message, HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, BadKeyTest,
    ::testing::Values(
        BadKeyCase{"empty", "", "no PEM private key found"},
        BadKeyCase{"certificate", TestRoot().pem(), "no PEM private key found"},
        BadKeyCase{"encrypted",
                   "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
                   "encrypted"},
        BadKeyCase{"garbled", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                   "garbled PEM private key"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(ParseKeyTypeTest, AcceptsEcAndRsaOnly) {
    EXPECT_EQ(*ParseKeyType("ec"), KeyType::kEcP256);
    EXPECT_EQ(*ParseKeyType("rsa"), KeyType::kRsa2048);
    EXPECT_FALSE(ParseKeyType("dsa"));
    EXPECT_FALSE(ParseKeyType("EC"));
    EXPECT_FALSE(ParseKeyType(""));
}

// ---- CSRs ---------------------------------------------------------------------------------

EVP_PKEY* MakeKey(const std::string& algorithm) {
    if (algorithm == "rsa1024") {
        return EVP_RSA_gen(1024);
    }
    if (algorithm == "rsa2048") {
        return EVP_RSA_gen(2048);
    }
    if (algorithm == "ed25519") {
        return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    }
    return EVP_EC_gen(algorithm.c_str());  // "P-256", "P-384", "P-521", "secp256k1"
}

// A CSR made with OpenSSL directly (not our code), optionally with a broken signature.
std::string MakeCsr(const std::string& algorithm, const std::string& cn, bool tamper) {
    EVP_PKEY* key = MakeKey(algorithm);
    X509_REQ* req = X509_REQ_new();
    X509_REQ_set_version(req, 0);
    if (!cn.empty()) {
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    }
    X509_REQ_set_pubkey(req, key);
    const bool ed = algorithm == "ed25519";
    X509_REQ_sign(req, key, ed ? nullptr : EVP_sha256());
    if (tamper) {
        // Change the subject after signing: the signature no longer covers the content.
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("tampered"), -1, -1, 0);
    }
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(bio, req);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int)
    std::string pem(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return pem;
}

struct CsrCase {
    std::string name;
    std::function<std::string()> csr;
    std::string expected_key_type;  // empty: must fail
    std::string error;
    std::string expected_cn = "device";
};

void PrintTo(const CsrCase& c, std::ostream* os) { *os << c.name; }

// A certificate valid for one day from kNow.
CsrIssueOptions OneDay() {
    CsrIssueOptions options;
    options.not_before = kNow;
    options.not_after = kNow + Days{1};
    return options;
}

class IssueFromCsrTest : public ::testing::TestWithParam<CsrCase> {
protected:
    // For a case that expects a refusal: checks that `issued` is that refusal and returns true
    // (the test is over). Otherwise false.
    template <class Issued>
    static bool CheckedRefusal(const Issued& issued) {
        if (!GetParam().expected_key_type.empty()) {
            return false;
        }
        EXPECT_FALSE(issued);
        if (!issued) {
            EXPECT_EQ(issued.error().code, sim::ErrorCode::kInvalidArgument);
            EXPECT_THAT(issued.error().message, HasSubstr(GetParam().error));
        }
        return true;
    }
};

TEST_P(IssueFromCsrTest, AcceptsOnlyAllowedKeysWithGoodSignatures) {
    auto issued = TestRoot().IssueFromCsr(GetParam().csr(), OneDay());
    if (CheckedRefusal(issued)) {
        return;
    }
    ASSERT_TRUE(issued) << issued.error().message;
    auto info = ParseCertificatePem(issued->pem);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->key_type, GetParam().expected_key_type);
    EXPECT_EQ(info->subject.Get("CN"), GetParam().expected_cn);
    EXPECT_TRUE(info->has_client_auth);
    EXPECT_TRUE(IsSignedBy(*info, TestRoot().info()));
}

// The description read from the certificate just signed is the one a parse of its PEM gives.
TEST_P(IssueFromCsrTest, InfoFromTheSignedCertificateEqualsAParseOfItsPem) {
    auto issued = TestRoot().IssueInfoFromCsr(GetParam().csr(), OneDay());
    if (CheckedRefusal(issued)) {
        return;
    }
    ASSERT_TRUE(issued) << issued.error().message;
    auto parsed = ParseCertificatePem(issued->pem);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(issued->der, parsed->der);
    EXPECT_EQ(issued->pem, parsed->pem);
    EXPECT_EQ(issued->certificate_id, parsed->certificate_id);
    EXPECT_EQ(issued->certificate_id, CertificateIdOfDer(issued->der));
    EXPECT_EQ(issued->subject, parsed->subject);
    EXPECT_EQ(issued->issuer, parsed->issuer);
    EXPECT_EQ(issued->serial_hex, parsed->serial_hex);
    EXPECT_EQ(issued->not_before, parsed->not_before);
    EXPECT_EQ(issued->not_after, parsed->not_after);
    EXPECT_EQ(issued->is_ca, parsed->is_ca);
    EXPECT_FALSE(issued->is_ca);
    EXPECT_EQ(issued->has_client_auth, parsed->has_client_auth);
    EXPECT_TRUE(issued->has_client_auth);
    EXPECT_EQ(issued->public_key_sha256, parsed->public_key_sha256);
    EXPECT_EQ(issued->key_type, GetParam().expected_key_type);
    EXPECT_EQ(issued->subject.Get("CN"), GetParam().expected_cn);
    EXPECT_TRUE(IsSignedBy(*issued, TestRoot().info()));
}

INSTANTIATE_TEST_SUITE_P(
    Csrs, IssueFromCsrTest,
    ::testing::Values(
        CsrCase{"ec_p256", [] { return MakeCsr("P-256", "device", false); }, "EC P-256", ""},
        CsrCase{"ec_p384", [] { return MakeCsr("P-384", "device", false); }, "EC P-384", ""},
        CsrCase{"ec_p521", [] { return MakeCsr("P-521", "device", false); }, "EC P-521", ""},
        CsrCase{"rsa2048", [] { return MakeCsr("rsa2048", "device", false); }, "RSA 2048", ""},
        CsrCase{"empty_subject_gets_aws_subject", [] { return MakeCsr("P-256", "", false); },
                "EC P-256", "", "AWS IoT Certificate"},
        CsrCase{"rsa1024_refused", [] { return MakeCsr("rsa1024", "device", false); }, "",
                "CSR key RSA 1024 is not allowed"},
        CsrCase{"secp256k1_refused", [] { return MakeCsr("secp256k1", "device", false); }, "",
                "is not allowed"},
        CsrCase{"ed25519_refused", [] { return MakeCsr("ed25519", "device", false); }, "",
                "CSR key ED25519 is not allowed"},
        CsrCase{"tampered_signature", [] { return MakeCsr("P-256", "device", true); }, "",
                "CSR signature does not verify"},
        CsrCase{"not_a_csr", [] { return TestRoot().pem(); }, "",
                "no PEM certificate request found"},
        CsrCase{"garbled",
                [] {
                    return std::string(
                        "-----BEGIN CERTIFICATE REQUEST-----\nQUJD\n-----END CERTIFICATE REQUEST-----\n");
                },
                "", "garbled PEM certificate request"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(IssueFromCsrTest, SameCsrTwiceGivesDistinctCertificates) {
    const std::string csr = MakeCsr("P-256", "device", false);
    auto first = TestRoot().IssueFromCsr(csr, OneDay());
    auto second = TestRoot().IssueFromCsr(csr, OneDay());
    ASSERT_TRUE(first && second);
    EXPECT_NE(first->certificate_id, second->certificate_id);  // as CreateCertificateFromCsr
}

}  // namespace
}  // namespace pki
