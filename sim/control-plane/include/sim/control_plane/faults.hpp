// SPDX-License-Identifier: Apache-2.0
#pragma once
// Server-side faults of one emulated account (elsim only: no AWS API has them). A fault is a
// Rule: what goes wrong (Kind), to whom (client id, the next N connections, a time window) and
// how (delay, trigger, error). The runner sends rules as JSON to the account's control plane
// (POST /_elsim/faults); the broker plugin and the control plane ask the FaultTable, at each
// point where a fault can apply, whether one does. sim/broker/README.md "Faults" says where
// each kind is applied.
//
// Pure: no I/O, no clock (every query takes `now`), no randomness. FaultTable is not
// thread-safe; FaultBoard wraps it with a lock for the account's threads.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/result.hpp"

namespace sim::faults {

using Millis = std::chrono::milliseconds;

enum class Kind {
    kDrop,             ///< Close a client's connection (now, at its connect, at its next publish).
    kRefuseTls,        ///< Fail the next TLS handshakes (the socket is shut before accepting).
    kWithholdConnack,  ///< Accept TLS and CONNECT but never send the CONNACK.
    kDelayConnack,     ///< Send the CONNACK `delay` late.
    kDelayPuback,      ///< Send PUBACKs `delay` late.
    kDelayPublish,     ///< Deliver PUBLISHes to the client `delay` late.
    kBlackhole,        ///< Discard everything both ways on matching connections for `window`.
    kRestart,          ///< The broker exits cleanly (SIGTERM) when triggered; state kept.
    kKill,             ///< The broker is killed (SIGKILL) when triggered.
    kApiError,         ///< Control-plane operations answer an AWS error.
};

/// When a drop, restart or kill fires.
enum class Trigger {
    kNow,               ///< As soon as the account sees the rule.
    kConnect,           ///< At a matching client's CONNECT (before CONNACK).
    kPublish,           ///< At a matching client's PUBLISH (before it is processed).
    kAutoRegistration,  ///< At a first connect that JITP/JITR registers (after the registry work).
};

struct Rule {
    Kind kind = Kind::kDrop;
    std::string client_id;  ///< Empty: any client.
    /// How many matching connections (or requests, for kApiError) it applies to; 0: no limit
    /// (then `window` bounds it).
    int count = 1;
    Millis window{0};  ///< > 0: in force this long after it is added, then gone.
    Trigger on = Trigger::kNow;
    Millis delay{0};              ///< kDelay*.
    std::string operation;        ///< kApiError: an AWS IoT operation name; empty: any.
    std::string error;            ///< kApiError: the AWS error type.
};

/// The kind's name in scenarios and on the wire ("drop", "refuse-tls", ...).
const char* ToString(Kind kind);
const char* ToString(Trigger trigger);
std::optional<Kind> KindFromString(std::string_view text);
/// Every kind's name, in declaration order (scenario documentation, sim-only step lists).
std::vector<std::string> KindNames();

/// The AWS errors an api-error fault can answer, with the HTTP status the AWS IoT API
/// Reference gives each ("Errors" of every operation, e.g. CreateThing).
struct ApiErrorType {
    std::string_view type;
    int status;
};
std::optional<ApiErrorType> FindApiError(std::string_view type);

/// From the wire form: {"kind", "client", "count", "windowMs", "on", "delayMs", "operation",
/// "error"}. Checks every combination; errors are one line naming the member
/// ("on: a refuse-tls fault happens before CONNECT ..."). Defaults: count 1 unless windowMs
/// is given (then 0), on "now".
sim::Result<Rule> RuleFromJson(const nlohmann::json& json);
nlohmann::json ToJson(const Rule& rule);
/// One line for logs and the timeline: "delay-puback by 2000ms client=m1 count=1".
std::string Describe(const Rule& rule);

/// What applies to one new connection the account accepted, decided at its CONNECT.
struct ConnectionFaults {
    bool withhold_connack = false;
    Millis connack_delay{0};
    Millis puback_delay{0};
    Millis publish_delay{0};
    Millis blackhole{0};  ///< > 0: discard both ways for this long.
};

/// A rule that applies to connections already open when it was added.
struct StandingFault {
    std::string id;
    Rule rule;
};

class FaultTable {
public:
    /// Adds a rule at `now`; returns its id ("fault-1", "fault-2", ...).
    std::string Add(Rule rule, Millis now);
    /// Removes every rule.
    void Clear();
    /// Rules in force at `now`, with their ids, how often each was used and whether the
    /// account has taken it up (`applied`: TakeNew has seen it, so open connections have it).
    nlohmann::json List(Millis now) const;

    /// Rules added since the last call that act at once: drops and restarts/kills with
    /// trigger now, refuse-tls windows and counts, and delays/blackholes on open connections.
    /// Each is returned once.
    std::vector<StandingFault> TakeNew(Millis now);

    /// A TLS handshake is starting: true when a refuse-tls rule takes it (uses one count).
    bool TakeTlsRefusal(Millis now);
    /// A CONNECT by `client_id`, before the account sees it: true when a drop-on-connect rule
    /// takes it.
    bool TakeDropOnConnect(std::string_view client_id, Millis now);
    /// A CONNECT by `client_id` the account accepted, before its CONNACK: what applies to the
    /// connection (a refused or auto-registration connect uses none of them).
    ConnectionFaults OnConnect(std::string_view client_id, Millis now);
    /// A restart or kill triggered by this CONNECT (kConnect, or kAutoRegistration when
    /// `auto_registered`), or nullopt.
    std::optional<Kind> TakeCrash(std::string_view client_id, bool auto_registered, Millis now);
    /// A PUBLISH by `client_id`: true when a drop-on-publish rule takes it.
    bool TakeDropOnPublish(std::string_view client_id, Millis now);
    /// A control-plane request for `operation`: the AWS error to answer, or nullopt. Each
    /// rule answers its first `count` matching requests, then lets them through, so a retry
    /// after the error is served normally.
    std::optional<ApiErrorType> TakeApiError(std::string_view operation, Millis now);

    /// Describe() of every rule that fired since the last call, prefixed by its id.
    std::vector<std::string> TakeFired();

private:
    struct Entry {
        std::string id;
        Rule rule;
        Millis added{0};
        int used = 0;
        bool announced = false;
    };
    bool InForce(const Entry& entry, Millis now) const;
    bool TakeDrop(Trigger trigger, std::string_view client_id, Millis now);
    static bool Matches(const Rule& rule, std::string_view client_id);
    void Use(Entry& entry);
    void Prune(Millis now);

    std::vector<Entry> entries_;
    std::vector<std::string> fired_;
    std::uint64_t next_id_ = 1;
};

/// FaultTable behind a mutex: shared by the control plane's threads and the broker thread.
class FaultBoard {
public:
    template <class F>
    auto With(F&& work) {
        std::lock_guard lock(mutex_);
        return work(table_);
    }

private:
    std::mutex mutex_;
    FaultTable table_;
};

}  // namespace sim::faults
