// SPDX-License-Identifier: Apache-2.0
#pragma once
// The world's certificates on disk, made with pki (pki/authority.hpp, pki/profiles.hpp). The
// capath trust directory is pki's (pki/capath.hpp). Adapter (files).
//
// Thread-safe: every function is reentrant. Keys are written with mode 0600 and never logged.
// Every file is written atomically (sim::WriteFileAtomically): a crash leaves the old file or
// the whole new one.

#include <filesystem>
#include <string>
#include <vector>

#include "pki/authority.hpp"
#include "pki/profiles.hpp"
#include "sim/core/result.hpp"

namespace sim::world {

/// A self-signed CA kept in `cert_file` + `key_file` ("warm" between runs): loaded when both
/// files exist, else made (EC P-256, `subject`, validity [now - pki::kBackdate, now + days])
/// and written. Errors name the file: "<file>: the private key does not match the
/// certificate", kIo from writing.
sim::Result<pki::CertificateAuthority> LoadOrCreateCa(const std::filesystem::path& cert_file,
                                                      const std::filesystem::path& key_file,
                                                      const pki::DistinguishedName& subject,
                                                      pki::TimePoint now, pki::Days days);

/// An endpoint server certificate signed by `ca` (pki::ServerSpec: CN = first DNS name, SANs =
/// every name and address, EKU serverAuth; EC P-256, `days`), written to `cert_file` (the
/// certificate alone) and `key_file` (PKCS#8). Errors: kInvalidArgument (no name or address,
/// bad address text), kIo.
sim::Status WriteServerCertificate(const pki::CertificateAuthority& ca,
                                   const std::vector<std::string>& dns_names,
                                   const std::vector<std::string>& ip_addresses, pki::TimePoint now,
                                   pki::Days days, const std::filesystem::path& cert_file,
                                   const std::filesystem::path& key_file);

}  // namespace sim::world
