// SPDX-License-Identifier: Apache-2.0
// Claims published by claim-things (PG-PROV 12.3.2; OEM guide, "Claim implementation";
// misrouted-claim row 9 of sim/staging/README.md).
#include "sim/staging/claim.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "sim/staging/staging.hpp"

namespace sim::staging {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool IsIpv4(std::string_view host) {
    int parts = 0;
    std::size_t start = 0;
    while (start <= host.size()) {
        const std::size_t dot = std::min(host.find('.', start), host.size());
        const std::string_view part = host.substr(start, dot - start);
        if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), IsDigit) ||
            (part.size() > 1 && part[0] == '0')) {
            return false;
        }
        int value = 0;
        std::from_chars(part.data(), part.data() + part.size(), value);
        if (value > 255) {
            return false;
        }
        ++parts;
        start = dot + 1;
    }
    return parts == 4;
}

bool AllDigitsAndDots(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](char c) { return IsDigit(c) || c == '.'; });
}

// RFC 1123 host name: LDH labels of 1-63, total <= 253.
bool IsDnsName(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (start <= host.size()) {
        const std::size_t dot = std::min(host.find('.', start), host.size());
        const std::string_view label = host.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; })) {
            return false;
        }
        start = dot + 1;
    }
    return true;
}

bool IsThingName(std::string_view name) {
    return !name.empty() && name.size() <= 128 &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return IsAlnum(c) || c == ':' || c == '_' || c == '-'; });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

sim::Unexpected<Error> Invalid(std::string message) {
    return sim::MakeError(ErrorCode::kInvalidArgument, "Endpoint: " + std::move(message));
}

}  // namespace

std::string EndpointValue::ToString() const {
    return port ? host + ":" + std::to_string(*port) : host;
}

sim::Result<EndpointValue> ParseEndpointValue(std::string_view text) {
    if (text.empty()) {
        return Invalid("empty");
    }
    if (text.find("://") != std::string_view::npos) {
        return Invalid("'" + std::string(text) + "' has a scheme; expected host[:port]");
    }
    EndpointValue value;
    std::string_view host = text;
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        const std::string_view port = text.substr(colon + 1);
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit) ||
            port[0] == '0') {
            return Invalid("port '" + std::string(port) + "' is not a number 1-65535");
        }
        unsigned number = 0;
        std::from_chars(port.data(), port.data() + port.size(), number);
        if (number == 0 || number > 65535) {
            return Invalid("port '" + std::string(port) + "' out of range");
        }
        value.port = static_cast<std::uint16_t>(number);
    }
    if (host.empty()) {
        return Invalid("no host in '" + std::string(text) + "'");
    }
    // A name made of digits and dots only must be a valid IPv4 literal ("1.2.3" is neither).
    if (AllDigitsAndDots(host) ? !IsIpv4(host) : !IsDnsName(host)) {
        return Invalid("'" + std::string(host) + "' is not a valid host name or IPv4 address");
    }
    value.host = std::string(host);
    return value;
}

std::string_view ToString(ClaimRefusal refusal) noexcept {
    switch (refusal) {
        case ClaimRefusal::kNone: return "none";
        case ClaimRefusal::kTopic: return "topic";
        case ClaimRefusal::kRetained: return "retained";
        case ClaimRefusal::kTooLarge: return "too-large";
        case ClaimRefusal::kNotJson: return "not-json";
        case ClaimRefusal::kNotObject: return "not-object";
        case ClaimRefusal::kWrongKeys: return "wrong-keys";
        case ClaimRefusal::kNotString: return "not-string";
        case ClaimRefusal::kBadEndpoint: return "bad-endpoint";
        case ClaimRefusal::kStagingEndpoint: return "staging-endpoint";
    }
    return "unknown";
}

ClaimDecision EvaluateClaim(const ClaimRules& rules, std::string_view topic,
                            std::string_view payload, bool retain) {
    ClaimDecision decision;
    auto refuse = [&](ClaimRefusal why, std::string reason) {
        decision.accepted = false;
        decision.refusal = why;
        decision.reason = std::move(reason);
        return decision;
    };
    // Order: topic, retain, size, then the JSON (cheap checks before parsing).
    const bool has_suffix = topic.size() > kConfigTopicSuffix.size() &&
                            topic.substr(topic.size() - kConfigTopicSuffix.size()) ==
                                kConfigTopicSuffix;
    const std::string_view thing =
        has_suffix ? topic.substr(0, topic.size() - kConfigTopicSuffix.size()) : std::string_view{};
    if (!has_suffix || !IsThingName(thing)) {
        return refuse(ClaimRefusal::kTopic,
                      "topic '" + std::string(topic) + "' is not <ThingName>/expresslink_config");
    }
    decision.thing_name = std::string(thing);
    if (retain) {
        return refuse(ClaimRefusal::kRetained, "claims are not retained (RETAIN set)");
    }
    if (payload.size() > rules.max_payload_bytes) {
        return refuse(ClaimRefusal::kTooLarge,
                      "payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                          std::to_string(rules.max_payload_bytes));
    }
    // Count the members of the top-level object while parsing: nlohmann keeps only the last
    // of duplicate keys, and {"Endpoint":"a","Endpoint":"b"} must not pass as one key.
    std::size_t top_level_keys = 0;
    nlohmann::json::parser_callback_t counter = [&](int depth, nlohmann::json::parse_event_t event,
                                                    nlohmann::json& /*parsed*/) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1) {
            ++top_level_keys;
        }
        return true;
    };
    const nlohmann::json document =
        nlohmann::json::parse(payload.begin(), payload.end(), counter, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        return refuse(ClaimRefusal::kNotJson, "payload is not valid JSON");
    }
    if (!document.is_object()) {
        return refuse(ClaimRefusal::kNotObject, "payload is not a JSON object");
    }
    if (top_level_keys != 1 || !document.contains("Endpoint")) {
        return refuse(ClaimRefusal::kWrongKeys,
                      "payload must have exactly one key \"Endpoint\", has " +
                          std::to_string(top_level_keys));
    }
    const auto& value = document["Endpoint"];
    if (!value.is_string()) {
        return refuse(ClaimRefusal::kNotString, "\"Endpoint\" is not a string");
    }
    auto endpoint = ParseEndpointValue(value.get<std::string>());
    if (!endpoint) {
        return refuse(ClaimRefusal::kBadEndpoint, endpoint.error().message);
    }
    for (const auto& staging : rules.staging_hosts) {
        if (EqualsIgnoreCase(staging, endpoint->host)) {
            return refuse(ClaimRefusal::kStagingEndpoint,
                          "Endpoint '" + endpoint->host + "' is the staging endpoint itself");
        }
    }
    decision.accepted = true;
    decision.refusal = ClaimRefusal::kNone;
    decision.endpoint = std::move(*endpoint);
    return decision;
}

std::optional<account::UpdateThingRequest> ClaimRecord(const ClaimDecision& decision,
                                                       std::string_view claimer_uuid,
                                                       sim::TimePoint now) {
    if (!decision.accepted) {
        return std::nullopt;
    }
    account::UpdateThingRequest request;
    request.thing_name = decision.thing_name;
    request.merge = true;
    request.attributes = std::map<std::string, std::string>{
        {std::string(attribute::kClaimedBy), std::string(claimer_uuid)},
        {std::string(attribute::kClaimedEndpoint), decision.endpoint.ToString()},
        {std::string(attribute::kClaimedAt), std::to_string(sim::ToEpochMillis(now))},
    };
    return request;
}

account::UpdateThingRequest PresenceRecord(std::string_view thing_name, bool connected,
                                           sim::TimePoint now) {
    account::UpdateThingRequest request;
    request.thing_name = std::string(thing_name);
    request.merge = true;
    request.attributes = std::map<std::string, std::string>{
        {std::string(attribute::kConnected), connected ? "true" : "false"},
        {std::string(connected ? attribute::kConnectedAt : attribute::kDisconnectedAt),
         std::to_string(sim::ToEpochMillis(now))},
    };
    return request;
}

}  // namespace sim::staging
