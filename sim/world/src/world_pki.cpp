// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_pki.hpp"

#include <array>
#include <memory>
#include <string_view>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/hex.hpp"

namespace sim::world {
namespace fs = std::filesystem;

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { F(p); }
};
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string OpenSslError(const std::string& what) {
    const unsigned long code = ERR_get_error();
    std::array<char, 256> buffer{};
    if (code != 0) {
        ERR_error_string_n(code, buffer.data(), buffer.size());
    }
    ERR_clear_error();
    return what + (code != 0 ? std::string(": ") + buffer.data() : std::string());
}

Cert ReadCert(const std::string& pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

constexpr fs::perms kSecret = fs::perms::owner_read | fs::perms::owner_write;

// Writes a key (0600) and then its certificate; the key first, so that a certificate on disk
// always has its key.
sim::Status WriteKeyAndCertificate(const fs::path& key_file, const std::string& key_pem,
                                   const fs::path& cert_file, const std::string& cert_pem) {
    if (auto s = sim::WriteFileAtomically(key_file, key_pem, kSecret); !s) {
        return s;
    }
    return sim::WriteFileAtomically(cert_file, cert_pem);
}

}  // namespace

sim::Result<pki::CertificateAuthority> LoadOrCreateCa(const fs::path& cert_file,
                                                      const fs::path& key_file,
                                                      const pki::DistinguishedName& subject,
                                                      pki::TimePoint now, pki::Days days) {
    std::error_code ec;
    if (fs::exists(cert_file, ec) && fs::exists(key_file, ec)) {
        return pki::LoadCaFiles(cert_file, key_file);
    }
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    auto ca = pki::CertificateAuthority::CreateRoot(pki::RootCaSpec(subject, now, days), *key);
    if (!ca) {
        return sim::MakeError(ca.error().code, cert_file.string() + ": " + ca.error().message);
    }
    if (auto s = WriteKeyAndCertificate(key_file, key->PrivatePem(), cert_file, ca->pem()); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    return ca;
}

sim::Status WriteServerCertificate(const pki::CertificateAuthority& ca,
                                   const std::vector<std::string>& dns_names,
                                   const std::vector<std::string>& ip_addresses, pki::TimePoint now,
                                   pki::Days days, const fs::path& cert_file,
                                   const fs::path& key_file) {
    auto spec = pki::ServerSpec(dns_names, ip_addresses, now, days);
    if (!spec) {
        return sim::MakeError(spec.error().code, cert_file.string() + ": " + spec.error().message);
    }
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    auto issued = ca.Issue(*spec, *key);
    if (!issued) {
        return sim::MakeError(issued.error().code,
                              cert_file.string() + ": " + issued.error().message);
    }
    return WriteKeyAndCertificate(key_file, key->PrivatePem(), cert_file, issued->pem);
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
