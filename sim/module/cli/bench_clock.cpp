// SPDX-License-Identifier: Apache-2.0
// `elsim bench clock`: world time against wall time. Figures, not a timed test.
//
// A world (staging account, mosquitto + plugin, virtual clock) in a scratch directory, N software
// modules in this process connected to staging over mutual TLS (set-up: not measured). Measured:
// moving the world clock forward by --advance (default 24h) in steps of --step (default 1m), each
// step waiting until the modules' timers due at the new time have run and the replies they
// requested (PINGRESPs) have been read (TimerService::Settle). Unlike a scenario's `advance`
// step, a step does not stop at each module's deadline on its way: with 100 modules connected
// at different times that would be 100 stops per keep-alive interval. Afterwards (not
// measured) every module must still answer AT+CONNECT? as connected, and TIME? must give the
// world's date.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "verbs.hpp"
#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/core/clock_state.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/module/connect_window.hpp"
#include "sim/module/fleet.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/pipeline.hpp"
#include "sim/onboarding/world.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr double kTargetSeconds = 5.0;

struct ClockBenchArgs {
    std::size_t modules = 100;
    std::string advance = "24h";
    std::string step = "1m";
    std::string temp_dir;
};

// "YYYY/MM/DD" of a world time, as TIME? prints it.
std::string ModuleDate(sim::TimePoint t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[16];
    (void)std::strftime(text, sizeof text, "%Y/%m/%d", &utc);
    return text;
}

int Fail(const std::string& what) {
    (void)std::fprintf(stderr, "elsim bench clock: %s\n", what.c_str());
    return kExitFailed;
}

int RunClockBench(const ClockBenchArgs& args) {
    const auto total = sim::ParseClockDuration(args.advance);
    const auto step = sim::ParseClockDuration(args.step);
    if (!total || !step) {
        (void)std::fprintf(stderr, "elsim bench clock: %s\n",
                           (!total ? total.error() : step.error()).message.c_str());
        return kExitBadInput;
    }
    auto scratch = MakeBenchScratch(args.temp_dir, "elsim-bench-clock");
    if (!scratch) {
        (void)std::fprintf(stderr, "elsim bench clock: %s\n", scratch.error().message.c_str());
        return kExitEnvironment;
    }
    const fs::path config = scratch->path() / "world.yaml";
    if (auto s = sim::WriteFileAtomically(config, "region: us-east-1\nclock: virtual\n"
                                                  "manufacturers:\n  - name: acme\n"
                                                  "accounts:\n  - {name: staging, kind: staging}\n");
        !s) {
        return Fail(s.error().message);
    }
    if (auto s = sim::onboarding::RaiseDescriptorLimitFor(args.modules); !s) {
        return Fail(s.error().message);
    }
    auto world = sim::onboarding::LocalWorld::Start(config, scratch->path() / "world");
    if (!world) {
        return Fail(world.error().message);
    }
    const auto& state = (*world)->State();
    auto identities = sim::onboarding::MakeBirthIdentities(state.manufacturers.front(),
                                                           args.modules, scratch->path() / "ids");
    if (!identities) {
        return Fail(identities.error().message);
    }
    auto fleet = sim::onboarding::StartModules(**world, state.accounts.front(), *identities,
                                               scratch->path() / "state");
    if (!fleet) {
        return Fail(fleet.error().message);
    }
    auto world_clock = sim::WorldClock::OpenInWorld(state.directory);
    if (!world_clock) {
        return Fail(world_clock.error().message);
    }
    sim::module::ConnectWindowOptions connect;
    connect.window = 32;
    const auto connected = sim::module::ConnectWindowed((*fleet)->modules(), connect);
    if (connected.connected != args.modules) {
        return Fail(std::to_string(connected.connected) + "/" + std::to_string(args.modules) +
                    " modules connected (" + connected.first_error + ")");
    }
    auto& clock = **world_clock;
    auto& timers = (*fleet)->timers();
    const auto world_before = clock.Now();
    std::size_t steps = 0;
    const auto started = SteadyClock::now();
    for (auto moved = std::chrono::milliseconds{0}; moved < *total; moved += *step) {
        const auto by = std::min(*step, *total - moved);
        if (auto s = clock.Advance(by); !s) {
            return Fail(s.error().message);
        }
        if (!timers.Settle(std::chrono::seconds{10})) {
            return Fail("the modules' timers did not settle within 10 s");
        }
        ++steps;
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    const auto ahead = std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() -
                                                                             world_before);

    // Not measured: the modules are still there and tell the world's date.
    const std::size_t still_connected = CountConnected((*fleet)->modules());
    const auto time_answer = (*fleet)->modules().front()->Command("AT+TIME?", std::chrono::seconds{5});
    const std::string expected_date = ModuleDate(clock.Now());
    const bool date_ok = !time_answer.empty() &&
                         time_answer.front().find(expected_date) != std::string::npos;
    std::printf("clock: advanced %s of world time (%s measured) in %zu steps of %s with %zu "
                "modules connected: %.3f s wall (target <= %.1f s); %zu/%zu still connected; "
                "TIME? %s\n",
                sim::FormatClockDuration(*total).c_str(), sim::FormatClockDuration(ahead).c_str(),
                steps, sim::FormatClockDuration(*step).c_str(), args.modules, seconds,
                kTargetSeconds, still_connected, args.modules,
                date_ok ? ("gives the world's date " + expected_date).c_str()
                        : ("answered '" + (time_answer.empty() ? std::string("nothing")
                                                                : time_answer.front()) +
                           "', expected " + expected_date)
                              .c_str());
    std::fflush(stdout);
    return still_connected == args.modules && date_ok ? kExitOk : kExitFailed;
}

}  // namespace

void AddClockBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<ClockBenchArgs>();
    auto* verb = bench.add_subcommand(
        "clock",
        "World time against wall time: N connected software modules while the world clock "
        "advances (default 24 hours in 1-minute steps, each waiting for due timers)");
    verb->add_option("--modules", args->modules, "Software modules connected to staging")
        ->check(CLI::Range(std::size_t{1}, std::size_t{2000}))
        ->capture_default_str();
    verb->add_option("--advance", args->advance, "World time to advance (e.g. 24h, 2d)")
        ->capture_default_str();
    verb->add_option("--step", args->step, "World time per step (e.g. 1m, 10s)")
        ->capture_default_str();
    verb->add_option("--temp-dir", args->temp_dir,
                     "Where the scratch world goes (default: /dev/shm when writable, else the "
                     "system temporary directory)")
        ->check(CLI::ExistingDirectory);
    verb->callback([args, &context] { context.exit_code = RunClockBench(*args); });
}

}  // namespace elsim
