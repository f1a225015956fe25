// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared test fixture for the account model: a registry over a manual clock and a seeded
// random, and real certificates made in memory with pki (OpenSSL), no files.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "pki/authority.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "sim/account/registry.hpp"
#include "sim/core/ports.hpp"

namespace sim::account::testing {

using std::chrono::hours;

inline constexpr TimePoint kStart{std::chrono::seconds{1'700'000'000}};

inline pki::DistinguishedName Dn(std::vector<std::pair<std::string, std::string>> entries) {
    return pki::DistinguishedName{std::move(entries)};
}

inline pki::Key NewKey() {
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!key) {
        throw std::runtime_error("key generation failed: " + key.error().message);
    }
    return std::move(*key);
}

/// A self-signed root CA valid [kStart - 1 day, kStart + 10 years].
inline pki::CertificateAuthority MakeCa(const std::string& common_name,
                                        TimePoint not_before = kStart - hours{24},
                                        TimePoint not_after = kStart + hours{24 * 3650}) {
    pki::IssueSpec spec;
    spec.subject = Dn({{"O", "Maker"}, {"CN", common_name}});
    spec.not_before = not_before;
    spec.not_after = not_after;
    auto ca = pki::CertificateAuthority::CreateRoot(spec, NewKey());
    if (!ca) {
        throw std::runtime_error("CA creation failed: " + ca.error().message);
    }
    return std::move(*ca);
}

/// A leaf signed by `ca` with `subject`, valid [not_before, not_after].
inline pki::CertificateInfo IssueLeaf(const pki::CertificateAuthority& ca,
                                      pki::DistinguishedName subject,
                                      TimePoint not_before = kStart - hours{24},
                                      TimePoint not_after = kStart + hours{24 * 365}) {
    pki::IssueSpec spec;
    spec.subject = std::move(subject);
    spec.not_before = not_before;
    spec.not_after = not_after;
    auto issued = ca.Issue(spec, NewKey());
    if (!issued) {
        throw std::runtime_error("issue failed: " + issued.error().message);
    }
    auto info = pki::ParseCertificatePem(issued->pem);
    if (!info) {
        throw std::runtime_error("parse failed: " + info.error().message);
    }
    return std::move(*info);
}

inline pki::CertificateInfo IssueLeaf(const pki::CertificateAuthority& ca,
                                      const std::string& common_name) {
    return IssueLeaf(ca, Dn({{"CN", common_name}}));
}

/// One account: registry + its clock, random and the world's DEFAULT-mode index.
struct Account {
    explicit Account(std::string account_id = "123456789012",
                     DefaultModeCaIndex* shared_index = nullptr, std::uint64_t seed = 7)
        : random(seed),
          registry(AccountSettings{std::move(account_id), "us-east-1", "a1b2c3d4e5f6g7"}, clock,
                   random, shared_index != nullptr ? shared_index : &own_index) {}

    /// Registers `ca` ACTIVE in SNI_ONLY mode with auto-registration as given.
    std::string RegisterCa(const pki::CertificateAuthority& ca, bool auto_registration,
                           std::optional<RegistrationConfig> config = {}) {
        RegisterCaCertificateRequest request;
        request.ca_certificate = ca.pem();
        request.certificate_mode = "SNI_ONLY";
        request.set_as_active = true;
        request.allow_auto_registration = auto_registration;
        request.registration_config = std::move(config);
        auto response = registry.RegisterCACertificate(request);
        EXPECT_TRUE(response.has_value()) << (response ? "" : response.error().message);
        return response ? response->certificate_id : std::string{};
    }

    std::string CertArn(const std::string& certificate_id) const {
        return CertificateArn(registry.Settings(), certificate_id);
    }

    ManualClock clock{kStart};
    SeededRandom random;
    InMemoryDefaultModeCaIndex own_index;
    Registry registry;
};

/// gtest's name generator for tables whose cases have a `name` member.
struct CaseName {
    template <class Case>
    std::string operator()(const ::testing::TestParamInfo<Case>& param_info) const {
        return param_info.param.name;
    }
};

inline constexpr const char* kAllowAllPolicy =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})";

inline constexpr const char* kRoleArn = "arn:aws:iam::123456789012:role/Provisioning";

}  // namespace sim::account::testing
