// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_trust.hpp"

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sim/core/adapters.hpp"

namespace sim::world {
namespace fs = std::filesystem;

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { F(p); }
};
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

// Every certificate of a PEM text, in order.
std::vector<Cert> ReadCerts(const std::string& pem) {
    std::vector<Cert> certs;
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    while (true) {
        Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            break;
        }
        certs.push_back(std::move(cert));
    }
    ERR_clear_error();  // the end of the text is reported as an error
    return certs;
}

sim::Result<std::vector<Cert>> ReadCertFile(const fs::path& file) {
    auto text = sim::ReadFile(file);
    if (!text) {
        return sim::MakeError(sim::ErrorCode::kNotFound, file.string() + ": cannot read");
    }
    auto certs = ReadCerts(*text);
    if (certs.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              file.string() + ": no PEM certificate");
    }
    return certs;
}

// True when `ca` signed `cert`: the issuer is the CA's subject and the signature verifies
// with the CA's key.
bool SignedBy(X509* cert, X509* ca) {
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) != 0) {
        return false;
    }
    EVP_PKEY* key = X509_get0_pubkey(ca);
    const bool ok = key != nullptr && X509_verify(cert, key) == 1;
    ERR_clear_error();
    return ok;
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
    std::vector<X509*> candidates{leaf->front().get()};
    std::vector<Cert> chain;
    std::error_code ec;
    if (!chain_file.empty() && fs::exists(chain_file, ec)) {
        if (auto text = sim::ReadFile(chain_file)) {
            chain = ReadCerts(*text);
        }
        for (const auto& c : chain) {
            candidates.push_back(c.get());
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
        for (X509* candidate : candidates) {
            if (SignedBy(candidate, cas->front().get())) {
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
