// SPDX-License-Identifier: Apache-2.0
// `elsim world clock [advance DURATION] --dir DIR`: show or move the clock of a running world
// (DIR/clock, sim/core/world_clock.hpp). Every process of the world sees the change at once.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "verbs.hpp"
#include <CLI/CLI.hpp>

#include "sim/core/clock_state.hpp"
#include "sim/core/world_clock.hpp"

namespace elsim {
namespace {

struct ClockArgs {
    std::string directory;
    std::string duration;
};

void PrintReading(const sim::WorldClock& clock) {
    (void)std::printf("world time %s\n",
                      sim::DescribeClock(clock.Read(), std::chrono::system_clock::now()).c_str());
}

// The clock of the world in `directory`; prints the error and sets the exit code otherwise.
std::shared_ptr<sim::WorldClock> OpenClock(const std::string& directory, const char* verb,
                                           VerbContext& context) {
    auto clock = sim::WorldClock::OpenInWorld(directory);
    if (clock && *clock == nullptr) {
        (void)std::fprintf(stderr, "elsim world %s: no world clock in %s (start a world there)\n",
                           verb, directory.c_str());
        context.exit_code = kExitBadInput;
        return nullptr;
    }
    if (!clock) {
        (void)std::fprintf(stderr, "elsim world %s: %s\n", verb, clock.error().message.c_str());
        context.exit_code = kExitBadInput;
        return nullptr;
    }
    return *clock;
}

}  // namespace

void AddWorldClockVerb(CLI::App& world, VerbContext& context) {
    auto args = std::make_shared<ClockArgs>();
    auto* clock = world.add_subcommand(
        "clock",
        "Show the world's clock (wall, virtual or frozen time; how far ahead of the wall clock), "
        "or move it with `advance DURATION`");
    clock->add_option("--dir", args->directory, "The world directory")->required();
    clock->require_subcommand(0, 1);
    auto* advance = clock->add_subcommand(
        "advance",
        "Move world time forward by DURATION for every process of the world (brokers, control "
        "planes, modules): certificates, claims and tokens expire, back-off ends, timers fire. "
        "A wall clock becomes virtual");
    advance->add_option("DURATION", args->duration, "e.g. 90s, 5m, 1h30m, 24h, 2d")->required();
    advance->fallthrough();  // `--dir` may follow the subcommand
    clock->callback([args, &context, advance] {
        if (advance->parsed()) {
            return;
        }
        if (auto opened = OpenClock(args->directory, "clock", context)) {
            PrintReading(*opened);
            context.exit_code = kExitOk;
        }
    });
    advance->callback([args, &context] {
        const auto by = sim::ParseClockDuration(args->duration);
        if (!by) {
            (void)std::fprintf(stderr, "elsim world clock advance: %s\n",
                               by.error().message.c_str());
            context.exit_code = kExitBadInput;
            return;
        }
        auto opened = OpenClock(args->directory, "clock advance", context);
        if (!opened) {
            return;
        }
        if (auto moved = opened->Advance(*by); !moved) {
            (void)std::fprintf(stderr, "elsim world clock advance: %s\n",
                               moved.error().message.c_str());
            context.exit_code = moved.error().code == sim::ErrorCode::kIo ? kExitEnvironment
                                                                         : kExitBadInput;
            return;
        }
        PrintReading(*opened);
        context.exit_code = kExitOk;
    });
}

}  // namespace elsim
