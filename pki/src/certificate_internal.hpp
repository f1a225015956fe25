// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal: building a CertificateInfo from an OpenSSL X509, shared by the reader and the issuer.

#include "openssl_util.hpp"
#include "pki/certificate.hpp"

namespace pki::detail {

/// Fills every field of CertificateInfo from `cert`. Errors: kInvalidArgument when the
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
