// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal: building a CertificateInfo from an OpenSSL X509, shared by the reader and the issuer.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "openssl_util.hpp"
#include "pki/certificate.hpp"

namespace pki::detail {

/// A decoded certificate shared by the CertificateInfo copies read from it, with the issuers
/// whose key verified its signature (a signature check is then done once per issuer).
struct DecodedCertificate {
    X509Ptr x509;
    std::string der;             ///< The bytes `x509` was decoded from.
    std::string certificate_id;  ///< Lowercase hex SHA-256 of `der`.

    bool VerifiedBy(const std::string& issuer_id) const;
    void RememberVerifiedBy(const std::string& issuer_id) const;

private:
    mutable std::mutex mutex_;
    mutable std::vector<std::string> verified_by_;  // issuers' certificate ids, at most a few
};

/// Fills every field of CertificateInfo from `cert`, keeping a reference to it. Errors: kInvalidArgument when the
/// certificate cannot be re-encoded or its dates are malformed.
sim::Result<CertificateInfo> InfoFromX509(X509* cert);

/// The entries of an X509_NAME (short names for the common attributes, dotted OIDs else).
DistinguishedName ReadName(const X509_NAME* name);

/// DER/PEM encodings of a certificate (empty on failure).
std::string CertificateDer(X509* cert);
std::string CertificatePem(X509* cert);

/// Decodes a DER certificate, requiring the whole input to be consumed.
X509Ptr DecodeDer(std::string_view der);

/// Splits a PEM text into its "-----BEGIN CERTIFICATE-----" blocks (each with its armour).
std::vector<std::string_view> CertificatePemBlocks(std::string_view pem);

}  // namespace pki::detail
