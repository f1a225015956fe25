// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the staging account's claim rules, which judge what a module publishes
// to "<ThingName>/expresslink_config". Input: the topic, a newline, then the payload (the first
// byte's low bit is RETAIN). Properties: no crash or sanitizer report; a refusal has a one-line
// reason and an acceptance none; an accepted endpoint re-parses to itself and is never the
// staging host.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sim/staging/claim.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const bool retain = (data[0] & 1) != 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto newline = input.find('\n');
    const std::string_view topic = input.substr(0, newline);
    const std::string_view payload =
        newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

    sim::staging::ClaimRules rules;
    rules.staging_hosts = {"staging0123456-ats.iot.us-east-1.elsim.test", "127.0.0.1"};
    const auto decision = sim::staging::EvaluateClaim(rules, topic, payload, retain);
    if (decision.accepted != decision.reason.empty() ||
        decision.reason.find('\n') != std::string::npos ||
        decision.accepted != (decision.refusal == sim::staging::ClaimRefusal::kNone)) {
        std::abort();
    }
    if (decision.accepted) {
        const auto again = sim::staging::ParseEndpointValue(decision.endpoint.ToString());
        if (!again || !(*again == decision.endpoint) || retain ||
            payload.size() > rules.max_payload_bytes) {
            std::abort();
        }
    }
    // The endpoint grammar alone, on the raw payload.
    if (const auto endpoint = sim::staging::ParseEndpointValue(payload); endpoint) {
        const auto again = sim::staging::ParseEndpointValue(endpoint->ToString());
        if (!again || !(*again == *endpoint)) {
            std::abort();
        }
    }
    return 0;
}
