// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the world file parser (`elsim world up --file`, scenarios' `world:`).
// Input: a world file. Properties: no crash or sanitizer report; a refusal is one line naming
// the source; an accepted world plans (endpoint names) without failing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sim/core/ports.hpp"
#include "sim/world/world_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view yaml(reinterpret_cast<const char*>(data), size);
    const auto spec = sim::world::ParseWorldSpec(yaml, "fuzz.yaml");
    if (!spec) {
        const std::string& message = spec.error().message;
        if (message.rfind("fuzz.yaml", 0) != 0 || message.find('\n') != std::string::npos) {
            std::abort();
        }
        return 0;
    }
    sim::SeededRandom random(7);
    const auto plan = sim::world::PlanWorld(*spec, random);
    if (plan.accounts.size() != spec->accounts.size()) {
        std::abort();
    }
    return 0;
}
