// SPDX-License-Identifier: Apache-2.0
#pragma once
// The pure parts of linked modules (`elsim run --modules`): module actors played by a module
// at the other end of a line-oriented link (a real module on a serial port, or an `elsim module`
// process on a pty or a TCP port) instead of a software module in the runner's process.
//
//   LinkSpec / ParseModuleLinks   "m1=serial:/dev/ttyUSB0,m2=pty:/dev/pts/7,m3=tcp:127.0.0.1:7001"
//   LineAssembler                 bytes as they arrive (any split) -> response lines
//   Resync                        drain, `AT` until `OK`, then a quiet period
//
// No I/O, no clock: the adapter (sim/scenario/src/linked_module.cpp) feeds bytes and times in.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/scenario/model.hpp"

namespace sim::scenario {

/// One `NAME=KIND:WHERE` of `--modules`.
struct LinkSpec {
    enum class Kind { kSerial, kPty, kTcp };
    std::string actor;  ///< A module actor of the scenario(s).
    Kind kind = Kind::kSerial;
    std::string path;   ///< kSerial, kPty: the device file.
    std::string host;   ///< kTcp: a loopback IPv4 address.
    std::uint16_t port = 0;
};
const char* ToString(LinkSpec::Kind kind) noexcept;
/// "m1=serial:/dev/ttyUSB0": the form ParseModuleLinks reads.
std::string ToString(const LinkSpec& link);

/// Parses `--modules`: comma-separated NAME=serial:PATH | NAME=pty:PATH | NAME=tcp:HOST:PORT
/// (HOST a loopback IPv4 address, PORT 1-65535). Errors are one line naming the bad item: an
/// empty item, no '=', a bad actor name, an unknown kind, a missing path, a bad host or port,
/// the same actor twice, the same device for two actors.
sim::Result<std::vector<LinkSpec>, std::string> ParseModuleLinks(std::string_view text);

/// Checks links against the scenarios to run: every linked actor must be a module actor of at
/// least one of them. Returns a one-line error naming the first actor that is not.
std::optional<std::string> CheckLinkedActors(const std::vector<LinkSpec>& links,
                                             const std::vector<Scenario>& scenarios);

/// The longest line kept; longer lines are cut there (the module's own limit for a command is
/// 9 KB, PG-CMD 4.4; a GET answer holds one message).
inline constexpr std::size_t kMaxLinkLine = 64 * 1024;

/// Assembles response lines from bytes read in any chunks. A line ends at CR LF (what the spec
/// says modules send, PG-CMD 4.6.1), at a lone LF or at a lone CR (what some firmware and
/// terminal bridges send); a CR LF split across two reads counts once. Empty lines are dropped.
class LineAssembler {
public:
    std::vector<std::string> Feed(std::string_view bytes);
    /// Forgets a partial line (after a resynchronisation).
    void Reset();
    /// Bytes of the line not yet ended.
    const std::string& Partial() const { return partial_; }

private:
    std::string partial_;
    bool after_cr_ = false;
};

/// Resynchronising a link whose module may be mid-boot or mid-command when the run starts:
/// drain what it is saying, send `AT` until it answers `OK`, then wait for a quiet period so
/// that the `OK`s of earlier unanswered `AT`s (a module busy with a blocking command queues
/// them) are not taken for later answers.
class Resync {
public:
    struct Options {
        std::chrono::milliseconds drain{300};     ///< Listen before the first AT.
        std::chrono::milliseconds answer{1000};   ///< Per AT: how long to wait for OK.
        std::chrono::milliseconds quiet{300};     ///< Silence after the OK.
        /// In all: a module in a blocking command answers within the spec's maximum run time
        /// (120 s, PG-CMD 4.6.2), so resynchronising gives up after that plus a margin.
        std::chrono::milliseconds limit{125'000};
    };
    enum class Action { kSendAt, kWait, kDone, kFail };
    struct Step {
        Action action = Action::kWait;
        std::chrono::milliseconds wait{0};  ///< kWait, kSendAt: read for this long next.
        std::string reason;                 ///< kFail.
    };

    Resync();
    explicit Resync(Options options);
    /// The first action; `now` is the time since any fixed origin.
    Step Start(std::chrono::milliseconds now);
    /// A line arrived.
    Step OnLine(const std::string& line, std::chrono::milliseconds now);
    /// The last wait ended without a line.
    Step OnTimeout(std::chrono::milliseconds now);
    /// Lines that were neither the OK nor part of the quiet period: what the module was saying.
    const std::vector<std::string>& Drained() const { return drained_; }
    int AtsSent() const { return ats_sent_; }

private:
    enum class Phase { kDrain, kAwaitOk, kQuiet, kDone, kFailed };
    Step SendAt(std::chrono::milliseconds now);
    Step Fail(std::chrono::milliseconds now);

    Options options_;
    Phase phase_ = Phase::kDrain;
    std::chrono::milliseconds started_{0};
    int ats_sent_ = 0;
    std::vector<std::string> drained_;
};

}  // namespace sim::scenario
