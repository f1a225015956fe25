// SPDX-License-Identifier: Apache-2.0
#pragma once
// Comparing timelines of two runs with one seed (pure): what differs by nature between runs
// (key material and the ids derived from it, leased addresses, timestamps, measured
// durations) is replaced by placeholders; what remains is the story.

#include <string>
#include <string_view>

namespace sim::scenario {

/// `text` with hex runs of 8+ characters -> "<hex>", PEM bodies -> "<pem>", IPv4 addresses
/// -> "<address>", numbers with a fraction or 6+ digits -> "<number>", "N ms" -> "<ms>".
std::string NormaliseForComparison(std::string_view text);

}  // namespace sim::scenario
