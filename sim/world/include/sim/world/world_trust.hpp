// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whether a running world trusts a client certificate, checked before a client connects so
// that a certificate from another PKI is reported in words instead of a TLS alert. Adapter
// (files, OpenSSL): reads the certificates and the world's CA files.
//
// A module's birth certificate must be signed by one of the world's manufacturer CAs
// (world.json "manufacturers"); a claim-thing certificate by the world's issuing CA
// (DIR/pki/issuing-ca.pem), as AWS IoT's CreateKeysAndCertificate issues it. The check is a
// signature check (issuer name and signature), not a full path validation: validity dates,
// revocation and registration are the account's business and are reported by it.

#include <filesystem>

#include "sim/core/result.hpp"
#include "sim/world/world_state.hpp"

namespace sim::world {

enum class ClientRole {
    kModule,      ///< A module's birth identity: signed by a manufacturer CA.
    kClaimThing,  ///< A claim-thing certificate: signed by the world's issuing CA.
};

/// The CA file a certificate of `role` must be signed by in `world` (for modules, the first
/// manufacturer's CA). Empty when the world has none.
std::filesystem::path TrustedCaFile(const WorldState& world, ClientRole role);

/// Succeeds when the first certificate of `cert_file`, or a certificate of `chain_file`
/// (optional; e.g. an intermediate), is signed by a CA the world trusts for `role`.
/// Errors: kFailedPrecondition "<cert_file> is not signed by a CA the world trusts: it needs
/// <ca file> (<which CA>)"; kNotFound / kInvalidArgument naming an unreadable file.
sim::Status CheckWorldTrusts(const WorldState& world, const std::filesystem::path& cert_file,
                             const std::filesystem::path& chain_file, ClientRole role);

}  // namespace sim::world
