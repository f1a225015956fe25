// SPDX-License-Identifier: Apache-2.0
#pragma once
// Comparing timelines of two runs with one seed (pure): what differs by nature between runs
// (key material and the ids derived from it, leased addresses, timestamps, measured
// durations) is replaced by placeholders; what remains is the story.

#include <string>
#include <string_view>

namespace sim::scenario {

/// `text` with PEM blocks -> "<pem>", file paths (two or more /segments) -> "<path>", IPv4
/// addresses (with a port) -> "<address>", UUIDs -> "<uuid>", "N ms" -> "<ms>", numbers with a fraction or 6+
/// digits -> "<number>", hex runs of 8+ characters -> "<hex>".
std::string NormaliseForComparison(std::string_view text);

}  // namespace sim::scenario
