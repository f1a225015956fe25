// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_pki.hpp"

#include <array>
#include <memory>
#include <string_view>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sim/core/adapters.hpp"
#include "sim/core/hex.hpp"

namespace sim::world {
namespace fs = std::filesystem;

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::string OpenSslError(const std::string& what) {
    const unsigned long code = ERR_get_error();
    std::array<char, 256> buffer{};
    if (code != 0) {
        ERR_error_string_n(code, buffer.data(), buffer.size());
    }
    ERR_clear_error();
    return what + (code != 0 ? std::string(": ") + buffer.data() : std::string());
}

std::string BioText(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return {data, static_cast<std::size_t>(size)};
}

Cert ReadCert(const std::string& pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PKey ReadKey(const std::string& pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return PKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool AddName(X509_NAME* name, const char* field, const std::string& value) {
    return value.empty() ||
           X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                      0) == 1;
}

}  // namespace

sim::Result<KeyAndCertificate> IssueCertificate(const IssueRequest& request,
                                                const KeyAndCertificate* issuer) {
    PKey key(EVP_EC_gen("P-256"));
    if (!key) {
        return sim::MakeError(sim::ErrorCode::kInternal, OpenSslError("EC key generation"));
    }
    Cert issuer_cert;
    PKey issuer_key;
    if (issuer != nullptr) {
        issuer_cert = ReadCert(issuer->certificate_pem);
        issuer_key = ReadKey(issuer->key_pem);
        if (!issuer_cert || !issuer_key) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  OpenSslError("issuer certificate or key is not PEM"));
        }
    }
    Cert cert(X509_new());
    X509_set_version(cert.get(), 2);
    // A positive random 127-bit serial, as AWS and the prototypes use.
    std::array<unsigned char, 16> serial_bytes{};
    if (RAND_bytes(serial_bytes.data(), static_cast<int>(serial_bytes.size())) != 1) {
        return sim::MakeError(sim::ErrorCode::kInternal, OpenSslError("RAND_bytes"));
    }
    serial_bytes[0] &= 0x7f;
    serial_bytes[0] |= 0x01;
    Bn serial(BN_bin2bn(serial_bytes.data(), static_cast<int>(serial_bytes.size()), nullptr));
    BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(request.not_before.count()));
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(request.not_after.count()));
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!AddName(name, "O", request.organization) || !AddName(name, "CN", request.common_name) ||
        !AddName(name, "serialNumber", request.serial_number_attribute)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, OpenSslError("subject name"));
    }
    X509* signer_cert = issuer_cert ? issuer_cert.get() : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer_cert));

    bool ok = AddExtension(cert.get(), signer_cert, NID_subject_key_identifier, "hash");
    if (request.is_ca) {
        ok = ok && AddExtension(cert.get(), signer_cert, NID_basic_constraints, "critical,CA:TRUE");
        ok = ok && AddExtension(cert.get(), signer_cert, NID_key_usage,
                                "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
        ok = ok && AddExtension(cert.get(), signer_cert, NID_basic_constraints, "CA:FALSE");
        ok = ok && AddExtension(cert.get(), signer_cert, NID_key_usage,
                                "critical,digitalSignature,keyAgreement");
        ok = ok && AddExtension(cert.get(), signer_cert, NID_ext_key_usage,
                                request.server_auth ? "serverAuth" : "clientAuth");
    }
    if (issuer_cert) {
        ok = ok &&
             AddExtension(cert.get(), signer_cert, NID_authority_key_identifier, "keyid:always");
    }
    std::string san;
    for (const auto& dns : request.dns_names) {
        san += (san.empty() ? "" : ",") + std::string("DNS:") + dns;
    }
    for (const auto& ip : request.ip_addresses) {
        san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    }
    if (!san.empty()) {
        ok = ok && AddExtension(cert.get(), signer_cert, NID_subject_alt_name, san);
    }
    if (!ok) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              OpenSslError("certificate extension for " + request.common_name));
    }
    EVP_PKEY* signer_key = issuer_key ? issuer_key.get() : key.get();
    if (X509_sign(cert.get(), signer_key, EVP_sha256()) == 0) {
        return sim::MakeError(sim::ErrorCode::kInternal, OpenSslError("X509_sign"));
    }
    Bio cert_bio(BIO_new(BIO_s_mem()));
    Bio key_bio(BIO_new(BIO_s_mem()));
    if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
        PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1) {
        return sim::MakeError(sim::ErrorCode::kInternal, OpenSslError("PEM encoding"));
    }
    return KeyAndCertificate{BioText(key_bio.get()), BioText(cert_bio.get())};
}

sim::Result<std::string> SubjectHash(const std::string& ca_pem) {
    Cert cert = ReadCert(ca_pem);
    if (!cert) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              OpenSslError("CA certificate is not PEM"));
    }
    int ok = 0;
    unsigned long hash =
        X509_NAME_hash_ex(X509_get_subject_name(cert.get()), nullptr, nullptr, &ok);
    if (ok != 1) {
        return sim::MakeError(sim::ErrorCode::kInternal, OpenSslError("X509_NAME_hash_ex"));
    }
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string text(8, '0');
    for (int i = 7; i >= 0; --i) {
        text[static_cast<std::size_t>(i)] = kDigits[hash & 0xfU];
        hash >>= 4;
    }
    return text;
}

sim::Status AddCaToCapath(const fs::path& capath, const std::string& ca_pem) {
    Cert cert = ReadCert(ca_pem);
    if (!cert) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              OpenSslError("CA certificate is not PEM"));
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    X509_digest(cert.get(), EVP_sha256(), digest.data(), &digest_size);
    const std::string id =
        sim::HexEncode(std::span<const std::uint8_t>(digest.data(), digest_size));
    auto hash = SubjectHash(ca_pem);
    if (!hash) {
        return sim::Unexpected<sim::Error>(hash.error());
    }
    std::error_code ec;
    fs::create_directories(capath, ec);
    const std::string file = id + ".pem";
    if (auto written = sim::WriteFileAtomically(capath / file, ca_pem); !written) {
        return written;
    }
    // OpenSSL's hashed-directory lookup tries <hash>.0, <hash>.1, ... (several CAs may share a
    // subject). Reuse our own link if present; else take the first free suffix.
    for (int n = 0; n < 10; ++n) {
        const fs::path link = capath / (*hash + "." + std::to_string(n));
        if (fs::is_symlink(link, ec)) {
            if (fs::read_symlink(link, ec) == fs::path(file)) {
                return {};
            }
            continue;
        }
        if (fs::exists(link, ec)) {
            continue;
        }
        fs::create_symlink(file, link, ec);
        if (ec) {
            return sim::MakeError(sim::ErrorCode::kIo,
                                  "cannot link " + link.string() + ": " + ec.message());
        }
        return {};
    }
    return sim::MakeError(sim::ErrorCode::kResourceExhausted,
                          "more than 10 CAs with one subject hash in " + capath.string());
}

}  // namespace sim::world
