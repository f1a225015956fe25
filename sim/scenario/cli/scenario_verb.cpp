// SPDX-License-Identifier: Apache-2.0
// `elsim scenario from-transcript`: a real module's serial log becomes a scenario that replays
// it against a local world (sim/scenario/core/include/sim/scenario/transcript.hpp).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/scenario/parse.hpp"
#include "sim/scenario/transcript.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;
namespace sc = sim::scenario;

struct TranscriptArgs {
    std::string transcript;
    std::string out;
    std::string world = "scenarios/worlds/oem-guide.yaml";
    bool force = false;
};

int FromTranscript(const TranscriptArgs& args) {
    auto text = sim::ReadFile(args.transcript);
    if (!text) {
        (void)std::fprintf(stderr, "elsim scenario from-transcript: %s\n",
                           text.error().message.c_str());
        return kExitBadInput;
    }
    std::error_code ec;
    if (!fs::is_regular_file(args.world, ec)) {
        (void)std::fprintf(stderr,
                           "elsim scenario from-transcript: --world: %s not found; give the world "
                           "file the scenario should use (with acme, staging and oem-a)\n",
                           args.world.c_str());
        return kExitBadInput;
    }
    if (!args.out.empty() && fs::exists(args.out, ec) && !args.force) {
        (void)std::fprintf(stderr,
                           "elsim scenario from-transcript: -o: %s exists (add --force to "
                           "replace it)\n",
                           args.out.c_str());
        return kExitBadInput;
    }
    // The scenario names its world relative to the folder it is written to.
    const fs::path folder =
        args.out.empty() ? fs::current_path() : fs::absolute(args.out).parent_path();
    sc::TranscriptOptions options;
    options.source = fs::path(args.transcript).filename().string();
    options.world = fs::relative(fs::absolute(args.world), folder, ec).generic_string();
    auto scenario = sc::ScenarioFromTranscript(*text, options);
    if (!scenario) {
        (void)std::fprintf(stderr, "elsim scenario from-transcript: %s\n",
                           scenario.error().message.c_str());
        return kExitBadInput;
    }
    // What is written must check: a scenario that does not is this verb's bug, said plainly.
    const fs::path as_file = folder / (args.out.empty() ? "transcript.yaml"
                                                        : fs::path(args.out).filename());
    auto checked = sc::ParseScenario(*scenario, as_file, "transcript",
                                     [](const fs::path& path) { return sim::ReadFile(path); });
    if (!checked) {
        for (const auto& line : checked.error()) {
            (void)std::fprintf(stderr, "%s\n", line.c_str());
        }
        (void)std::fprintf(stderr,
                           "elsim scenario from-transcript: the scenario made from %s does not "
                           "check (above); nothing written\n",
                           args.transcript.c_str());
        return kExitFailed;
    }
    if (args.out.empty()) {
        (void)std::fputs(scenario->c_str(), stdout);
        return kExitOk;
    }
    if (auto written = sim::WriteFileAtomically(args.out, *scenario); !written) {
        (void)std::fprintf(stderr, "elsim scenario from-transcript: %s\n",
                           written.error().message.c_str());
        return kExitFailed;
    }
    (void)std::printf("%s: %zu step(s); run it with `elsim run %s`\n", args.out.c_str(),
                      checked->steps.size(), args.out.c_str());
    return kExitOk;
}

}  // namespace

void AddScenarioVerb(CLI::App& app, VerbContext& context) {
    auto* scenario = app.add_subcommand("scenario", "Make scenario files");
    scenario->require_subcommand(1);
    auto args = std::make_shared<TranscriptArgs>();
    auto* from = scenario->add_subcommand(
        "from-transcript",
        "Turn a module's serial log (sent AT lines and answers; `> `/`< `, TX:/RX:, bare lines, "
        "timestamps) into a scenario that replays it; unknown lines become comments");
    from->add_option("transcript", args->transcript, "The serial log")->required();
    from->add_option("-o,--out", args->out, "Write the scenario here (default: print it)");
    from->add_option("--world", args->world,
                     "The world file the scenario uses (default: scenarios/worlds/oem-guide.yaml)");
    from->add_flag("--force", args->force, "Replace an existing -o file");
    from->callback([args, &context] { context.exit_code = FromTranscript(*args); });
}

}  // namespace elsim
