// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/faults.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace sim::faults {
namespace {

using nlohmann::json;

struct KindName {
    Kind kind;
    const char* name;
};
constexpr std::array<KindName, 10> kKinds = {{
    {Kind::kDrop, "drop"},
    {Kind::kRefuseTls, "refuse-tls"},
    {Kind::kWithholdConnack, "withhold-connack"},
    {Kind::kDelayConnack, "delay-connack"},
    {Kind::kDelayPuback, "delay-puback"},
    {Kind::kDelayPublish, "delay-publish"},
    {Kind::kBlackhole, "blackhole"},
    {Kind::kRestart, "restart"},
    {Kind::kKill, "kill"},
    {Kind::kApiError, "api-error"},
}};

// AWS IoT API Reference, "Errors" of the control-plane operations (e.g. CreateThing,
// ListThings): ThrottlingException "The rate exceeds the limit." HTTP 400;
// InternalFailureException "An unexpected error has occurred." HTTP 500;
// ServiceUnavailableException "The service is temporarily unavailable." HTTP 503.
constexpr std::array<ApiErrorType, 3> kApiErrors = {{
    {"ThrottlingException", 400},
    {"InternalFailureException", 500},
    {"ServiceUnavailableException", 503},
}};

sim::Unexpected<sim::Error> Invalid(const std::string& message) {
    return sim::MakeError(sim::ErrorCode::kInvalidArgument, message);
}

bool IsDelay(Kind kind) {
    return kind == Kind::kDelayConnack || kind == Kind::kDelayPuback ||
           kind == Kind::kDelayPublish;
}

bool IsCrash(Kind kind) { return kind == Kind::kRestart || kind == Kind::kKill; }

// Faults that act on connections already open when they are added.
bool ActsOnOpenConnections(Kind kind) {
    return kind == Kind::kDelayPuback || kind == Kind::kDelayPublish || kind == Kind::kBlackhole;
}

}  // namespace

const char* ToString(Kind kind) {
    for (const auto& entry : kKinds) {
        if (entry.kind == kind) {
            return entry.name;
        }
    }
    return "?";
}

const char* ToString(Trigger trigger) {
    switch (trigger) {
        case Trigger::kNow:
            return "now";
        case Trigger::kConnect:
            return "connect";
        case Trigger::kPublish:
            return "publish";
        case Trigger::kAutoRegistration:
            return "auto-registration";
    }
    return "?";
}

std::optional<Kind> KindFromString(std::string_view text) {
    for (const auto& entry : kKinds) {
        if (text == entry.name) {
            return entry.kind;
        }
    }
    return std::nullopt;
}

std::vector<std::string> KindNames() {
    std::vector<std::string> names;
    for (const auto& entry : kKinds) {
        names.emplace_back(entry.name);
    }
    return names;
}

std::optional<ApiErrorType> FindApiError(std::string_view type) {
    for (const auto& error : kApiErrors) {
        if (error.type == type) {
            return error;
        }
    }
    return std::nullopt;
}

sim::Result<Rule> RuleFromJson(const json& in) {
    if (!in.is_object()) {
        return Invalid("a fault is a JSON object");
    }
    static const std::set<std::string> kMembers = {"kind",    "client",    "count",
                                                   "windowMs", "on",       "delayMs",
                                                   "operation", "error"};
    for (const auto& [key, value] : in.items()) {
        if (kMembers.count(key) == 0) {
            return Invalid(key + ": unknown member");
        }
    }
    auto text = [&](const char* key) -> std::optional<std::string> {
        if (!in.contains(key)) {
            return std::nullopt;
        }
        if (!in[key].is_string()) {
            return std::string("\x01");  // marks "not a string"
        }
        return in[key].get<std::string>();
    };
    Rule rule;
    const auto kind = text("kind");
    if (!kind) {
        return Invalid("kind: missing (one of drop, refuse-tls, withhold-connack, delay-connack, "
                       "delay-puback, delay-publish, blackhole, restart, kill, api-error)");
    }
    const auto parsed_kind = KindFromString(*kind);
    if (!parsed_kind) {
        return Invalid("kind: '" + *kind + "' is not a fault kind");
    }
    rule.kind = *parsed_kind;
    const std::string name = ToString(rule.kind);

    if (const auto client = text("client")) {
        if (*client == "\x01" || client->empty()) {
            return Invalid("client: must be a non-empty string");
        }
        if (rule.kind == Kind::kRefuseTls) {
            return Invalid("client: a refuse-tls fault acts before the client id is known; scope "
                           "it with count or window");
        }
        if (rule.kind == Kind::kApiError) {
            return Invalid("client: an api-error fault is scoped by operation, not client");
        }
        rule.client_id = *client;
    }
    auto millis = [&](const char* key, Millis& out) -> sim::Status {
        if (!in.contains(key)) {
            return {};
        }
        if (!in[key].is_number_integer() || in[key].get<std::int64_t>() <= 0) {
            return Invalid(std::string(key) + ": must be a positive number of milliseconds");
        }
        out = Millis{in[key].get<std::int64_t>()};
        return {};
    };
    if (auto s = millis("windowMs", rule.window); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    if (auto s = millis("delayMs", rule.delay); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    rule.count = rule.window.count() > 0 ? 0 : 1;
    if (in.contains("count")) {
        if (!in["count"].is_number_integer() || in["count"].get<std::int64_t>() < 0 ||
            in["count"].get<std::int64_t>() > 1'000'000) {
            return Invalid("count: must be a whole number from 0 to 1000000");
        }
        if (IsCrash(rule.kind)) {
            return Invalid("count: a " + name + " fault fires once");
        }
        rule.count = static_cast<int>(in["count"].get<std::int64_t>());
    }
    if (rule.count == 0 && rule.window.count() == 0) {
        return Invalid("count: 0 (no limit) needs a window");
    }

    if (IsDelay(rule.kind) && rule.delay.count() == 0) {
        return Invalid("delayMs: a " + name + " fault needs the delay");
    }
    if (!IsDelay(rule.kind) && rule.delay.count() > 0) {
        return Invalid("delayMs: only delay-connack, delay-puback and delay-publish take a delay");
    }
    if (rule.kind == Kind::kBlackhole && rule.window.count() == 0) {
        return Invalid("windowMs: a blackhole fault needs its window");
    }
    if (IsCrash(rule.kind) && rule.window.count() > 0) {
        return Invalid("windowMs: a " + name + " fault fires once; it has no window");
    }

    if (const auto on = text("on")) {
        std::optional<Trigger> trigger;
        for (const auto t : {Trigger::kNow, Trigger::kConnect, Trigger::kPublish,
                             Trigger::kAutoRegistration}) {
            if (*on == ToString(t)) {
                trigger = t;
            }
        }
        if (!trigger) {
            return Invalid("on: '" + *on + "' is not now, connect, publish or auto-registration");
        }
        if (rule.kind == Kind::kDrop && *trigger == Trigger::kAutoRegistration) {
            return Invalid("on: an auto-registration first connect is dropped anyway");
        }
        if (IsCrash(rule.kind) && *trigger == Trigger::kPublish) {
            return Invalid("on: a " + name + " fault fires now, at connect or at auto-registration");
        }
        if (rule.kind != Kind::kDrop && !IsCrash(rule.kind)) {
            return Invalid("on: only drop, restart and kill faults take a trigger");
        }
        rule.on = *trigger;
    }
    if (rule.kind == Kind::kDrop && rule.on == Trigger::kNow && rule.window.count() > 0) {
        return Invalid("windowMs: a drop now closes the connections open now; it has no window");
    }
    if (IsCrash(rule.kind) && rule.on == Trigger::kNow && !rule.client_id.empty()) {
        return Invalid("client: a " + name + " now takes the whole broker down; give no client");
    }

    const auto operation = text("operation");
    const auto error = text("error");
    if (rule.kind == Kind::kApiError) {
        if (!error || *error == "\x01") {
            return Invalid("error: an api-error fault needs the AWS error (ThrottlingException, "
                           "InternalFailureException or ServiceUnavailableException)");
        }
        if (!FindApiError(*error)) {
            return Invalid("error: '" + *error +
                           "' is not ThrottlingException, InternalFailureException or "
                           "ServiceUnavailableException");
        }
        rule.error = *error;
        if (operation) {
            if (*operation == "\x01" || operation->empty()) {
                return Invalid("operation: must be an AWS IoT operation name");
            }
            rule.operation = *operation;
        }
    } else if (operation || error) {
        return Invalid(std::string(operation ? "operation" : "error") +
                       ": only an api-error fault takes it");
    }
    return rule;
}

json ToJson(const Rule& rule) {
    json out = {{"kind", ToString(rule.kind)}};
    if (!IsCrash(rule.kind)) {
        out["count"] = rule.count;
    }
    if (!rule.client_id.empty()) {
        out["client"] = rule.client_id;
    }
    if (rule.window.count() > 0) {
        out["windowMs"] = rule.window.count();
    }
    if (rule.kind == Kind::kDrop || IsCrash(rule.kind)) {
        out["on"] = ToString(rule.on);
    }
    if (rule.delay.count() > 0) {
        out["delayMs"] = rule.delay.count();
    }
    if (!rule.operation.empty()) {
        out["operation"] = rule.operation;
    }
    if (!rule.error.empty()) {
        out["error"] = rule.error;
    }
    return out;
}

std::string Describe(const Rule& rule) {
    std::string line = ToString(rule.kind);
    if (rule.kind == Kind::kApiError) {
        line += " " + rule.error + " op=" + (rule.operation.empty() ? "any" : rule.operation);
    }
    if (rule.delay.count() > 0) {
        line += " by=" + std::to_string(rule.delay.count()) + "ms";
    }
    if (rule.kind == Kind::kDrop || IsCrash(rule.kind)) {
        line += std::string(" on=") + ToString(rule.on);
    }
    if (rule.kind != Kind::kApiError && rule.kind != Kind::kRefuseTls) {
        line += " client=" + (rule.client_id.empty() ? std::string("any") : rule.client_id);
    }
    if (rule.count > 0) {
        line += " count=" + std::to_string(rule.count);
    }
    if (rule.window.count() > 0) {
        line += " window=" + std::to_string(rule.window.count()) + "ms";
    }
    return line;
}

// ---- FaultTable ---------------------------------------------------------------------------------

std::string FaultTable::Add(Rule rule, Millis now) {
    Prune(now);
    Entry entry;
    entry.id = "fault-" + std::to_string(next_id_++);
    entry.rule = std::move(rule);
    entry.added = now;
    entries_.push_back(entry);
    return entry.id;
}

void FaultTable::Clear() { entries_.clear(); }

bool FaultTable::InForce(const Entry& entry, Millis now) const {
    if (entry.rule.count > 0 && entry.used >= entry.rule.count) {
        return false;
    }
    return entry.rule.window.count() == 0 || now < entry.added + entry.rule.window;
}

bool FaultTable::Matches(const Rule& rule, std::string_view client_id) {
    return rule.client_id.empty() || rule.client_id == client_id;
}

void FaultTable::Use(Entry& entry) {
    ++entry.used;
    fired_.push_back(entry.id + " " + Describe(entry.rule));
}

void FaultTable::Prune(Millis now) {
    std::erase_if(entries_, [&](const Entry& entry) { return entry.announced && !InForce(entry, now); });
}

json FaultTable::List(Millis now) const {
    json out = json::array();
    for (const auto& entry : entries_) {
        if (!InForce(entry, now)) {
            continue;
        }
        json item = ToJson(entry.rule);
        item["id"] = entry.id;
        item["used"] = entry.used;
        item["applied"] = entry.announced;
        out.push_back(std::move(item));
    }
    return out;
}

std::vector<StandingFault> FaultTable::TakeNew(Millis now) {
    std::vector<StandingFault> out;
    for (auto& entry : entries_) {
        if (entry.announced) {
            continue;
        }
        entry.announced = true;
        const Rule& rule = entry.rule;
        const bool now_trigger =
            (rule.kind == Kind::kDrop || IsCrash(rule.kind)) && rule.on == Trigger::kNow;
        if (now_trigger) {
            // Fires once, on whatever is open now.
            out.push_back({entry.id, rule});
            entry.rule.count = 1;
            Use(entry);
        } else if (ActsOnOpenConnections(rule.kind) && InForce(entry, now)) {
            out.push_back({entry.id, rule});
        }
    }
    Prune(now);
    return out;
}

bool FaultTable::TakeTlsRefusal(Millis now) {
    for (auto& entry : entries_) {
        if (entry.rule.kind == Kind::kRefuseTls && InForce(entry, now)) {
            Use(entry);
            return true;
        }
    }
    return false;
}

ConnectionFaults FaultTable::OnConnect(std::string_view client_id, Millis now) {
    ConnectionFaults out;
    for (auto& entry : entries_) {
        const Rule& rule = entry.rule;
        if (!InForce(entry, now) || !Matches(rule, client_id)) {
            continue;
        }
        bool applies = true;
        switch (rule.kind) {
            case Kind::kWithholdConnack:
                out.withhold_connack = true;
                break;
            case Kind::kDelayConnack:
                out.connack_delay = std::max(out.connack_delay, rule.delay);
                break;
            case Kind::kDelayPuback:
                out.puback_delay = std::max(out.puback_delay, rule.delay);
                break;
            case Kind::kDelayPublish:
                out.publish_delay = std::max(out.publish_delay, rule.delay);
                break;
            case Kind::kBlackhole:
                out.blackhole = std::max(out.blackhole, entry.added + rule.window - now);
                break;
            default:
                applies = false;
                break;
        }
        if (applies) {
            Use(entry);
        }
    }
    return out;
}

std::optional<Kind> FaultTable::TakeCrash(std::string_view client_id, bool auto_registered,
                                          Millis now) {
    for (auto& entry : entries_) {
        const Rule& rule = entry.rule;
        if (!IsCrash(rule.kind) || !InForce(entry, now) || !Matches(rule, client_id)) {
            continue;
        }
        if (rule.on == Trigger::kConnect ||
            (rule.on == Trigger::kAutoRegistration && auto_registered)) {
            Use(entry);
            return rule.kind;
        }
    }
    return std::nullopt;
}

bool FaultTable::TakeDrop(Trigger trigger, std::string_view client_id, Millis now) {
    for (auto& entry : entries_) {
        const Rule& rule = entry.rule;
        if (rule.kind == Kind::kDrop && rule.on == trigger && InForce(entry, now) &&
            Matches(rule, client_id)) {
            Use(entry);
            return true;
        }
    }
    return false;
}

bool FaultTable::TakeDropOnConnect(std::string_view client_id, Millis now) {
    return TakeDrop(Trigger::kConnect, client_id, now);
}

bool FaultTable::TakeDropOnPublish(std::string_view client_id, Millis now) {
    return TakeDrop(Trigger::kPublish, client_id, now);
}

std::optional<ApiErrorType> FaultTable::TakeApiError(std::string_view operation, Millis now) {
    for (auto& entry : entries_) {
        const Rule& rule = entry.rule;
        if (rule.kind == Kind::kApiError && InForce(entry, now) &&
            (rule.operation.empty() || rule.operation == operation)) {
            Use(entry);
            return FindApiError(rule.error);
        }
    }
    return std::nullopt;
}

std::vector<std::string> FaultTable::TakeFired() { return std::exchange(fired_, {}); }

}  // namespace sim::faults
