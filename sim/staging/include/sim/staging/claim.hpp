// SPDX-License-Identifier: Apache-2.0
#pragma once
// Claims: what the staging account does with a message a claim-thing publishes on
// "<ThingName>/expresslink_config" (PG-PROV 12.3.2; OEM guide, "Claim implementation"; the
// misrouted-claim row 9 rules of sim/staging/README.md).
//
// Pure functions. The broker plugin calls EvaluateClaim from its ACL check (it sees the payload
// there) for publishes of claim-things; a refused claim is not delivered and the claim-thing's
// connection is closed, as AWS closes a client that publishes without permission (kicked at the
// next TICK: mosquitto frees the client's id when kicked from ACL_CHECK).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/account/registry.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim::staging {

/// Assumed: a claim larger than this is refused. The longest valid claim is
/// {"Endpoint": "<253-char host>:65535"} (~280 bytes); 1 KiB leaves room for whitespace.
inline constexpr std::size_t kMaxClaimPayloadBytes = 1024;

/// An Endpoint value: a DNS host name or an IPv4 literal, and an optional port.
struct EndpointValue {
    std::string host;                  ///< As written.
    std::optional<std::uint16_t> port;  ///< nullopt: the module's default port.
    std::string ToString() const;       ///< "host" or "host:port".
    bool operator==(const EndpointValue&) const = default;
};

/// Parses "host[:port]". host: an IPv4 dotted quad, or a DNS name of 1-253 characters made of
/// labels of 1-63 letters, digits and '-' (not first or last), no trailing dot; port
/// 1-65535 in decimal without sign or leading zeros. Errors: kInvalidArgument naming the
/// problem ("Endpoint: empty", "Endpoint: port '0' out of range", ...). Not accepted
/// (Assumed): IPv6 literals, user@, schemes ("mqtts://"), paths, whitespace.
sim::Result<EndpointValue> ParseEndpointValue(std::string_view text);

/// Why a claim was refused.
enum class ClaimRefusal {
    kNone,
    kTopic,            ///< Not "<valid ThingName>/expresslink_config".
    kRetained,         ///< RETAIN set: claims are never kept for later (README row 2).
    kTooLarge,         ///< Payload above kMaxClaimPayloadBytes.
    kNotJson,          ///< Invalid JSON (or not UTF-8).
    kNotObject,        ///< Valid JSON but not an object.
    kWrongKeys,        ///< Not exactly one key "Endpoint" (case-sensitive; duplicates count).
    kNotString,        ///< "Endpoint" is not a string.
    kBadEndpoint,      ///< Empty, or not host[:port] (ParseEndpointValue).
    kStagingEndpoint,  ///< The staging account's own endpoint (host, any port).
};
std::string_view ToString(ClaimRefusal refusal) noexcept;

/// What the staging account knows when judging a claim.
struct ClaimRules {
    /// Host names (and addresses) of this staging account, compared case-insensitively
    /// with the claimed host; a claim sending the module back to staging is refused.
    std::vector<std::string> staging_hosts;
    std::size_t max_payload_bytes = kMaxClaimPayloadBytes;
};

struct ClaimDecision {
    bool accepted = false;
    ClaimRefusal refusal = ClaimRefusal::kNone;
    std::string reason;      ///< One line; empty when accepted.
    std::string thing_name;  ///< From the topic (set whenever the topic was valid).
    EndpointValue endpoint;  ///< Set when accepted.
};

/// Judges one publish of a claim-thing. Accepts exactly: topic "<ThingName>/expresslink_config"
/// with a valid thing name, RETAIN clear, payload at most `rules.max_payload_bytes`, a JSON
/// object with exactly one member "Endpoint" whose value is a string that ParseEndpointValue
/// accepts and whose host is not one of `rules.staging_hosts`. JSON whitespace around tokens
/// is allowed (the spec writes `{"Endpoint" : "value"}`). Never throws.
ClaimDecision EvaluateClaim(const ClaimRules& rules, std::string_view topic,
                            std::string_view payload, bool retain = false);

/// The record of an accepted claim on the module's thing (attributes claimedBy,
/// claimedEndpoint, claimedAt; merged, other attributes kept). Apply with
/// Registry::UpdateThing; nullopt when `decision` was not accepted. When the thing does not
/// exist (README row 1) UpdateThing fails with ResourceNotFoundException: the plugin ignores
/// that (the message is still accepted by the broker and reaches no one).
std::optional<account::UpdateThingRequest> ClaimRecord(const ClaimDecision& decision,
                                                       std::string_view claimer_uuid,
                                                       sim::TimePoint now);

/// The presence record of a module's thing: connected "true"/"false" and connectedAt or
/// disconnectedAt (epoch milliseconds), merged. Apply with Registry::UpdateThing on CONNECT
/// (after the connection was accepted) and on DISCONNECT of a module session.
account::UpdateThingRequest PresenceRecord(std::string_view thing_name, bool connected,
                                           sim::TimePoint now);

}  // namespace sim::staging
