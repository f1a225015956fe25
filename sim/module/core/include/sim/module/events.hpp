// SPDX-License-Identifier: Apache-2.0
#pragma once
// The ExpressLink event queue (PG-EVT Table 4). Pure.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace sim::module {

/// Event identifiers of PG-EVT Table 4 that the emulator raises.
enum class EventId {
    kMsg = 1,       ///< Message received; parameter = topic index (0 = not in the topic list).
    kStartup = 2,   ///< Module entered the active state.
    kConlost = 3,   ///< Any connected → disconnected transition.
    kOverrun = 4,   ///< Receive queue overrun; detail = topic.
    kOta = 5,       ///< OTA event (never raised: OTA is not emulated).
    kConnect = 6,   ///< Result of CONNECT!; parameter = hint (0 = success).
    kConfmode = 7,  ///< CONFMODE finished.
    kSuback = 8,    ///< Subscription accepted; parameter = topic index.
    kSubnack = 9,   ///< Subscription rejected; parameter = topic index.
};

/// The mnemonic printed by EVENT? ("MSG", "STARTUP", ...).
const char* Mnemonic(EventId id) noexcept;

struct ModuleEvent {
    EventId id = EventId::kStartup;
    std::uint64_t parameter = 0;
    std::string detail;  ///< Optional; printed after the mnemonic.
};

/// `OK {id} {parameter} {mnemonic}[ {detail}]` (PG-EVT 7.1).
std::string FormatEvent(const ModuleEvent& event);

/// A FIFO of at most `capacity` events; when full, the oldest is dropped (circular buffer,
/// since v1.1.2). The EVENT pin is high while it is non-empty.
class EventQueue {
public:
    explicit EventQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
    void Push(ModuleEvent event);
    std::optional<ModuleEvent> Pop();
    void Clear() { events_.clear(); }
    bool Empty() const { return events_.empty(); }
    std::size_t Size() const { return events_.size(); }
    std::size_t Capacity() const { return capacity_; }
    /// How many events were dropped because the queue was full.
    std::uint64_t Dropped() const { return dropped_; }

private:
    std::size_t capacity_;
    std::deque<ModuleEvent> events_;
    std::uint64_t dropped_ = 0;
};

}  // namespace sim::module
