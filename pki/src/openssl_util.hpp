// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal helpers over the OpenSSL C API: owning handles (unique_ptr with the *_free deleter),
// memory BIOs, the error queue as one line of text. Not part of the public API.

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace pki::detail {

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { Free(p); }
};

inline void FreeBio(BIO* bio) { BIO_free_all(bio); }

using BioPtr = std::unique_ptr<BIO, Deleter<BIO, FreeBio>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;
using EkuPtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

/// A read-only memory BIO over `data` (which must outlive the BIO).
BioPtr ReadBio(std::string_view data);
/// A fresh writable memory BIO.
BioPtr WriteBio();
/// Everything written to a memory BIO so far.
std::string BioContents(BIO* bio);

/// The OpenSSL error queue as one line (the last reason), and clears the queue.
/// `fallback` is returned when the queue is empty.
std::string TakeOpenSslError(std::string_view fallback = "unknown OpenSSL error");

/// Lowercase hex SHA-256 of bytes.
std::string Sha256Hex(std::string_view bytes);

/// ASN1_TIME -> time_point (UTC). False when the time is malformed.
bool Asn1TimeToTimePoint(const ASN1_TIME* time, std::chrono::system_clock::time_point* out);

/// Public key description: "EC P-256", "RSA 2048", "ED25519", ...
std::string DescribeKey(const EVP_PKEY* key);

/// Lowercase hex of the SubjectPublicKeyInfo DER's SHA-256, or empty on failure.
std::string PublicKeySha256(const EVP_PKEY* key);
/// The same of a certificate's SubjectPublicKeyInfo as it is encoded in the certificate.
std::string SubjectPublicKeySha256(X509* cert);

}  // namespace pki::detail
