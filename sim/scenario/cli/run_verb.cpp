// SPDX-License-Identifier: Apache-2.0
// `elsim run` (play scenarios; --check only checks them) and `elsim bench suite` (the bundled
// suite's wall time, and whether runs with one seed replay identically).
#include <algorithm>
#include <map>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/scenario/normalise.hpp"
#include "sim/scenario/report.hpp"
#include "sim/scenario/runner.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;
namespace sc = sim::scenario;

struct RunArgs {
    std::vector<std::string> paths;
    unsigned jobs = 0;
    std::vector<std::string> filters;
    std::uint64_t seed = 0;
    bool seed_given = false;
    std::string out = "elsim-results";
    std::string junit;
    std::string html;
    bool keep = false;
    bool check = false;
    // The child: one scenario.
    std::string one;
    std::string id;
};

fs::path Self() {
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("elsim") : self;
}

void PrintLine(const std::string& line) {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    (void)std::printf("%s\n", line.c_str());
    (void)std::fflush(stdout);
}

int Check(const std::vector<std::string>& paths) {
    std::vector<fs::path> roots(paths.begin(), paths.end());
    auto files = sc::FindScenarios(roots);
    if (!files) {
        (void)std::fprintf(stderr, "elsim run --check: %s\n", files.error().message.c_str());
        return kExitBadInput;
    }
    auto scenarios = sc::LoadScenarios(*files);
    if (!scenarios) {
        for (const auto& line : scenarios.error()) {
            PrintLine(line);
        }
        PrintLine(std::to_string(scenarios.error().size()) + " error(s) in " +
                  std::to_string(files->size()) + " file(s)");
        return kExitBadInput;
    }
    PrintLine(std::to_string(scenarios->size()) + " scenario(s) OK");
    return kExitOk;
}

// Times and key material differ from run to run by nature; what remains must not.
std::string Normalised(const std::vector<sc::TimelineEntry>& timeline) {
    std::string out;
    for (const auto& entry : timeline) {
        out += entry.participant + " " + sc::ToString(entry.kind) + " " +
               sc::NormaliseForComparison(entry.text) + "\n";
    }
    return out;
}

}  // namespace

void AddRunVerb(CLI::App& app, VerbContext& context) {
    auto args = std::make_shared<RunArgs>();
    auto* run = app.add_subcommand(
        "run",
        "Play scenario files (or folders of them), each in a fresh local world; exit 0 when "
        "all pass, 1 when any fails, 2 for unusable input");
    run->add_option("paths", args->paths, "Scenario files or folders (e.g. scenarios/)");
    run->add_option("-j,--jobs", args->jobs, "Scenarios at once (default: the number of cores)");
    run->add_option("--filter", args->filters,
                    "Only scenarios whose id (folder/name) contains this text (repeatable)");
    run->add_option("--seed", args->seed, "Replay a run: the seed printed by an earlier run")
        ->each([args](const std::string&) { args->seed_given = true; });
    run->add_option("--out", args->out,
                    "Where timelines, results and failed worlds go (default: elsim-results)");
    run->add_option("--junit", args->junit, "Write JUnit XML here");
    run->add_option("--html", args->html,
                    "Write the HTML report to this folder (open DIR/index.html; works offline)");
    run->add_flag("--keep-worlds", args->keep, "Keep the world of passed scenarios too");
    run->add_flag("--check", args->check,
                  "Only check the files (file:line: reason for each error); start nothing");
    run->add_option("--one", args->one, "(internal) play one scenario file in this process")
        ->group("");
    run->add_option("--id", args->id, "(internal) the scenario's id with --one")->group("");
    run->callback([args, &context] {
        if (!args->one.empty()) {
            context.exit_code = sc::RunOneScenario(sc::ScenarioFile{args->one, args->id},
                                                   args->seed, args->out, args->keep);
            return;
        }
        if (args->paths.empty()) {
            (void)std::fprintf(stderr,
                               "elsim run: give scenario files or folders, e.g. "
                               "`elsim run scenarios/`\n");
            context.exit_code = kExitBadInput;
            return;
        }
        if (args->check) {
            context.exit_code = Check(args->paths);
            return;
        }
        sc::RunOptions options;
        options.paths.assign(args->paths.begin(), args->paths.end());
        options.jobs = args->jobs;
        options.filters = args->filters;
        if (args->seed_given) {
            options.seed = args->seed;
        }
        options.out_dir = args->out;
        options.junit = args->junit;
        options.html = args->html;
        options.keep_worlds = args->keep;
        options.self = Self();
        context.exit_code = sc::RunScenarios(options, PrintLine).exit_code;
    });
}

void AddSuiteBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<RunArgs>();
    auto runs = std::make_shared<int>(3);
    auto* suite = bench.add_subcommand(
        "suite",
        "Wall time of a scenario suite, run several times with one seed; counts the "
        "scenarios whose timelines differ between runs once times and key material are "
        "normalised");
    suite->add_option("paths", args->paths, "Scenario files or folders (default: scenarios/)");
    suite->add_option("-j,--jobs", args->jobs, "Scenarios at once (default: the number of cores)");
    suite->add_option("--runs", *runs, "Runs (default 3)")->check(CLI::Range(1, 20));
    suite->add_option("--seed", args->seed, "The seed of every run (default: 1)");
    suite->add_option("--out", args->out, "Results of each run go to OUT/run-N")
        ->default_val("elsim-bench-suite");
    suite->callback([args, runs, &context] {
        if (args->paths.empty()) {
            args->paths.emplace_back("scenarios");
        }
        if (args->seed == 0) {
            args->seed = 1;
        }
        std::vector<double> seconds;
        std::vector<std::map<std::string, std::string>> timelines;
        std::size_t scenarios = 0;
        bool all_passed = true;
        for (int i = 1; i <= *runs; ++i) {
            sc::RunOptions options;
            options.paths.assign(args->paths.begin(), args->paths.end());
            options.jobs = args->jobs;
            options.seed = args->seed;
            options.out_dir = fs::path(args->out) / ("run-" + std::to_string(i));
            options.self = Self();
            auto summary = sc::RunScenarios(options, [](const std::string&) {});
            if (summary.exit_code == kExitBadInput) {
                PrintLine("elsim bench suite: the scenario files do not check; run "
                          "`elsim run --check` on them");
                context.exit_code = kExitBadInput;
                return;
            }
            all_passed = all_passed && summary.exit_code == kExitOk;
            scenarios = summary.results.size();
            seconds.push_back(static_cast<double>(summary.elapsed.count()) / 1000.0);
            std::map<std::string, std::string> normalised;
            for (const auto& result : summary.results) {
                normalised[result.id] = Normalised(result.timeline);
            }
            timelines.push_back(std::move(normalised));
            PrintLine("run " + std::to_string(i) + ": " +
                      sc::SummaryLine(summary.results, summary.elapsed, summary.seed));
        }
        std::size_t differing = 0;
        for (const auto& [id, text] : timelines.front()) {
            for (std::size_t r = 1; r < timelines.size(); ++r) {
                if (timelines[r][id] != text) {
                    ++differing;
                    PrintLine("  timeline differs between runs: " + id);
                    break;
                }
            }
        }
        auto sorted = seconds;
        std::sort(sorted.begin(), sorted.end());
        char line[256];
        (void)std::snprintf(line, sizeof(line),
                            "suite: %zu scenarios, median %.1f s over %d run(s) (min %.1f, max "
                            "%.1f), jobs %u, seed %llu; %zu of %zu timelines differ between runs",
                            scenarios, sorted[sorted.size() / 2], *runs, sorted.front(),
                            sorted.back(),
                            args->jobs == 0 ? std::max(1U, std::thread::hardware_concurrency())
                                            : args->jobs,
                            static_cast<unsigned long long>(args->seed), differing, scenarios);
        PrintLine(line);
        context.exit_code = all_passed ? kExitOk : kExitFailed;
    });
}

}  // namespace elsim
