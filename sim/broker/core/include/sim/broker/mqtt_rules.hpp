// SPDX-License-Identifier: Apache-2.0
#pragma once
// AWS IoT's MQTT rules that a stock broker does not apply (AWS IoT Core Developer Guide, 'MQTT',
// "AWS IoT differences from MQTT specifications"; AWS IoT Core endpoints and quotas).
// Pure functions over topics, QoS values, keep-alives and client ids.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sim/core/ports.hpp"

namespace sim::broker {

/// Why a packet breaks AWS IoT's rules. kNone: it does not.
enum class RuleViolation {
    kNone,
    kQos2NotSupported,    ///< AWS IoT supports QoS 0 and 1 only.
    kEmptyTopic,          ///< A topic or filter of zero length.
    kTopicTooLong,        ///< More than 256 bytes (after the Basic Ingest prefix).
    kTooManyTopicLevels,  ///< More than 7 slashes (after the Basic Ingest prefix).
    kWildcardInTopic,     ///< '+' or '#' in a PUBLISH topic.
    kInvalidWildcard,     ///< '#' not last, or '+'/'#' not a whole level, in a filter.
    kReservedTopic,       ///< A '$' topic that AWS IoT does not serve for this operation.
    kClientIdTooLong,     ///< Client id longer than 128 bytes.
    kReservedClientId,    ///< Client id starting with '$' (AWS-generated ids only).
    kTooManyFilters,      ///< More than 8 filters in one SUBSCRIBE.
};
/// A stable snake_case name for logs ("topic_too_long").
const char* ToString(RuleViolation violation) noexcept;

inline constexpr std::size_t kMaxTopicBytes = 256;
inline constexpr int kMaxTopicSlashes = 7;
inline constexpr std::size_t kMaxClientIdBytes = 128;
inline constexpr std::size_t kMaxFiltersPerSubscribe = 8;

/// A PUBLISH topic (from a device): length, levels, no wildcards, reserved `$` topics.
/// Devices may publish to `$aws/things/...` (shadow, jobs), `$aws/certificates/create...`,
/// `$aws/provisioning-templates/...` and `$aws/rules/<rule>/...` (Basic Ingest), nowhere else
/// under `$`.
RuleViolation CheckPublishTopic(std::string_view topic);
/// A SUBSCRIBE filter: length, levels, wildcard placement, reserved `$` filters. Devices may
/// subscribe under `$aws/events/`, `$aws/things/`, `$aws/certificates/` and
/// `$aws/provisioning-templates/`.
RuleViolation CheckSubscribeFilter(std::string_view filter);
/// QoS 0 and 1 pass; 2 (and anything else) is kQos2NotSupported.
RuleViolation CheckQos(int qos);
/// Client id rules (length, '$' prefix). An empty id passes (the broker assigns one).
RuleViolation CheckClientId(std::string_view client_id);
/// At most 8 filters per SUBSCRIBE.
RuleViolation CheckFilterCount(std::size_t filters);

/// What the TLS server name (SNI) a device sent means for this account (AWS IoT Core Developer
/// Guide, 'Transport security in AWS IoT Core', 'X.509 client certificates').
enum class SniVerdict {
    kAccept,        ///< This account's endpoint, or a name that is not a world endpoint.
    kMissing,       ///< No SNI: AWS refuses the connection.
    kOtherAccount,  ///< The endpoint of another emulated account.
};
/// A stable snake_case name for logs: "accept", "no_sni", "sni_other_account".
const char* ToString(SniVerdict verdict) noexcept;

/// The domain every emulated endpoint lives under (`<prefix>-ats.iot.<region>.elsim.test`,
/// sim/world world_spec.cpp).
inline constexpr std::string_view kWorldEndpointDomain = ".elsim.test";

/// Classifies `server_name` (empty: the client sent no SNI) against `own_endpoint` (this
/// account's endpoint; empty: not configured). Host names compare case-insensitively.
/// - empty -> kMissing ("Connection attempts that don't include the SNI are refused");
/// - a name under kWorldEndpointDomain other than own_endpoint -> kOtherAccount (with no
///   own_endpoint configured nothing is "other": kAccept);
/// - anything else (own endpoint, IP literal, "localhost") -> kAccept.
/// Why, in mqtt_rules.cpp.
SniVerdict CheckServerName(std::string_view server_name, std::string_view own_endpoint);

/// AWS's keep-alive clamp: 0 or > 1200 s becomes 1200 s; 1..29 s becomes 30 s.
std::chrono::seconds ClampKeepAlive(std::chrono::seconds requested);

/// True for the metrics "username" AWS SDKs send ("?SDK=...&Platform=..."), which AWS ignores.
bool IsSdkMetricsUsername(std::string_view username);

/// At most one accepted CONNECT per second per client id (AWS IoT Core endpoints and quotas).
/// Pure: the caller passes the time. Not thread-safe.
class ConnectRateLimiter {
public:
    explicit ConnectRateLimiter(std::chrono::milliseconds interval = std::chrono::seconds{1})
        : interval_(interval) {}
    /// True (and the attempt is recorded) when the last recorded CONNECT of `client_id` is at
    /// least `interval` before `now`; false otherwise. An interval of 0 allows everything.
    bool Allow(std::string_view client_id, sim::TimePoint now);

private:
    std::chrono::milliseconds interval_;
    std::map<std::string, sim::TimePoint, std::less<>> last_;
};

}  // namespace sim::broker
