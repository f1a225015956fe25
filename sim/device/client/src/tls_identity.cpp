// SPDX-License-Identifier: Apache-2.0
#include "sim/device/tls_identity.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

#include "sim/core/adapters.hpp"

namespace sim::device {

namespace {

sim::Unexpected<Error> Bad(std::string message) {
    return sim::MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::string OpenSslError() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "no detail";
    }
    std::string text(256, '\0');
    ERR_error_string_n(code, text.data(), text.size());
    text.resize(text.find('\0'));
    return text;
}

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct X509Free {
    void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr ReadBio(std::string_view text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate of a PEM text, in order (none when the text holds none).
std::vector<X509Ptr> ReadCertificates(std::string_view pem) {
    std::vector<X509Ptr> certificates;
    BioPtr bio = ReadBio(pem);
    while (bio) {
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            break;
        }
        certificates.push_back(std::move(cert));
    }
    ERR_clear_error();  // the end of the text reads as "no start line"
    return certificates;
}

// At the leaf, once the chain verified: the certificate must name the host or address this
// connection asked for in its server name indication (RFC 6125; an address as an iPAddress
// subjectAltName). libmosquitto sends the host it connects to as the server name.
int VerifyServerName(int preverified, X509_STORE_CTX* store) {
    if (preverified != 1 || X509_STORE_CTX_get_error_depth(store) != 0) {
        return preverified;
    }
    const auto* ssl = static_cast<const SSL*>(
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    const char* name = ssl != nullptr ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : nullptr;
    X509* leaf = X509_STORE_CTX_get_current_cert(store);
    if (name == nullptr || leaf == nullptr) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
        return 0;
    }
    const int by_address = X509_check_ip_asc(leaf, name, 0);
    const bool matches = by_address == 1 ||
                         (by_address == -2 && X509_check_host(leaf, name, 0, 0, nullptr) == 1);
    if (!matches) {
        X509_STORE_CTX_set_error(store, by_address == -2 ? X509_V_ERR_HOSTNAME_MISMATCH
                                                         : X509_V_ERR_IP_ADDRESS_MISMATCH);
        return 0;
    }
    return 1;
}

}  // namespace

sim::Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::Load(
    const std::filesystem::path& root_ca, const std::filesystem::path& certificate,
    const std::filesystem::path& private_key) {
    auto ca_pem = sim::ReadFile(root_ca);
    if (!ca_pem) {
        return Bad(root_ca.string() + ": " + ca_pem.error().message);
    }
    const auto roots = ReadCertificates(*ca_pem);
    if (roots.empty()) {
        return Bad(root_ca.string() + ": no PEM certificate found");
    }
    std::shared_ptr<X509_STORE> trust(X509_STORE_new(), X509_STORE_free);
    if (!trust) {
        return sim::MakeError(ErrorCode::kInternal, "X509_STORE_new: " + OpenSslError());
    }
    for (const auto& root : roots) {
        if (X509_STORE_add_cert(trust.get(), root.get()) != 1) {
            return Bad(root_ca.string() + ": " + OpenSslError());
        }
    }
    auto cert_pem = sim::ReadFile(certificate);
    if (!cert_pem) {
        return Bad(certificate.string() + ": " + cert_pem.error().message);
    }
    auto key_pem = sim::ReadFile(private_key);
    if (!key_pem) {
        return Bad(private_key.string() + ": " + key_pem.error().message);
    }
    auto key = pki::Key::FromPrivatePem(*key_pem);
    if (!key) {
        return Bad(private_key.string() + ": " + key.error().message);
    }
    return Make(std::move(trust), *cert_pem, *key, certificate.string());
}

sim::Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::WithCertificate(
    std::string_view certificate_pem, const pki::Key& private_key) const {
    return Make(trust_, certificate_pem, private_key, "the issued certificate");
}

sim::Result<std::shared_ptr<const TlsIdentity>> TlsIdentity::Make(
    std::shared_ptr<x509_store_st> trust, std::string_view certificate_pem,
    const pki::Key& private_key, std::string_view what) {
    auto chain = ReadCertificates(certificate_pem);
    if (chain.empty()) {
        return Bad(std::string(what) + ": no PEM certificate found");
    }
    if (private_key.get() == nullptr || !private_key.has_private()) {
        return Bad(std::string(what) + ": no private key");
    }
    std::shared_ptr<SSL_CTX> context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!context) {
        return sim::MakeError(ErrorCode::kInternal, "SSL_CTX_new: " + OpenSslError());
    }
    SSL_CTX* ctx = context.get();
    // TLS 1.2, as the device's firmware stack speaks it (AWS IoT accepts 1.2 and 1.3).
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        X509_STORE_up_ref(trust.get()) != 1) {
        return sim::MakeError(ErrorCode::kInternal, "TLS context: " + OpenSslError());
    }
    SSL_CTX_set_cert_store(ctx, trust.get());  // takes the reference just added
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &VerifyServerName);
    if (SSL_CTX_use_certificate(ctx, chain.front().get()) != 1) {
        return Bad(std::string(what) + ": " + OpenSslError());
    }
    for (std::size_t i = 1; i < chain.size(); ++i) {
        // SSL_CTX_add1_chain_cert takes its own reference.
        if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
            return Bad(std::string(what) + ": " + OpenSslError());
        }
    }
    if (SSL_CTX_use_PrivateKey(ctx, private_key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        return Bad(std::string(what) + ": the private key does not match the certificate (" +
                   OpenSslError() + ")");
    }
    return std::make_shared<const TlsIdentity>(Private{}, std::move(trust), std::move(context));
}

}  // namespace sim::device
