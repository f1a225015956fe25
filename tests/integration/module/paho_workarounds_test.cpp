// SPDX-License-Identifier: Apache-2.0
// The two process-wide work-arounds for Paho C that sim::module_adapters links into every
// program: the TLS file memo (sim/module/tls_file_memo.hpp) and the stdin guard
// (sim/module/paho_stdin_guard.hpp). Real OpenSSL, real files, the real Paho C library.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <MQTTAsync.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sim/module/paho_stdin_guard.hpp"
#include "sim/module/tls_file_memo.hpp"
#include "sim/testing/support.hpp"

namespace {

namespace fs = std::filesystem;
using sim::module::GetTlsFileMemoStats;
using sim::module::TlsFileMemoStats;
using sim::testing::TempDir;
using sim::testing::TestPki;
using sim::testing::WriteTextFile;

struct Ctx {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    Ctx() = default;
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
    ~Ctx() { SSL_CTX_free(ctx); }
};

TlsFileMemoStats Delta(const TlsFileMemoStats& before) {
    const auto now = GetTlsFileMemoStats();
    return TlsFileMemoStats{now.hits - before.hits, now.misses - before.misses,
                            now.bypassed - before.bypassed};
}

std::string Der(X509* cert) {
    unsigned char* out = nullptr;
    const int n = i2d_X509(cert, &out);
    std::string der(reinterpret_cast<char*>(out), n > 0 ? static_cast<std::size_t>(n) : 0);
    OPENSSL_free(out);
    return der;
}

std::string DerOfPem(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    std::string der = cert != nullptr ? Der(cert) : std::string();
    X509_free(cert);
    return der;
}

int StoreObjects(SSL_CTX* ctx) {
    return sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)));
}

class TlsFileMemoTest : public ::testing::Test {
protected:
    void SetUp() override {
        ca_ = pki_.DeviceCa("memo-ca");
        device_ = pki_.Device("memo-device", "memo-ca");
        other_ = pki_.Device("memo-other", "memo-ca");
        chain_ = dir_.path() / "chain.pem";
        WriteTextFile(chain_, device_.cert_pem + ca_.cert_pem);
        ERR_clear_error();
    }

    TempDir dir_;
    TestPki pki_{dir_.path() / "pki"};
    sim::testing::CertFiles ca_;
    sim::testing::CertFiles device_;
    sim::testing::CertFiles other_;
    fs::path chain_;
};

TEST_F(TlsFileMemoTest, ActiveInThisProgram) {
    EXPECT_TRUE(sim::module::TlsFileMemoActive());
}

// The second context loaded from the same files holds what OpenSSL's own loader gave the first.
TEST_F(TlsFileMemoTest, SecondLoadIsAHitWithTheSameResult) {
    Ctx first;
    Ctx second;
    const auto before = GetTlsFileMemoStats();
    for (SSL_CTX* ctx : {first.ctx, second.ctx}) {
        ASSERT_EQ(SSL_CTX_use_certificate_chain_file(ctx, chain_.c_str()), 1);
        ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx, device_.key.c_str(), SSL_FILETYPE_PEM), 1);
        ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, ca_.cert.c_str(), nullptr), 1);
    }
    const auto delta = Delta(before);
    EXPECT_EQ(delta.misses, 3u);
    EXPECT_EQ(delta.hits, 3u);
    EXPECT_EQ(delta.bypassed, 0u);

    EXPECT_EQ(Der(SSL_CTX_get0_certificate(first.ctx)), Der(SSL_CTX_get0_certificate(second.ctx)));
    EXPECT_EQ(SSL_CTX_check_private_key(second.ctx), 1);
    STACK_OF(X509)* chain1 = nullptr;
    STACK_OF(X509)* chain2 = nullptr;
    ASSERT_EQ(SSL_CTX_get0_chain_certs(first.ctx, &chain1), 1);
    ASSERT_EQ(SSL_CTX_get0_chain_certs(second.ctx, &chain2), 1);
    ASSERT_EQ(sk_X509_num(chain1), 1);
    ASSERT_EQ(sk_X509_num(chain2), 1);
    EXPECT_EQ(Der(sk_X509_value(chain1, 0)), Der(sk_X509_value(chain2, 0)));
    EXPECT_EQ(StoreObjects(first.ctx), StoreObjects(second.ctx));
    EXPECT_EQ(StoreObjects(second.ctx), 1);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

// A file whose content changed is decoded again: the memo is keyed by content, not by name.
TEST_F(TlsFileMemoTest, ChangedFileIsDecodedAgain) {
    const auto key = dir_.path() / "key.pem";
    const auto cert = dir_.path() / "cert.pem";
    WriteTextFile(cert, device_.cert_pem);
    WriteTextFile(key, device_.key_pem);
    Ctx first;
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(first.ctx, cert.c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(first.ctx, key.c_str(), SSL_FILETYPE_PEM), 1);

    WriteTextFile(cert, other_.cert_pem);
    WriteTextFile(key, other_.key_pem);
    Ctx second;
    const auto before = GetTlsFileMemoStats();
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(second.ctx, cert.c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(second.ctx, key.c_str(), SSL_FILETYPE_PEM), 1);
    EXPECT_EQ(Delta(before).misses, 2u);
    EXPECT_EQ(Der(SSL_CTX_get0_certificate(second.ctx)), DerOfPem(other_.cert_pem));
    EXPECT_NE(Der(SSL_CTX_get0_certificate(first.ctx)), Der(SSL_CTX_get0_certificate(second.ctx)));
    EXPECT_EQ(SSL_CTX_check_private_key(second.ctx), 1);
}

// Bad input: every loader fails as OpenSSL's own does, twice (a failure is not remembered),
// and leaves OpenSSL's reason in the error queue.
struct BadCase {
    const char* name;
    const char* content;  // nullptr: the file does not exist
    int which;            // 0 chain, 1 key, 2 trust
};

class TlsFileMemoBadInput : public TlsFileMemoTest,
                            public ::testing::WithParamInterface<BadCase> {};

TEST_P(TlsFileMemoBadInput, FailsLikeOpenSslEveryTime) {
    const auto path = dir_.path() / "bad.pem";
    if (GetParam().content != nullptr) {
        WriteTextFile(path, GetParam().content);
    }
    const auto before = GetTlsFileMemoStats();
    for (int round = 0; round < 2; ++round) {
        Ctx ctx;
        ERR_clear_error();
        int rc = -1;
        switch (GetParam().which) {
            case 0: rc = SSL_CTX_use_certificate_chain_file(ctx.ctx, path.c_str()); break;
            case 1: rc = SSL_CTX_use_PrivateKey_file(ctx.ctx, path.c_str(), SSL_FILETYPE_PEM); break;
            default: rc = SSL_CTX_load_verify_locations(ctx.ctx, path.c_str(), nullptr); break;
        }
        EXPECT_NE(rc, 1) << GetParam().name << " round " << round;
        EXPECT_NE(ERR_peek_error(), 0u) << GetParam().name << " round " << round;
    }
    const auto delta = Delta(before);
    EXPECT_EQ(delta.hits, 0u);
    EXPECT_EQ(delta.misses, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TlsFileMemoBadInput,
    ::testing::Values(BadCase{"chain_missing", nullptr, 0}, BadCase{"key_missing", nullptr, 1},
                      BadCase{"trust_missing", nullptr, 2}, BadCase{"chain_empty", "", 0},
                      BadCase{"key_empty", "", 1}, BadCase{"trust_empty", "", 2},
                      BadCase{"chain_garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n", 0},
                      BadCase{"key_garbage", "-----BEGIN PRIVATE KEY-----\n!!\n", 1},
                      BadCase{"trust_garbage", "not a pem file at all", 2},
                      BadCase{"key_is_a_certificate",
                              "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", 1}),
    [](const auto& p) { return std::string(p.param.name); });

// A key that does not match the loaded certificate fails on every attempt, also after the same
// key file was loaded successfully into another context (a remembered key is not forced in).
TEST_F(TlsFileMemoTest, MismatchedKeyFailsAfterAHit) {
    Ctx good;
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(good.ctx, other_.cert.c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(good.ctx, other_.key.c_str(), SSL_FILETYPE_PEM), 1);
    for (int round = 0; round < 2; ++round) {
        Ctx ctx;
        ASSERT_EQ(SSL_CTX_use_certificate_chain_file(ctx.ctx, device_.cert.c_str()), 1);
        ERR_clear_error();
        EXPECT_NE(SSL_CTX_use_PrivateKey_file(ctx.ctx, other_.key.c_str(), SSL_FILETYPE_PEM), 1);
        EXPECT_NE(ERR_peek_error(), 0u);
    }
}

// Cases the memo leaves to OpenSSL: ASN.1 keys, a CA directory, a context with a password
// callback (an encrypted key must be decrypted with that context's password).
int Password(char* buf, int size, int /*rwflag*/, void* /*u*/) {
    const std::string pw = "elsim-test";
    if (size < static_cast<int>(pw.size())) {
        return 0;
    }
    std::copy(pw.begin(), pw.end(), buf);
    return static_cast<int>(pw.size());
}

TEST_F(TlsFileMemoTest, IneligibleCallsAreLeftToOpenSsl) {
    const auto before = GetTlsFileMemoStats();
    Ctx asn1;
    EXPECT_NE(SSL_CTX_use_PrivateKey_file(asn1.ctx, device_.key.c_str(), SSL_FILETYPE_ASN1), 1);
    Ctx with_dir;
    EXPECT_EQ(SSL_CTX_load_verify_locations(with_dir.ctx, ca_.cert.c_str(),
                                            dir_.path().c_str()),
              1);
    Ctx with_password;
    SSL_CTX_set_default_passwd_cb(with_password.ctx, &Password);
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(with_password.ctx, device_.cert.c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(with_password.ctx, device_.key.c_str(),
                                          SSL_FILETYPE_PEM),
              1);
    const auto delta = Delta(before);
    EXPECT_EQ(delta.bypassed, 3u);
}

// ---- stdin guard -------------------------------------------------------------------------------

TEST(PahoStdinGuard, ActiveInThisProgram) { EXPECT_TRUE(sim::module::PahoStdinGuardActive()); }

TEST(PahoStdinGuard, TellsPahoCodeFromOtherCode) {
    EXPECT_TRUE(sim::module::AddressInPahoC(reinterpret_cast<const void*>(&MQTTAsync_create)));
    EXPECT_TRUE(sim::module::AddressInPahoC(reinterpret_cast<const void*>(&MQTTAsync_connect)));
    EXPECT_FALSE(sim::module::AddressInPahoC(reinterpret_cast<const void*>(&SSL_CTX_new)));
    EXPECT_FALSE(sim::module::AddressInPahoC(reinterpret_cast<const void*>(&::close)));
    EXPECT_FALSE(sim::module::AddressInPahoC(nullptr));
}

// close(0) from any code but Paho C's still closes descriptor 0; other descriptors are closed
// as always. (The drop itself needs Paho C's race, see the header; the bench reports it.)
TEST(PahoStdinGuard, OtherCallersStillClose) {
    const int saved = ::dup(0);
    ASSERT_GE(saved, 0);
    const auto dropped_before = sim::module::PahoStdinClosesDropped();
    EXPECT_EQ(::close(0), 0);
    EXPECT_EQ(::fcntl(0, F_GETFD), -1);  // really closed
    ASSERT_EQ(::dup2(saved, 0), 0);
    EXPECT_EQ(::close(saved), 0);
    EXPECT_EQ(::fcntl(saved, F_GETFD), -1);
    EXPECT_EQ(::close(-1), -1);
    EXPECT_EQ(sim::module::PahoStdinClosesDropped(), dropped_before);
}

}  // namespace
