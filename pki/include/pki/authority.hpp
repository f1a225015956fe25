// SPDX-License-Identifier: Apache-2.0
#pragma once
// Issuing certificates: a CertificateAuthority {certificate, key} signs leaf and subordinate CA
// certificates described by an IssueSpec, or certificates from a CSR. In memory only (the
// files are pki/factory.hpp's job). Thread-safe: a CertificateAuthority is immutable once made
// and every member is const and reentrant; many threads may Issue() from one CA.
// Serials are random (OpenSSL's RNG) unless the spec gives one; nothing reads the clock: every
// validity date is in the spec.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "sim/core/result.hpp"

namespace pki {

using TimePoint = std::chrono::system_clock::time_point;

enum class ExtendedKeyUsage {
    kNone,                 ///< No EKU extension (CA certificates; also "any purpose").
    kClientAuth,           ///< id-kp-clientAuth: device certificates.
    kServerAuth,           ///< id-kp-serverAuth: endpoint certificates, and the "no clientAuth" case.
    kClientAndServerAuth,  ///< Both.
};

/// What a certificate should say. Validated by Issue(); a bad spec is kInvalidArgument.
struct IssueSpec {
    DistinguishedName subject;  ///< At least one entry; keys as OpenSSL knows them ("CN", "O").
    /// Big-endian serial, 1 to 20 bytes, top bit of the first byte clear (RFC 5280 §4.1.2.2:
    /// positive, at most 20 octets). Empty: 16 random bytes with the top bit cleared.
    std::vector<std::uint8_t> serial;
    TimePoint not_before;
    TimePoint not_after;  ///< Must be after not_before.
    bool is_ca = false;   ///< basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign.
    std::optional<int> path_len;  ///< CA only: basicConstraints pathLenConstraint (>= 0).
    ExtendedKeyUsage eku = ExtendedKeyUsage::kClientAuth;
    std::vector<std::string> dns_names;     ///< subjectAltName DNS entries.
    std::vector<std::string> ip_addresses;  ///< subjectAltName IP entries ("127.0.0.1", "::1").
    /// Adds authorityKeyIdentifier (the issuer's subjectKeyIdentifier). False only for the
    /// look-alike broken case, so that a verifier matches the issuer by name and then fails
    /// on the signature.
    bool authority_key_id = true;
};

/// One issued certificate.
struct IssuedCertificate {
    std::string der;
    std::string pem;
    std::string certificate_id;  ///< Lowercase hex SHA-256 of der (AWS's certificateId).
};

/// Options for IssueFromCsr: the CSR gives the public key and, unless replaced, the subject.
struct CsrIssueOptions {
    std::vector<std::uint8_t> serial;  ///< As IssueSpec::serial (empty: random).
    TimePoint not_before;
    TimePoint not_after;
    std::optional<DistinguishedName> subject;  ///< Replaces the CSR's subject when set.
    ExtendedKeyUsage eku = ExtendedKeyUsage::kClientAuth;
};

/// A PEM certificate signing request for `key` (which must hold its private key) with
/// `subject`, signed with SHA-256 (what a device sends to CreateCertificateFromCsr).
/// Errors: kInvalidArgument (no private key, a subject entry OpenSSL rejects).
sim::Result<std::string> CreateCsrPem(const Key& key, const DistinguishedName& subject);

class CertificateAuthority {
public:
    /// A self-signed root made from `spec` (is_ca is forced true, eku none).
    static sim::Result<CertificateAuthority> CreateRoot(IssueSpec spec, Key key);
    /// A CA from PEM texts. `cert_pem` is the CA certificate (first block; later blocks are
    /// taken as its issuers, in order, like `issuers_pem`). Errors (kInvalidArgument): an
    /// unreadable certificate or key, "not a CA certificate (basicConstraints CA:TRUE
    /// missing)", "the private key does not match the certificate". Callers prefix file names.
    static sim::Result<CertificateAuthority> Load(std::string_view cert_pem,
                                                  std::string_view key_pem,
                                                  std::string_view issuers_pem = {});

    /// A subordinate CA signed by this one (is_ca forced true, eku none).
    sim::Result<CertificateAuthority> CreateSubordinate(IssueSpec spec, Key key) const;
    /// Signs a certificate for `subject_key` (a key pair or a public key alone).
    sim::Result<IssuedCertificate> Issue(const IssueSpec& spec, const Key& subject_key) const;
    /// Validates a PEM CSR (its signature; key RSA >= 2048 bits or EC P-256/P-384/P-521, as
    /// AWS IoT API Reference, CreateCertificateFromCsr requires) and signs it.
    /// Errors: kInvalidArgument naming the problem ("CSR signature does not verify", "CSR key
    /// RSA 1024 is not allowed (RSA >= 2048 or EC P-256/P-384/P-521)").
    sim::Result<IssuedCertificate> IssueFromCsr(std::string_view csr_pem,
                                                const CsrIssueOptions& options) const;
    /// As IssueFromCsr, described as ParseCertificatePem would describe the result, read from
    /// the certificate just signed (no encoding decoded again).
    sim::Result<CertificateInfo> IssueInfoFromCsr(std::string_view csr_pem,
                                                  const CsrIssueOptions& options) const;

    const CertificateInfo& info() const { return info_; }
    const Key& key() const { return key_; }
    /// This CA's certificate, PEM.
    const std::string& pem() const { return info_.pem; }
    /// This CA's certificate followed by its issuers up to the root (what a device appends to
    /// its own certificate to send the whole chain).
    const std::string& chain_pem() const { return chain_pem_; }
    /// The CA's subjectKeyIdentifier bytes (empty when absent).
    const std::string& key_id() const { return key_id_; }

private:
    CertificateAuthority() = default;
    static sim::Result<CertificateAuthority> FromDer(std::string_view der, Key key,
                                                     std::string issuers_pem);
    sim::Result<std::shared_ptr<X509>> SignCsr(std::string_view csr_pem,
                                               const CsrIssueOptions& options) const;
    CertificateInfo info_;
    std::shared_ptr<X509> x509_;  ///< Decoded once; read-only afterwards (shared by copies).
    Key key_ = Key::PublicOnly(nullptr);
    std::string chain_pem_;
    std::string key_id_;
};

/// Parses "CN=x,O=y" (also "/CN=x/O=y") into entries. Commas inside values are escaped
/// with a backslash. Errors: kInvalidArgument naming the bad part.
sim::Result<DistinguishedName> ParseDistinguishedName(std::string_view text);

/// Random serial bytes: `bytes` from OpenSSL's RNG with the top bit cleared (positive).
sim::Result<std::vector<std::uint8_t>> RandomSerial(std::size_t bytes = 16);

}  // namespace pki
