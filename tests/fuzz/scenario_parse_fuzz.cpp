// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the scenario file parser (`elsim run`). Input: a scenario file; any
// .yaml file it refers to reads as a small valid world, any other file as missing. Properties: no
// crash or sanitizer report; every diagnostic is one line that names the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "sim/scenario/parse.hpp"

namespace {

constexpr std::string_view kWorld = R"(region: us-east-1
manufacturers:
  - name: acme
accounts:
  - name: staging
    kind: staging
  - name: oem-a
    kind: oem
  - name: oem-b
    kind: oem
)";

sim::Result<std::string> ReadFile(const std::filesystem::path& path) {
    if (path.extension() == ".yaml") {
        return std::string(kWorld);
    }
    return sim::MakeError(sim::ErrorCode::kNotFound, path.string() + ": no such file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view yaml(reinterpret_cast<const char*>(data), size);
    const auto scenario =
        sim::scenario::ParseScenario(yaml, "fuzz/scenario.yaml", "fuzz", &ReadFile);
    if (!scenario) {
        if (scenario.error().empty()) {
            std::abort();
        }
        for (const auto& line : scenario.error()) {
            // Names the scenario or the world file it refers to.
            if (line.find('\n') != std::string::npos || line.find(".yaml") == std::string::npos) {
                std::abort();
            }
        }
    }
    return 0;
}
