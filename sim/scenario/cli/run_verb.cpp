// SPDX-License-Identifier: Apache-2.0
// `elsim run` (play scenarios; --check only checks them; --explain replays one with its
// timeline printed live) and `elsim bench suite` (the bundled suite's wall time, and whether
// runs with one seed replay identically).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <random>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/scenario/normalise.hpp"
#include "sim/scenario/progress.hpp"
#include "sim/scenario/report.hpp"
#include "sim/scenario/runner.hpp"
#include "sim/scenario/session.hpp"
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
    std::string explain;
    bool keep = false;
    bool check = false;
    std::string modules;
    std::string module_cas;
    std::string module_hosts;
    // Against real AWS.
    std::string target = "sim";
    std::string accounts;
    std::string run_prefix;
    bool keep_resources = false;
    std::string compare_with;
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

// The progress of a run. On a terminal: one status line under the result lines, redrawn
// when a scenario ends and every second (elapsed, ETA). Elsewhere (CI logs): a plain progress
// line when a scenario ends, at most every 10 s.
class ProgressDisplay {
public:
    explicit ProgressDisplay(bool terminal) : terminal_(terminal) {
        if (terminal_) {
            ticker_ = std::thread([this] {
                std::unique_lock<std::mutex> lock(mutex_);
                while (!stopping_) {
                    if (cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
                        break;
                    }
                    if (progress_.total > 0) {
                        progress_.elapsed = Since(started_);
                        Draw();
                    }
                }
            });
        }
    }
    ~ProgressDisplay() { Stop(); }
    ProgressDisplay(const ProgressDisplay&) = delete;
    ProgressDisplay& operator=(const ProgressDisplay&) = delete;

    void Print(const std::string& line) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (terminal_) {
            (void)std::printf("\r\033[K%s\n", line.c_str());
            if (progress_.total > 0 && !stopping_) {
                Draw();
            }
        } else {
            (void)std::printf("%s\n", line.c_str());
        }
        (void)std::fflush(stdout);
    }

    /// The last scenario's progress clears the status line: the summary follows.
    void Update(const sc::Progress& progress) {
        std::unique_lock<std::mutex> lock(mutex_);
        progress_ = progress;
        if (terminal_ && progress.done >= progress.total) {
            stopping_ = true;
            (void)std::printf("\r\033[K");
            (void)std::fflush(stdout);
            lock.unlock();
            cv_.notify_all();
        } else if (terminal_) {
            Draw();
        } else if (progress.done == progress.total || Since(last_plain_) >= kPlainEvery) {
            last_plain_ = Clock::now();
            (void)std::printf("progress: %s\n", sc::ProgressLine(progress).c_str());
            (void)std::fflush(stdout);
        }
    }

    /// Clears the status line; later lines print plainly.
    void Stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!stopping_ && terminal_ && progress_.total > 0) {
                (void)std::printf("\r\033[K");
                (void)std::fflush(stdout);
            }
            stopping_ = true;
        }
        cv_.notify_all();
        if (ticker_.joinable()) {
            ticker_.join();
        }
    }

private:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kPlainEvery{10'000};

    static std::chrono::milliseconds Since(Clock::time_point then) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - then);
    }
    void Draw() {
        (void)std::printf("\r\033[K%s", sc::ProgressLine(progress_).c_str());
        (void)std::fflush(stdout);
    }

    const bool terminal_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    sc::Progress progress_;
    const Clock::time_point started_ = Clock::now();
    Clock::time_point last_plain_ = Clock::now();
    std::thread ticker_;
};

// Replays one scenario in this process, printing each timeline entry as it happens.
int Explain(const RunArgs& args, const sc::SessionOptions& links) {
    auto files = sc::FindScenarios({fs::path(args.explain)});
    if (!files || files->size() != 1) {
        (void)std::fprintf(stderr, "elsim run --explain: %s\n",
                           files ? "give one scenario file" : files.error().message.c_str());
        return kExitBadInput;
    }
    auto scenarios = sc::LoadScenarios(*files);
    if (!scenarios) {
        for (const auto& line : scenarios.error()) {
            PrintLine(line);
        }
        return kExitBadInput;
    }
    const sc::Scenario& scenario = scenarios->front();
    // With --seed, the scenario plays as it did in that run.
    const std::uint64_t seed = args.seed_given ? sc::ScenarioSeed(args.seed, scenario.id)
                                               : std::random_device{}();
    if (auto error = sc::CheckLinkedActors(links.links, *scenarios)) {
        (void)std::fprintf(stderr, "elsim run --explain: %s\n", error->c_str());
        return kExitBadInput;
    }
    sc::SessionOptions session = links;
    session.world_dir = fs::path(args.out) / (scenario.id + ".world");
    session.seed = seed;
    session.on_entry = [](const sc::TimelineEntry& entry) {
        PrintLine(sc::LiveTimelineLine(entry));
    };
    std::error_code ec;
    fs::remove_all(session.world_dir, ec);
    fs::create_directories(session.world_dir, ec);
    PrintLine("explain " + scenario.id + " (scenario seed " + std::to_string(seed) +
              "); world in " + session.world_dir.string());
    const auto result = sc::PlayScenario(scenario, session);
    PrintLine(sc::ResultLine(result));
    return result.outcome == sc::Outcome::kPass ? kExitOk : kExitFailed;
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

// Times and key material differ from run to run by nature; what remains must not. Each
// participant's own story is compared, an account's log apart from its calls (how two
// sources' entries interleave within a few milliseconds is not), and a run of identical
// entries counts once (how many times a host polled during a back-off depends on time).
std::string Normalised(const std::vector<sc::TimelineEntry>& timeline) {
    std::map<std::string, std::vector<std::string>> stories;
    for (const auto& entry : timeline) {
        auto line = std::string(sc::ToString(entry.kind)) + " " +
                    sc::NormaliseForComparison(entry.text);
        // An account's log lines arrive through the log tail, on their own clock.
        const bool from_log = entry.kind == sc::EntryKind::kBrokerLog ||
                              entry.kind == sc::EntryKind::kRefusal;
        auto& story = stories[entry.participant + (from_log ? " (log)" : "")];
        const std::size_t n = story.size();
        const bool repeats_last = n >= 1 && story[n - 1] == line;
        // A request and its answer polled again (AT+CONNECT, ERR14 1 ...) count once too.
        const bool repeats_pair = n >= 3 && story[n - 2] == line && story[n - 1] == story[n - 3];
        if (repeats_pair) {
            story.pop_back();
        } else if (!repeats_last) {
            story.push_back(std::move(line));
        }
    }
    std::string out;
    for (const auto& [participant, story] : stories) {
        for (const auto& line : story) {
            out += participant + " " + line + "\n";
        }
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
    run->add_option("-j,--jobs", args->jobs,
                    "Scenarios at once (default: four per core, " +
                        std::to_string(sc::DefaultJobs()) + " here: a scenario mostly waits)");
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
    run->add_option("--explain", args->explain,
                    "Replay one scenario file in this process, printing its timeline as it "
                    "happens (with --seed: as in that run)");
    run->add_option("--modules", args->modules,
                    "Module actors played by linked modules instead of software ones: "
                    "NAME=serial:/dev/ttyUSB0 (a real module: 115200 8N1 raw, no flow control), "
                    "NAME=pty:PATH or NAME=tcp:127.0.0.1:PORT (an `elsim module` process), "
                    "comma-separated. Each is factory-reset with AT+FACTORY_RESET before every "
                    "scenario that has the actor; steps that need a software module's inside "
                    "are skipped with the reason; scenarios run one at a time");
    run->add_option("--module-cas", args->module_cas,
                    "With --modules: a folder of manufacturer CAs (<maker>-ca.pem and "
                    "<maker>-ca.key, as a world's pki/manufacturers/ holds) that the scenario "
                    "worlds use instead of fresh ones, so that linked modules' birth "
                    "certificates are accepted");
    run->add_option("--module-hosts", args->module_hosts,
                    "With --modules: write each scenario world's endpoints map (JSON) to this "
                    "file once the world is up, for linked `elsim module` processes started "
                    "with --endpoints on it");
    run->add_option("--one", args->one, "(internal) play one scenario file in this process")
        ->group("");
    run->add_option("--id", args->id, "(internal) the scenario's id with --one")->group("");
    run->add_option("--target", args->target,
                    "sim (default): each scenario in a fresh local world; aws: against the real "
                    "accounts of --accounts (sim-only steps are skipped with the reason, what a "
                    "scenario creates is named with a run prefix, tagged and deleted at its end)")
        ->check(CLI::IsMember({"sim", "aws"}));
    run->add_option("--accounts", args->accounts,
                    "With --target aws: accounts.yaml, mapping the scenarios' accounts to real "
                    "ones (account ids, regions, credentials profiles, staging endpoint, "
                    "claim-thing, Amazon root CA); no account outside it is touched");
    run->add_flag("--keep", args->keep_resources,
                  "With --target aws: leave what the scenarios created (remove it later with "
                  "`elsim aws cleanup --prefix`)");
    run->add_option("--run-prefix", args->run_prefix,
                    "With --target aws: the run prefix (elsim-[a-z0-9]{1,16}; default: a fresh "
                    "one, printed)");
    run->add_option("--compare-with", args->compare_with,
                    "The --out folder of an earlier run (e.g. offline): list the steps whose "
                    "outcome or observed values differ in this run");
    run->callback([args, &context] {
        sc::SessionOptions links;
        if (!args->modules.empty() || !args->module_cas.empty() || !args->module_hosts.empty()) {
            auto parsed = args->modules.empty()
                              ? sim::Result<std::vector<sc::LinkSpec>, std::string>(
                                    sim::Unexpected<std::string>(
                                        "--module-cas and --module-hosts go with --modules"))
                              : sc::ParseModuleLinks(args->modules);
            std::error_code ec;
            if (parsed && !args->module_cas.empty() && !fs::is_directory(args->module_cas, ec)) {
                parsed = sim::Unexpected<std::string>("--module-cas " + args->module_cas +
                                                      ": not a folder");
            }
            if (!parsed) {
                (void)std::fprintf(stderr, "elsim run: %s\n", parsed.error().c_str());
                context.exit_code = kExitBadInput;
                return;
            }
            links.links = std::move(*parsed);
            links.module_cas = args->module_cas;
            links.module_hosts = args->module_hosts;
        }
        if (args->target == "aws" && args->accounts.empty()) {
            (void)std::fprintf(stderr,
                               "elsim run: --target aws needs --accounts accounts.yaml (there "
                               "is no default account)\n");
            context.exit_code = kExitBadInput;
            return;
        }
        if (args->target != "aws" && (!args->accounts.empty() || args->keep_resources ||
                                      !args->run_prefix.empty())) {
            (void)std::fprintf(stderr,
                               "elsim run: --accounts, --keep and --run-prefix go with "
                               "--target aws\n");
            context.exit_code = kExitBadInput;
            return;
        }
        if (args->target == "aws" && (!args->module_cas.empty() || !args->module_hosts.empty())) {
            (void)std::fprintf(stderr,
                               "elsim run: --module-cas and --module-hosts shape local worlds; "
                               "against AWS a linked module keeps its own CA and AWS's names\n");
            context.exit_code = kExitBadInput;
            return;
        }
        sc::AwsChildOptions aws;
        if (args->target == "aws") {
            aws.accounts = args->accounts;
            aws.run_prefix = args->run_prefix;
            aws.keep_resources = args->keep_resources;
        }
        if (!args->one.empty()) {
            context.exit_code = sc::RunOneScenario(sc::ScenarioFile{args->one, args->id},
                                                   args->seed, args->out, args->keep, links, aws);
            return;
        }
        if (!args->explain.empty() && args->target == "aws") {
            (void)std::fprintf(stderr, "elsim run: --explain plays in a local world only\n");
            context.exit_code = kExitBadInput;
            return;
        }
        if (!args->explain.empty()) {
            context.exit_code = Explain(*args, links);
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
        options.links = links.links;
        options.module_cas = links.module_cas;
        options.module_hosts = links.module_hosts;
        options.aws_accounts = aws.accounts;
        options.run_prefix = aws.run_prefix;
        options.keep_resources = aws.keep_resources;
        options.compare_with = args->compare_with;
        ProgressDisplay display(::isatty(STDOUT_FILENO) == 1);
        options.on_progress = [&display](const sc::Progress& p) { display.Update(p); };
        context.exit_code =
            sc::RunScenarios(options, [&display](const std::string& line) { display.Print(line); })
                .exit_code;
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
    suite->add_option("-j,--jobs", args->jobs,
                      "Scenarios at once (default: four per core, as elsim run)");
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
                    // Both normalised stories, side by side for `diff`.
                    const fs::path base = fs::path(args->out) / "differences" / id;
                    std::error_code ec;
                    fs::create_directories(base.parent_path(), ec);
                    (void)sim::WriteFileAtomically(base.string() + ".run-1.txt", text);
                    (void)sim::WriteFileAtomically(
                        base.string() + ".run-" + std::to_string(r + 1) + ".txt", timelines[r][id]);
                    PrintLine("  timeline differs between runs 1 and " + std::to_string(r + 1) +
                              ": " + id + " (" + base.string() + ".run-*.txt)");
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
                            args->jobs == 0 ? sc::DefaultJobs() : args->jobs,
                            static_cast<unsigned long long>(args->seed), differing, scenarios);
        PrintLine(line);
        context.exit_code = all_passed ? kExitOk : kExitFailed;
    });
}

}  // namespace elsim
