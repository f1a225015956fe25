// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_pki.hpp"

#include <system_error>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"

namespace sim::world {
namespace fs = std::filesystem;

namespace {

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

}  // namespace sim::world
