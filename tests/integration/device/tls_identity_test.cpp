// SPDX-License-Identifier: Apache-2.0
// sim::device::TlsIdentity: reading an identity from files (a table including unreadable and
// mismatched inputs), and real TLS handshakes with its context against an in-process OpenSSL
// server whose certificate names 127.0.0.1 and localhost: the root CA and the server name sent
// as SNI decide, and the server sees the device's certificate.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/key.hpp"
#include "sim/device/tls_identity.hpp"
#include "sim/testing/support.hpp"

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using sim::device::TlsIdentity;

class TlsIdentityTest : public ::testing::Test {
protected:
    sim::testing::TempDir dir_;
    sim::testing::TestPki pki_{dir_.path() / "pki"};
    sim::testing::CertFiles device_ = pki_.Device("device-1", "fleet");
    sim::testing::CertFiles other_ = pki_.Device("device-2", "fleet");
};

TEST_F(TlsIdentityTest, LoadAcceptsOnlyAReadableMatchingIdentity) {
    const fs::path text = dir_.path() / "text.pem";
    sim::testing::WriteTextFile(text, "not PEM at all\n");
    const fs::path ca = pki_.ServerCa().cert;
    const std::vector<std::tuple<std::string, fs::path, fs::path, fs::path, std::string>> cases = {
        {"matching", ca, device_.cert, device_.key, ""},
        {"missing_root_ca", dir_.path() / "absent.pem", device_.cert, device_.key, "absent.pem"},
        {"root_ca_without_certificate", text, device_.cert, device_.key,
         "text.pem: no PEM certificate found"},
        {"certificate_file_holds_a_key", ca, device_.key, device_.key,
         "no PEM certificate found"},
        {"missing_key", ca, device_.cert, dir_.path() / "absent.key", "absent.key"},
        {"garbled_key", ca, device_.cert, text, "text.pem"},
        {"key_of_another_certificate", ca, device_.cert, other_.key,
         "the private key does not match the certificate"},
    };
    for (const auto& [name, root, cert, key, error] : cases) {
        SCOPED_TRACE(name);
        auto identity = TlsIdentity::Load(root, cert, key);
        if (error.empty()) {
            ASSERT_TRUE(identity) << identity.error().message;
            EXPECT_NE((*identity)->context(), nullptr);
            continue;
        }
        ASSERT_FALSE(identity);
        EXPECT_EQ(identity.error().code, sim::ErrorCode::kInvalidArgument);
        EXPECT_THAT(identity.error().message, HasSubstr(error));
        EXPECT_EQ(identity.error().message.find('\n'), std::string::npos);
    }
}

TEST_F(TlsIdentityTest, WithCertificateNeedsTheKeyOfThatCertificate) {
    auto claim = TlsIdentity::Load(pki_.ServerCa().cert, device_.cert, device_.key);
    ASSERT_TRUE(claim) << claim.error().message;
    auto key = pki::Key::FromPrivatePem(other_.key_pem);
    ASSERT_TRUE(key);
    EXPECT_TRUE((*claim)->WithCertificate(other_.cert_pem, *key));
    auto mismatched = (*claim)->WithCertificate(device_.cert_pem, *key);
    ASSERT_FALSE(mismatched);
    EXPECT_THAT(mismatched.error().message, HasSubstr("does not match"));
    auto none = (*claim)->WithCertificate("no certificate here", *key);
    ASSERT_FALSE(none);
    EXPECT_THAT(none.error().message, HasSubstr("no PEM certificate found"));
    auto public_only = pki::Key::FromPublicPem(key->PublicPem());
    ASSERT_TRUE(public_only);
    EXPECT_FALSE((*claim)->WithCertificate(other_.cert_pem, *public_only));
}

// One TLS server connection on a loopback port: it requires a client certificate from the
// "fleet" CA and reports the subject it saw ("" when the handshake failed).
class OneShotServer {
public:
    explicit OneShotServer(sim::testing::TestPki& pki) {
        ctx_ = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate_chain_file(ctx_, pki.Server().cert.c_str());
        SSL_CTX_use_PrivateKey_file(ctx_, pki.Server().key.c_str(), SSL_FILETYPE_PEM);
        SSL_CTX_load_verify_locations(ctx_, pki.DeviceCa("fleet").cert.c_str(), nullptr);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        ::listen(listener_, 1);
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        seen_ = std::async(std::launch::async, [this] { return Serve(); });
    }
    ~OneShotServer() {
        if (seen_.valid()) {
            seen_.wait();
        }
        ::close(listener_);
        SSL_CTX_free(ctx_);
    }
    OneShotServer(const OneShotServer&) = delete;
    OneShotServer& operator=(const OneShotServer&) = delete;

    int port() const { return port_; }
    std::string Seen() { return seen_.get(); }

private:
    std::string Serve() {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) {
            return {};
        }
        timeval limit{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
        SSL* ssl = SSL_new(ctx_);
        SSL_set_fd(ssl, fd);
        std::string subject;
        if (SSL_accept(ssl) == 1) {
            if (X509* peer = SSL_get1_peer_certificate(ssl)) {
                char line[256] = {};
                X509_NAME_oneline(X509_get_subject_name(peer), line, sizeof(line));
                subject = line;
                X509_free(peer);
            }
            SSL_shutdown(ssl);
        }
        ERR_clear_error();
        SSL_free(ssl);
        ::close(fd);
        return subject;
    }

    SSL_CTX* ctx_ = nullptr;
    int listener_ = -1;
    int port_ = 0;
    std::future<std::string> seen_;
};

// The client side as libmosquitto drives it: the identity's context, SNI = the host dialled.
// Returns the verify result (X509_V_OK when the handshake completed).
long Handshake(const TlsIdentity& identity, int port, const std::string& server_name) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    timeval limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return -1;
    }
    SSL* ssl = SSL_new(identity.context());
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
    SSL_set_fd(ssl, fd);
    const int connected = SSL_connect(ssl);
    long result = SSL_get_verify_result(ssl);
    if (connected == 1) {
        // TLS 1.2: the handshake is over once SSL_connect returns; the server then closes.
        char byte = 0;
        SSL_read(ssl, &byte, 1);
    } else if (result == X509_V_OK) {
        result = -2;  // failed for another reason
    }
    ERR_clear_error();
    SSL_free(ssl);
    ::close(fd);
    return result;
}

TEST_F(TlsIdentityTest, HandshakeChecksTheRootCaAndTheServerNameSent) {
    auto identity = TlsIdentity::Load(pki_.ServerCa().cert, device_.cert, device_.key);
    ASSERT_TRUE(identity) << identity.error().message;
    for (const std::string name : {"127.0.0.1", "localhost"}) {
        SCOPED_TRACE(name);
        OneShotServer server(pki_);
        EXPECT_EQ(Handshake(**identity, server.port(), name), X509_V_OK);
        EXPECT_THAT(server.Seen(), HasSubstr("device-1"));
    }
    {
        OneShotServer server(pki_);
        EXPECT_EQ(Handshake(**identity, server.port(), "other.elsim.test"),
                  X509_V_ERR_HOSTNAME_MISMATCH);
        EXPECT_EQ(server.Seen(), "");
    }
    {
        OneShotServer server(pki_);
        EXPECT_EQ(Handshake(**identity, server.port(), "192.0.2.1"),
                  X509_V_ERR_IP_ADDRESS_MISMATCH);
        EXPECT_EQ(server.Seen(), "");
    }
    // Trusting another root: the server's certificate does not verify.
    auto wrong_root = TlsIdentity::Load(pki_.DeviceCa("fleet").cert, device_.cert, device_.key);
    ASSERT_TRUE(wrong_root) << wrong_root.error().message;
    OneShotServer server(pki_);
    EXPECT_EQ(Handshake(**wrong_root, server.port(), "127.0.0.1"),
              X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_EQ(server.Seen(), "");
}

}  // namespace
