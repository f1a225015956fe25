// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/mqtt_rules.hpp"

#include <algorithm>
#include <array>
#include <span>

namespace sim::broker {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// Basic Ingest: "$aws/rules/<rule>/" is not counted in the topic limits (AWS IoT Core
// endpoints and quotas).
std::string_view WithoutBasicIngestPrefix(std::string_view topic) {
    constexpr std::string_view kRules = "$aws/rules/";
    if (!StartsWith(topic, kRules)) {
        return topic;
    }
    const auto slash = topic.find('/', kRules.size());
    return slash == std::string_view::npos ? std::string_view{} : topic.substr(slash + 1);
}

RuleViolation CheckSize(std::string_view topic) {
    const auto counted = WithoutBasicIngestPrefix(topic);
    if (counted.size() > kMaxTopicBytes) {
        return RuleViolation::kTopicTooLong;
    }
    if (std::count(counted.begin(), counted.end(), '/') > kMaxTopicSlashes) {
        return RuleViolation::kTooManyTopicLevels;
    }
    return RuleViolation::kNone;
}

bool AnyPrefix(std::string_view text, std::span<const std::string_view> prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](std::string_view p) { return StartsWith(text, p); });
}

constexpr std::array<std::string_view, 5> kPublishablePrefixes = {
    "$aws/things/", "$aws/certificates/create", "$aws/provisioning-templates/", "$aws/rules/",
    "$aws/certificates/create-from-csr"};
constexpr std::array<std::string_view, 4> kSubscribablePrefixes = {
    "$aws/events/", "$aws/things/", "$aws/certificates/", "$aws/provisioning-templates/"};

}  // namespace

const char* ToString(RuleViolation violation) noexcept {
    switch (violation) {
        case RuleViolation::kNone:
            return "none";
        case RuleViolation::kQos2NotSupported:
            return "qos2_not_supported";
        case RuleViolation::kEmptyTopic:
            return "empty_topic";
        case RuleViolation::kTopicTooLong:
            return "topic_too_long";
        case RuleViolation::kTooManyTopicLevels:
            return "too_many_topic_levels";
        case RuleViolation::kWildcardInTopic:
            return "wildcard_in_topic";
        case RuleViolation::kInvalidWildcard:
            return "invalid_wildcard";
        case RuleViolation::kReservedTopic:
            return "reserved_topic";
        case RuleViolation::kClientIdTooLong:
            return "client_id_too_long";
        case RuleViolation::kReservedClientId:
            return "reserved_client_id";
        case RuleViolation::kTooManyFilters:
            return "too_many_filters";
    }
    return "unknown";
}

RuleViolation CheckPublishTopic(std::string_view topic) {
    if (topic.empty()) {
        return RuleViolation::kEmptyTopic;
    }
    if (topic.find_first_of("+#") != std::string_view::npos) {
        return RuleViolation::kWildcardInTopic;
    }
    if (topic.front() == '$' && !AnyPrefix(topic, kPublishablePrefixes)) {
        return RuleViolation::kReservedTopic;
    }
    return CheckSize(topic);
}

RuleViolation CheckSubscribeFilter(std::string_view filter) {
    if (filter.empty()) {
        return RuleViolation::kEmptyTopic;
    }
    // '#' only as the whole last level; '+' only as a whole level (MQTT 3.1.1 §4.7.1).
    std::size_t start = 0;
    for (;;) {
        const auto end = filter.find('/', start);
        const auto level =
            filter.substr(start, end == std::string_view::npos ? filter.npos : end - start);
        const bool has_wildcard = level.find_first_of("+#") != std::string_view::npos;
        if (has_wildcard && level.size() != 1) {
            return RuleViolation::kInvalidWildcard;
        }
        if (level == "#" && end != std::string_view::npos) {
            return RuleViolation::kInvalidWildcard;
        }
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    if (filter.front() == '$' && !AnyPrefix(filter, kSubscribablePrefixes)) {
        return RuleViolation::kReservedTopic;
    }
    return CheckSize(filter);
}

RuleViolation CheckQos(int qos) {
    return qos == 0 || qos == 1 ? RuleViolation::kNone : RuleViolation::kQos2NotSupported;
}

RuleViolation CheckClientId(std::string_view client_id) {
    if (client_id.size() > kMaxClientIdBytes) {
        return RuleViolation::kClientIdTooLong;
    }
    if (!client_id.empty() && client_id.front() == '$') {
        return RuleViolation::kReservedClientId;
    }
    return RuleViolation::kNone;
}

RuleViolation CheckFilterCount(std::size_t filters) {
    return filters <= kMaxFiltersPerSubscribe ? RuleViolation::kNone
                                              : RuleViolation::kTooManyFilters;
}

const char* ToString(SniVerdict verdict) noexcept {
    switch (verdict) {
        case SniVerdict::kAccept:
            return "accept";
        case SniVerdict::kMissing:
            return "no_sni";
        case SniVerdict::kOtherAccount:
            return "sni_other_account";
    }
    return "unknown";
}

SniVerdict CheckServerName(std::string_view server_name, std::string_view own_endpoint) {
    if (server_name.empty()) {
        return SniVerdict::kMissing;
    }
    const auto lower = [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    const auto equal_ignoring_case = [&](std::string_view a, std::string_view b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(),
                          [&](char x, char y) { return lower(x) == lower(y); });
    };
    // A trailing dot (absolute DNS name) names the same host.
    if (server_name.back() == '.') {
        server_name.remove_suffix(1);
    }
    if (!own_endpoint.empty() && equal_ignoring_case(server_name, own_endpoint)) {
        return SniVerdict::kAccept;
    }
    const bool world_endpoint =
        server_name.size() > kWorldEndpointDomain.size() &&
        equal_ignoring_case(server_name.substr(server_name.size() - kWorldEndpointDomain.size()),
                            kWorldEndpointDomain);
    // Assumed: AWS routes by SNI to the account that owns the endpoint ('X.509 client
    // certificates'); here each account has its own address, so a world endpoint that is not ours
    // means the device reached the wrong account, which refuses it (reason sni_other_account).
    if (world_endpoint && !own_endpoint.empty()) {
        return SniVerdict::kOtherAccount;
    }
    // Assumed: any other server name (IP literal, "localhost", a foreign domain) is accepted.
    // Clients of the emulator connect by address, and Paho C and mosquitto_pub then send the IP
    // literal or the host they were given as SNI (seen with Paho C 1.3.12); AWS knows no such
    // name, but refusing it would refuse every client that connects by address.
    return SniVerdict::kAccept;
}

std::chrono::seconds ClampKeepAlive(std::chrono::seconds requested) {
    using std::chrono::seconds;
    if (requested <= seconds{0} || requested > seconds{1200}) {
        return seconds{1200};
    }
    return std::max(requested, seconds{30});
}

bool IsSdkMetricsUsername(std::string_view username) {
    return !username.empty() && username.front() == '?';
}

bool ConnectRateLimiter::Allow(std::string_view client_id, sim::TimePoint now) {
    if (interval_.count() == 0) {
        return true;
    }
    // Forget entries older than the interval so the map stays as small as the active set.
    if (last_.size() > 1024) {
        std::erase_if(last_, [&](const auto& entry) { return now - entry.second >= interval_; });
    }
    const auto it = last_.find(client_id);
    if (it != last_.end() && now - it->second < interval_) {
        return false;
    }
    last_.insert_or_assign(std::string(client_id), now);
    return true;
}

}  // namespace sim::broker
