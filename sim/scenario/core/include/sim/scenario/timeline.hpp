// SPDX-License-Identifier: Apache-2.0
#pragma once
// One timeline per scenario (pure model): every participant appends typed entries; the terminal
// line, the text timeline and JUnit are renderings of it, so they never disagree.
// Thread-safe: actors append from their own threads.

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace sim::scenario {

/// What an entry records. The text form (ToString) is the kind column of the text timeline.
enum class EntryKind {
    kStepStart,   ///< participant "runner": the step's name
    kStepPass,
    kStepFail,    ///< text: the reason (expected vs observed)
    kAtSend,      ///< participant: the module; text: the AT line sent by the host
    kAtAnswer,    ///< a response line from the module
    kEvent,       ///< a module event line read with AT+EVENT?
    kMqtt,        ///< connects, subscribes, publishes, messages, drops of a client or claim
    kRefusal,     ///< an account refused something; text: the account's reason
    kClaim,       ///< the claim script's result line
    kCall,        ///< a control-plane request (operation and arguments)
    kReply,       ///< its reply or AWS error
    kRegistry,    ///< a registry change seen by the runner (certificate status, thing created)
    kBrokerLog,   ///< a line of an account's broker log (the plugin's reasons)
    kNote,        ///< anything else the runner says (world up, seed, set-up)
    kStepSkip,    ///< participant "runner": "<step>: <why it cannot run here>"
};
const char* ToString(EntryKind kind) noexcept;

struct TimelineEntry {
    std::chrono::milliseconds offset{0};  ///< Since the scenario started.
    std::string participant;              ///< "runner", "m1", "oem-a", "portal-a", ...
    EntryKind kind = EntryKind::kNote;
    std::string text;  ///< One line.
};

class Timeline {
public:
    void Add(TimelineEntry entry);
    /// A copy, ordered by offset (stable for equal offsets).
    std::vector<TimelineEntry> Entries() const;

private:
    mutable std::mutex mutex_;
    std::vector<TimelineEntry> entries_;
};

}  // namespace sim::scenario
