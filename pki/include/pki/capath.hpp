// SPDX-License-Identifier: Apache-2.0
#pragma once
// An OpenSSL hashed CA directory ("capath", as SSL_CTX_load_verify_locations and mosquitto's
// `capath` read it): the subject-name hash of a CA certificate and adding a CA to such a
// directory. Adapter (files).
//
// Thread-safe for different directories; callers adding to one directory from several threads
// serialise the calls (two writers could pick the same free link suffix).

#include <filesystem>
#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace pki {

/// The OpenSSL subject-name hash of the first certificate of `ca_pem`, as `openssl x509 -hash`
/// prints it (8 lowercase hex digits), computed with X509_NAME_hash_ex. Errors:
/// kInvalidArgument "CA certificate is not PEM: <reason>".
sim::Result<std::string> SubjectHash(std::string_view ca_pem);

/// Adds a CA to a capath directory (made when missing): writes `<certificateId>.pem` and the
/// first free `<subject_hash>.N` link (N = 0..9) pointing at it, so a TLS server reading the
/// directory trusts it at the next handshake without restart. Idempotent for the same
/// certificate. Errors: kInvalidArgument (not PEM), kIo (cannot write or link),
/// kResourceExhausted (ten CAs with one subject hash already).
sim::Status AddCaToCapath(const std::filesystem::path& capath, std::string_view ca_pem);

}  // namespace pki
