// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reading X.509 certificates: the certificate model every other component uses (the account
// registry, the broker plugin, the module). Pure: parsing and signature checks only, no files.
// Thread-safe: every function is reentrant.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/result.hpp"

namespace pki {

namespace detail {
struct DecodedCertificate;  // the OpenSSL object an info was read from (certificate.cpp)
}  // namespace detail

/// A distinguished name as an ordered list of (short name, value): "C", "ST", "L", "O", "OU",
/// "CN", "serialNumber", "dnQualifier", "title", "SN", "GN", "initials", "pseudonym",
/// "generationQualifier" (OpenSSL's short names; other attributes use their dotted OID).
struct DistinguishedName {
    std::vector<std::pair<std::string, std::string>> entries;

    /// The first value of `short_name`, or nullopt.
    std::optional<std::string> Get(std::string_view short_name) const;
    /// Every value of `short_name`, in order.
    std::vector<std::string> GetAll(std::string_view short_name) const;
    /// RFC 2253-like one-line form ("CN=x,O=y"), for messages.
    std::string ToString() const;
    bool operator==(const DistinguishedName&) const = default;
};

/// One parsed certificate.
struct CertificateInfo {
    std::string der;             ///< The DER encoding (binary).
    std::string pem;             ///< This certificate alone, PEM, normalised by OpenSSL.
    std::string certificate_id;  ///< Lowercase hex SHA-256 of `der` (AWS IoT's certificateId).
    DistinguishedName subject;
    DistinguishedName issuer;
    std::string serial_hex;  ///< Serial number, lowercase hex, no leading zeros ("0" for zero).
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    bool is_ca = false;            ///< basicConstraints CA:TRUE.
    bool has_client_auth = false;  ///< No EKU at all, or an EKU containing clientAuth.
    std::string public_key_sha256;  ///< Hex SHA-256 of the SubjectPublicKeyInfo DER.
    std::string key_type;          ///< "EC P-256", "EC P-384", "RSA 2048", ...
    /// The decoded certificate these fields were read from, shared by copies; IsSignedBy uses
    /// it instead of decoding `der` again (OpenSSL 3.0 spends more decoding a certificate's
    /// public key than verifying a signature with it) and remembers which issuers verified it.
    /// Ignored when `der` no longer holds the bytes it was decoded from; null for an info built
    /// field by field.
    std::shared_ptr<const detail::DecodedCertificate> decoded;
};

/// Lowercase hex SHA-256 of a DER encoding: the certificateId.
std::string CertificateIdOfDer(std::string_view der);

/// Parses the first certificate of a PEM text (other blocks, e.g. an appended CA, ignored).
/// Errors: kInvalidArgument with the reason ("no PEM certificate found", "garbled base64").
sim::Result<CertificateInfo> ParseCertificatePem(std::string_view pem);
/// Parses every certificate of a PEM text, in order (a device chain: leaf first).
sim::Result<std::vector<CertificateInfo>> ParseCertificateChainPem(std::string_view pem);
/// Parses one DER certificate.
sim::Result<CertificateInfo> ParseCertificateDer(std::string_view der);

/// True when `issuer`'s public key verifies `subject`'s signature and `subject.issuer` equals
/// `issuer.subject`. Says nothing about validity dates or basic constraints.
bool IsSignedBy(const CertificateInfo& subject, const CertificateInfo& issuer);

/// True when `now` lies within [not_before, not_after].
bool IsValidAt(const CertificateInfo& cert, std::chrono::system_clock::time_point now);

}  // namespace pki
