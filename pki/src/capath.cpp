// SPDX-License-Identifier: Apache-2.0
#include "pki/capath.hpp"

#include <string_view>
#include <system_error>

#include "openssl_util.hpp"
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/certificate.hpp"
#include "sim/core/adapters.hpp"

namespace pki {
namespace fs = std::filesystem;

sim::Result<std::string> SubjectHash(std::string_view ca_pem) {
    detail::BioPtr bio = detail::ReadBio(ca_pem);
    detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "CA certificate is not PEM: " + detail::TakeOpenSslError("no certificate found"));
    }
    int ok = 0;
    unsigned long hash =  // NOLINT(google-runtime-int): OpenSSL's type
        X509_NAME_hash_ex(X509_get_subject_name(cert.get()), nullptr, nullptr, &ok);
    if (ok != 1) {
        return sim::MakeError(sim::ErrorCode::kInternal,
                              "X509_NAME_hash_ex: " + detail::TakeOpenSslError());
    }
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string text(8, '0');
    for (int i = 7; i >= 0; --i) {
        text[static_cast<std::size_t>(i)] = kDigits[hash & 0xfU];
        hash >>= 4;
    }
    return text;
}

sim::Status AddCaToCapath(const fs::path& capath, std::string_view ca_pem) {
    auto info = ParseCertificatePem(ca_pem);
    if (!info) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "CA certificate is not PEM: " + info.error().message);
    }
    auto hash = SubjectHash(ca_pem);
    if (!hash) {
        return sim::Unexpected<sim::Error>(hash.error());
    }
    std::error_code ec;
    fs::create_directories(capath, ec);
    const std::string file = info->certificate_id + ".pem";
    if (auto written = sim::WriteFileAtomically(capath / file, ca_pem); !written) {
        return written;
    }
    // OpenSSL's hashed-directory lookup tries <hash>.0, <hash>.1, ... (several CAs may share a
    // subject). Reuse our own link if present; else take the first free suffix.
    for (int n = 0; n < 10; ++n) {
        const fs::path link = capath / (*hash + "." + std::to_string(n));
        if (fs::is_symlink(link, ec)) {
            if (fs::read_symlink(link, ec) == fs::path(file)) {
                return {};
            }
            continue;
        }
        if (fs::exists(link, ec)) {
            continue;
        }
        fs::create_symlink(file, link, ec);
        if (ec) {
            return sim::MakeError(sim::ErrorCode::kIo,
                                  "cannot link " + link.string() + ": " + ec.message());
        }
        return {};
    }
    return sim::MakeError(sim::ErrorCode::kResourceExhausted,
                          "more than 10 CAs with one subject hash in " + capath.string());
}

}  // namespace pki
