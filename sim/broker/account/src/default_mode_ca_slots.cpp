// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/default_mode_ca_slots.hpp"

#include <algorithm>

#include "sim/core/hex.hpp"

namespace sim::broker {
namespace {

constexpr std::size_t kMaxRegionLength = 32;
constexpr std::size_t kCertificateIdLength = 64;
constexpr std::size_t kAccountIdLength = 12;

bool IsAccountId(std::string_view text) {
    return text.size() == kAccountIdLength &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

sim::Result<std::string> SlotFileName(std::string_view region, std::string_view ca_certificate_id) {
    const bool region_ok = !region.empty() && region.size() <= kMaxRegionLength &&
                           std::all_of(region.begin(), region.end(), [](char c) {
                               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                           });
    if (!region_ok) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "region: '" + std::string(region) + "' is not 1-32 characters of [a-z0-9-]");
    }
    if (!sim::IsLowerHex(ca_certificate_id, kCertificateIdLength)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "caCertificateId: '" + std::string(ca_certificate_id) +
                                  "' is not 64 lowercase hex characters");
    }
    return std::string(region) + "." + std::string(ca_certificate_id);
}

sim::Result<std::string> SlotContents(std::string_view account_id) {
    if (!IsAccountId(account_id)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "accountId: '" + std::string(account_id) + "' is not 12 digits");
    }
    return std::string(account_id) + "\n";
}

sim::Result<std::string> ParseSlotOwner(std::string_view contents) {
    std::string_view owner = contents;
    if (!owner.empty() && owner.back() == '\n') {
        owner.remove_suffix(1);
    }
    if (!IsAccountId(owner)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "slot file: expected a 12-digit account id and a newline, got " +
                                  std::to_string(contents.size()) + " bytes");
    }
    return std::string(owner);
}

}  // namespace sim::broker
