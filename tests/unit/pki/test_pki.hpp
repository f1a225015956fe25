// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared set-up for the pki unit tests: a fixed "now" and a small EC root CA made in memory.

#include <gtest/gtest.h>

#include "pki/authority.hpp"
#include "pki/profiles.hpp"

namespace pki::testing {

inline const TimePoint kNow{std::chrono::seconds{1'700'000'000}};  // 2023-11-14T22:13:20Z

inline const CertificateAuthority& TestRoot() {
    static const CertificateAuthority root = [] {
        auto key = Key::Generate(KeyType::kEcP256);
        auto ca = CertificateAuthority::CreateRoot(
            RootCaSpec(DistinguishedName{{{"O", "Test"}, {"CN", "Test Root CA"}}}, kNow,
                       Days{3650}),
            *key);
        return *ca;
    }();
    return root;
}

inline IssueSpec LeafSpec(std::string cn = "leaf") {
    IssueSpec spec;
    spec.subject.entries = {{"CN", std::move(cn)}};
    spec.not_before = kNow - std::chrono::hours{1};
    spec.not_after = kNow + Days{30};
    return spec;
}

}  // namespace pki::testing
