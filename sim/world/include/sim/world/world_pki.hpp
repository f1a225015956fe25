// SPDX-License-Identifier: Apache-2.0
#pragma once
// Certificates a world needs for its brokers, and the capath trust directory. Adapter (OpenSSL).
//
// Interim: IssueCertificate is a small EC P-256 issuer used until pki/factory.hpp (the pki
// component's certificate factory) is available; the world then switches to the factory. It is
// also what tests/support's TestPki uses to make test CAs, servers and devices.
// Thread-safe: every function is reentrant. Keys are never logged.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/core/result.hpp"

namespace sim::world {

struct KeyAndCertificate {
    std::string key_pem;          ///< PKCS#8 private key.
    std::string certificate_pem;  ///< One certificate.
};

struct IssueRequest {
    std::string common_name;
    std::string organization = "elsim";
    std::string serial_number_attribute;    ///< Optional subject serialNumber (2.5.4.5).
    std::vector<std::string> dns_names;     ///< subjectAltName DNS entries.
    std::vector<std::string> ip_addresses;  ///< subjectAltName IP entries (IPv4 text).
    bool is_ca = false;
    bool server_auth = false;  ///< EKU serverAuth (else clientAuth for a leaf).
    /// Validity window relative to now: [now + not_before, now + not_after].
    std::chrono::seconds not_before{-3600};
    std::chrono::seconds not_after{std::chrono::hours{24 * 365}};
};

/// Issues a certificate with a fresh P-256 key, signed by `issuer` (nullptr: self-signed).
/// Errors: kInvalidArgument (bad issuer PEM, bad IP text), kInternal (OpenSSL failure).
sim::Result<KeyAndCertificate> IssueCertificate(const IssueRequest& request,
                                                const KeyAndCertificate* issuer);

/// The OpenSSL subject-name hash of a CA certificate, as `openssl x509 -hash` prints it
/// (8 lowercase hex digits), computed with X509_NAME_hash_ex.
sim::Result<std::string> SubjectHash(const std::string& ca_pem);

/// Adds a CA to a capath directory: writes `<caCertificateId>.pem` and the first free
/// `<subject_hash>.N` link (N = 0..9) pointing at it, so running brokers trust it at the next
/// handshake without restart (deps.md §2e). Idempotent for the same certificate.
sim::Status AddCaToCapath(const std::filesystem::path& capath, const std::string& ca_pem);

}  // namespace sim::world
