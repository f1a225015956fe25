// SPDX-License-Identifier: Apache-2.0
#include "sim/oem_account/onboard.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>

#include "sim/core/adapters.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/pipeline.hpp"
#include "sim/world/world.hpp"

namespace sim::oem_account {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using onboarding::MakeBirthIdentities;
using onboarding::MakeJobs;
using onboarding::OnboardingSetupOptions;
using onboarding::OpenClaimSessions;
using onboarding::PipelineOptions;
using onboarding::RaiseDescriptorLimitFor;
using onboarding::RunOnboardingPipeline;
using onboarding::SetUpOnboarding;
using onboarding::StartModules;

namespace {

std::string Seconds(std::chrono::milliseconds elapsed) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(elapsed.count()) / 1000.0);
    return buffer;
}

// Serialises output; each line starts with the time since the job started.
struct Printer {
    std::mutex mutex;
    std::function<void(const std::string&)> print;
    Clock::time_point started = Clock::now();
    void operator()(const std::string& line) {
        char stamp[24];
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        std::snprintf(stamp, sizeof stamp, "[%6.2f s] ", static_cast<double>(ms.count()) / 1000.0);
        std::lock_guard<std::mutex> lock(mutex);
        if (print) {
            print(stamp + line);
        }
    }
};

}  // namespace

sim::Result<OnboardSummary> RunOnboard(const OnboardOptions& options,
                                       const std::function<void(const std::string&)>& print) {
    const auto started = Clock::now();
    Printer out;
    out.print = print;
    if (options.modules == 0 || options.modules > 10000) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--modules: must be 1..10000, got " +
                                  std::to_string(options.modules));
    }
    if (options.workers == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "--workers: must be at least 1");
    }
    if (options.claim_things == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--claim-things: must be at least 1");
    }
    std::error_code ec;
    if (!fs::is_regular_file(options.world_file, ec)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--world: " + options.world_file.string() + ": no such file");
    }
    if (auto raised = RaiseDescriptorLimitFor(options.modules); !raised) {
        return sim::Unexpected<sim::Error>(raised.error());
    }
    fs::path dir = options.directory;
    std::optional<sim::ScratchDirectory> scratch;  // without --dir: removed unless --keep
    if (dir.empty()) {
        auto made = sim::ScratchDirectory::Create(fs::temp_directory_path(), "elsim-onboard");
        if (!made) {
            return sim::Unexpected<sim::Error>(made.error());
        }
        scratch.emplace(std::move(*made));
        dir = options.keep ? scratch->Keep() : scratch->path();
    } else if (fs::exists(dir / "world.pid", ec)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--dir: " + dir.string() + " holds a running world (world.pid)");
    }
    auto interrupted = [&] { return options.interrupted != nullptr && options.interrupted->load(); };

    OnboardingSetupOptions setup_options;
    setup_options.world_file = options.world_file;
    setup_options.directory = dir;
    setup_options.oem_account = options.oem_account;
    setup_options.manufacturer = options.manufacturer;
    // More claim-things than modules would only register unused ones.
    setup_options.claim_things = std::min(options.claim_things, options.modules);
    setup_options.explain = options.explain;
    // A broker that dies is restarted by the world's supervisor; say so when it happens.
    setup_options.on_broker_exit = [&out](const world::BrokerExit& exit) {
        std::string line = "world: " + world::Describe(exit) + "; its last log lines:";
        for (std::size_t start = 0; start < exit.log_tail.size();) {
            const std::size_t end = std::min(exit.log_tail.find('\n', start), exit.log_tail.size());
            line += "\n  | " + exit.log_tail.substr(start, end - start);
            start = end + 1;
        }
        out(line);
    };
    auto setup = SetUpOnboarding(setup_options, [&](const std::string& line) { out(line); });
    if (!setup) {
        return sim::Unexpected<sim::Error>(setup.error());
    }

    // Birth identities and modules.
    auto identities = MakeBirthIdentities(setup->manufacturer, options.modules, dir / "modules");
    if (!identities) {
        return sim::Unexpected<sim::Error>(identities.error());
    }
    out("birth identities: " + std::to_string(identities->size()) + " signed by " +
        setup->manufacturer.name + "'s CA");
    auto fleet = StartModules(*setup->world, setup->staging, *identities, dir / "module-state");
    if (!fleet) {
        return sim::Unexpected<sim::Error>(fleet.error());
    }
    auto jobs = MakeJobs(**fleet, *identities);
    if (!jobs) {
        return sim::Unexpected<sim::Error>(jobs.error());
    }
    out("modules started: " + std::to_string(jobs->size()) + " on " + setup->staging.endpoint);
    auto sessions = OpenClaimSessions(*setup);
    if (!sessions) {
        return sim::Unexpected<sim::Error>(sessions.error());
    }
    out("claim sessions open: " + std::to_string(sessions->size()) + " to " +
        sessions->front()->uri() + " (at most 100 claims/s each)");

    // Per-module stories, many in flight.
    const bool per_module_lines = jobs->size() <= 1000;
    const std::size_t tenth = std::max<std::size_t>(1, jobs->size() / 10);
    std::atomic<std::size_t> onboarded{0};
    auto label = [&](std::size_t index) {
        return "module " + std::to_string(index + 1) + " " + (*jobs)[index].thing_name + ": ";
    };
    PipelineOptions pipeline;
    pipeline.workers = options.workers;
    pipeline.interrupted = options.interrupted;
    auto outcomes = RunOnboardingPipeline(
        *setup, *jobs, *sessions, pipeline, [&](std::size_t index, const std::string& text) {
            if (per_module_lines) {
                out(label(index) + text);
            }
            if (text.rfind("verified:", 0) == 0) {
                const std::size_t done = ++onboarded;
                if (!per_module_lines && done % tenth == 0) {
                    out("onboarded " + std::to_string(done) + "/" + std::to_string(jobs->size()));
                }
            }
        });
    OnboardSummary summary;
    // A failed module whose claim went out may still be registered in the OEM account (the
    // claim reached it, a later step failed): the OEM account's registry says which.
    std::size_t failed_registered = 0;
    std::string registry_problem;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (outcomes[i].ok) {
            ++summary.onboarded;
            continue;
        }
        ++summary.failed;
        std::string line = label(i) + "FAILED: " + outcomes[i].error;
        if (outcomes[i].claim_sent && registry_problem.empty()) {
            const auto& thing = (*jobs)[i].thing_name;
            auto found = setup->oem_client->Call(
                "GET", controlplane::AwsClient::Path({"things", thing}));
            if (found) {
                ++failed_registered;
                line += " (yet the claim reached it: thing " + thing + " is registered in " +
                        setup->oem.name + ")";
            } else if (found.error().status != 404) {
                registry_problem = found.error().type + " " + found.error().message;
            }
        }
        out(line);
    }
    summary.registered = summary.onboarded + failed_registered;
    std::string broker_exits;
    for (const auto& exit : setup->world->BrokerExits()) {
        broker_exits += "; " + world::Describe(exit);
    }
    sessions->clear();
    fleet->reset();
    setup->world->Stop();
    out("world down");

    summary.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    summary.summary_line = "onboarded " + std::to_string(summary.onboarded) + "/" +
                           std::to_string(jobs->size()) + " modules in " +
                           Seconds(summary.elapsed) +
                           (summary.failed > 0 ? " (" + std::to_string(summary.failed) +
                                                     " failed)"
                                               : std::string()) +
                           (interrupted() ? " (interrupted)" : std::string());
    if (summary.failed > 0) {
        summary.summary_line +=
            registry_problem.empty()
                ? "; " + setup->oem.name + " holds " + std::to_string(summary.registered) +
                      " of the " + std::to_string(jobs->size()) + " things"
                : "; " + setup->oem.name + "'s registry could not be read (" + registry_problem +
                      ")";
    }
    summary.summary_line += broker_exits;
    if (options.keep || !scratch) {
        summary.summary_line += "; kept " + dir.string();
    }
    return summary;
}

}  // namespace sim::oem_account
