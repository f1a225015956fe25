// SPDX-License-Identifier: Apache-2.0
#pragma once
// Fixture for the staging core tests: a staging account's registry over a manual clock and a
// seeded random, a manufacturer CA and birth certificates made in memory with pki (OpenSSL).

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pki/authority.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/profiles.hpp"
#include "sim/account/registry.hpp"
#include "sim/core/ports.hpp"
#include "sim/staging/staging.hpp"

namespace sim::staging::testing {

using std::chrono::hours;

inline const TimePoint kStart{std::chrono::seconds{1'700'000'000}};
inline constexpr const char* kRegion = "us-east-1";
inline constexpr const char* kAccountId = "111122223333";

template <class T>
T Must(sim::Result<T> result, const char* what) {
    if (!result) {
        throw std::runtime_error(std::string(what) + ": " + result.error().message);
    }
    return std::move(*result);
}

inline pki::CertificateAuthority MakeCa(const std::string& common_name) {
    pki::IssueSpec spec;
    spec.subject = pki::DistinguishedName{{{"O", "ModuleMaker"}, {"CN", common_name}}};
    spec.not_before = kStart - hours{24};
    spec.not_after = kStart + hours{24 * 3650};
    spec.is_ca = true;
    return Must(pki::CertificateAuthority::CreateRoot(
                    spec, Must(pki::Key::Generate(pki::KeyType::kEcP256), "key")),
                "CA");
}

/// A leaf with an explicit subject and serial (empty serial: random).
inline pki::CertificateInfo Leaf(const pki::CertificateAuthority& ca,
                                 std::vector<std::pair<std::string, std::string>> subject,
                                 std::vector<std::uint8_t> serial = {},
                                 TimePoint not_before = kStart - hours{24},
                                 TimePoint not_after = kStart + hours{24 * 365}) {
    pki::IssueSpec spec;
    spec.subject = pki::DistinguishedName{std::move(subject)};
    spec.serial = std::move(serial);
    spec.not_before = not_before;
    spec.not_after = not_after;
    auto issued = Must(ca.Issue(spec, Must(pki::Key::Generate(pki::KeyType::kEcP256), "key")),
                       "issue");
    return Must(pki::ParseCertificatePem(issued.pem), "parse");
}

/// A real birth certificate: CN = ThingName = serial hex (pki::ModuleSpec).
inline pki::CertificateInfo BirthCertificate(const pki::CertificateAuthority& ca,
                                             TimePoint not_before = kStart - hours{24},
                                             TimePoint not_after = kStart + hours{24 * 365}) {
    const auto name = Must(pki::NewThingName(), "thing name");
    const auto spec = pki::ModuleSpec(name, "", not_before, not_after);
    auto issued = Must(ca.Issue(spec, Must(pki::Key::Generate(pki::KeyType::kEcP256), "key")),
                       "issue");
    return Must(pki::ParseCertificatePem(issued.pem), "parse");
}

/// A staging account set up for one manufacturer.
struct StagingFixture {
    StagingFixture()
        : manufacturer(MakeCa("Manufacturer CA")),
          registry(account::AccountSettings{kAccountId, kRegion, "stagingaaaaaaa"}, clock, random,
                   &index) {
        auto ca_info = Must(pki::ParseCertificatePem(manufacturer.pem()), "CA parse");
        auto set_up = SetUpStagingAccount(registry, ca_info);
        if (!set_up) {
            throw std::runtime_error("set-up: " + set_up.error().message);
        }
        registry.TakeChanges();
        registry.TakeEffects();
    }
    ManualClock clock{kStart};
    SeededRandom random{42};
    account::InMemoryDefaultModeCaIndex index;
    pki::CertificateAuthority manufacturer;
    account::Registry registry;
};

}  // namespace sim::staging::testing
