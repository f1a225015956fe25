// SPDX-License-Identifier: Apache-2.0
#pragma once
// A field transcript turned into a scenario (pure): a real module's serial log (lines sent to
// the module and its answers) becomes a scenario whose steps send the same commands and expect
// the same answers, in a world guessed from what the transcript shows.
//
// Lines understood (after an optional timestamp such as `00:00:02.392`, `12:00:00.123`,
// `[2026-01-05 12:00:00,123]` or `2026-01-05T12:00:00Z`, and an optional logging prefix such as
// `DEBUG:root:`): `> AT...` / `< OK...` (also `->`/`<-`, `>>`/`<<`, `TX:`/`RX:`, `send:`/`recv:`),
// or bare lines: `AT...` is sent, `OK...`/`ERR...` answers the last line sent. `#` lines and
// anything else are kept in the scenario as comments, never dropped.
//
// Steps: each command with its first answer (exact, or a regular expression where the answer
// holds values a new world makes anew: ThingNames, endpoints, addresses, times); a command
// answered `ERR14 1 ...` (back-off) and sent again folds into one step that retries while the
// answer says back-off; `AT+EVENT?` answered with an event becomes an event step, empty polls
// are counted in a comment; a long hex run in a command (the module's ThingName) becomes
// `${m1.thingName}`. A MSG event while the module is in staging means a claim reached it, so a
// claim step (by a claim-thing of oem-a) is put before it.

#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace sim::scenario {

struct TranscriptOptions {
    std::string source;  ///< The transcript's name, for the description and comments.
    /// The `world:` of the scenario: a world file relative to where the scenario will be
    /// written, with a staging account, a manufacturer `acme` and an OEM account `oem-a`.
    std::string world = "../worlds/oem-guide.yaml";
};

/// The scenario's YAML text. Errors: kInvalidArgument when the transcript holds no command
/// sent to a module ("<source>: no AT command found ...").
sim::Result<std::string> ScenarioFromTranscript(std::string_view transcript,
                                                const TranscriptOptions& options);

}  // namespace sim::scenario
