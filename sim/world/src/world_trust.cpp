// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_trust.hpp"

#include <string>
#include <system_error>
#include <vector>

#include "pki/certificate.hpp"
#include "sim/core/adapters.hpp"

namespace sim::world {
namespace fs = std::filesystem;

namespace {

// Every certificate of a PEM file, in order; an error names the file.
sim::Result<std::vector<pki::CertificateInfo>> ReadCertFile(const fs::path& file) {
    auto text = sim::ReadFile(file);
    if (!text) {
        return sim::MakeError(sim::ErrorCode::kNotFound, file.string() + ": cannot read");
    }
    auto certs = pki::ParseCertificateChainPem(*text);
    if (!certs) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              file.string() + ": " + certs.error().message);
    }
    return certs;
}

}  // namespace

fs::path TrustedCaFile(const WorldState& world, ClientRole role) {
    if (role == ClientRole::kClaimThing) {
        return world.directory.empty() ? fs::path{}
                                       : fs::path(world.directory) / "pki" / "issuing-ca.pem";
    }
    return world.manufacturers.empty() ? fs::path{}
                                       : fs::path(world.manufacturers.front().ca_certificate_file);
}

sim::Status CheckWorldTrusts(const WorldState& world, const fs::path& cert_file,
                             const fs::path& chain_file, ClientRole role) {
    auto leaf = ReadCertFile(cert_file);
    if (!leaf) {
        return sim::Unexpected<sim::Error>(leaf.error());
    }
    std::vector<pki::CertificateInfo> candidates{leaf->front()};
    std::error_code ec;
    if (!chain_file.empty() && fs::exists(chain_file, ec)) {
        if (auto chain = ReadCertFile(chain_file)) {
            candidates.insert(candidates.end(), chain->begin(), chain->end());
        }
    }
    std::vector<fs::path> ca_files;
    std::string needed;
    if (role == ClientRole::kClaimThing) {
        ca_files.push_back(TrustedCaFile(world, role));
        needed = "the world's issuing CA; make one with `elsim world identities --world " +
                 world.directory + "`";
    } else {
        for (const auto& m : world.manufacturers) {
            ca_files.emplace_back(m.ca_certificate_file);
        }
        needed =
            "a manufacturer CA of the world; make identities with `elsim world identities "
            "--world " +
            world.directory + "`";
    }
    std::string names;
    for (const auto& file : ca_files) {
        auto cas = ReadCertFile(file);
        if (!cas) {
            return sim::Unexpected<sim::Error>(cas.error());
        }
        for (const auto& candidate : candidates) {
            if (pki::IsSignedBy(candidate, cas->front())) {
                return {};
            }
        }
        names += (names.empty() ? "" : " or ") + file.string();
    }
    return sim::MakeError(
        sim::ErrorCode::kFailedPrecondition,
        cert_file.string() + " is not signed by a CA the world trusts: it needs " +
            (names.empty() ? std::string("a CA the world does not have") : names) + " (" + needed +
            ")");
}

}  // namespace sim::world
