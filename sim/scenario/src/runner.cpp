// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/runner.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "sim/core/adapters.hpp"
#include "sim/scenario/aws_target.hpp"
#include "sim/scenario/html_report.hpp"
#include "sim/scenario/session.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace sim::scenario {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Extra time a child gets beyond its scenario's timeout to write its result and stop its
// world before it is killed.
constexpr auto kChildGrace = 20s;
// Against real AWS, the time a child gets after its timeout or an interruption to delete what
// it created (a few calls per resource) before it is killed.
constexpr auto kCleanupGrace = 120s;

// SIGINT/SIGTERM seen (against real AWS: stop between steps and clean up).
std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int /*signal*/) { g_interrupted.store(true); }

void CatchInterrupts() {
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

std::uint64_t SplitMix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}

const std::vector<EntryKind>& AllKinds() {
    static const std::vector<EntryKind> kinds = {
        EntryKind::kStepStart, EntryKind::kStepPass, EntryKind::kStepFail, EntryKind::kAtSend,
        EntryKind::kAtAnswer,  EntryKind::kEvent,    EntryKind::kMqtt,     EntryKind::kRefusal,
        EntryKind::kClaim,     EntryKind::kCall,     EntryKind::kReply,    EntryKind::kRegistry,
        EntryKind::kBrokerLog, EntryKind::kNote,     EntryKind::kStepSkip};
    return kinds;
}

EntryKind KindFromString(const std::string& text) {
    for (const auto kind : AllKinds()) {
        if (text == ToString(kind)) {
            return kind;
        }
    }
    return EntryKind::kNote;
}

json EntryToJson(const TimelineEntry& entry) {
    return {{"offsetMs", entry.offset.count()},
            {"participant", entry.participant},
            {"kind", ToString(entry.kind)},
            {"text", entry.text}};
}

json ResultToJson(const ScenarioResult& result) {
    json out = {{"id", result.id},
                {"file", result.file.string()},
                {"outcome", ToString(result.outcome)},
                {"durationMs", result.duration.count()},
                {"seed", std::to_string(result.seed)},
                {"keptWorld", result.kept_world.string()},
                {"timeline", json::array()}};
    if (result.failure) {
        out["failure"] = {{"step", result.failure->step},
                          {"line", result.failure->line},
                          {"reason", result.failure->reason}};
    }
    for (const auto& entry : result.timeline) {
        out["timeline"].push_back(EntryToJson(entry));
    }
    return out;
}

std::optional<ScenarioResult> ResultFromJson(const std::string& text) {
    const json in = json::parse(text, nullptr, false);
    if (!in.is_object()) {
        return std::nullopt;
    }
    ScenarioResult result;
    result.id = in.value("id", "");
    result.file = in.value("file", "");
    const std::string outcome = in.value("outcome", "ERROR");
    result.outcome = outcome == "PASS"   ? Outcome::kPass
                     : outcome == "FAIL" ? Outcome::kFail
                     : outcome == "SKIP" ? Outcome::kSkip
                                         : Outcome::kError;
    result.duration = std::chrono::milliseconds{in.value("durationMs", 0)};
    result.seed = std::stoull(in.value("seed", "0"));
    result.kept_world = in.value("keptWorld", "");
    if (in.contains("failure")) {
        const auto& f = in["failure"];
        result.failure = StepFailure{f.value("step", ""), f.value("line", 0), f.value("reason", "")};
    }
    for (const auto& e : in.value("timeline", json::array())) {
        result.timeline.push_back(TimelineEntry{std::chrono::milliseconds{e.value("offsetMs", 0)},
                                                e.value("participant", ""),
                                                KindFromString(e.value("kind", "")),
                                                e.value("text", "")});
    }
    return result;
}

fs::path ResultBase(const fs::path& out_dir, const std::string& id) { return out_dir / id; }

fs::path WithSuffix(const fs::path& base, const std::string& suffix) {
    return base.parent_path() / (base.filename().string() + suffix);
}

// Writes the result JSON and the text timeline of `result`.
void WriteResult(ScenarioResult& result, const fs::path& out_dir) {
    const fs::path base = ResultBase(out_dir, result.id);
    std::error_code ec;
    fs::create_directories(base.parent_path(), ec);
    result.timeline_file = WithSuffix(base, ".timeline.txt");
    (void)sim::WriteFileAtomically(result.timeline_file, TimelineText(result));
    (void)sim::WriteFileAtomically(WithSuffix(base, ".result.json"), ResultToJson(result).dump(1));
}

// Runs `self run --one FILE ...` and waits up to `limit`; SIGKILL after that.
// Returns the exit status, or nullopt when the child had to be killed.
std::optional<int> RunChild(const fs::path& self, const ScenarioFile& file, std::uint64_t seed,
                            const fs::path& out_dir, bool keep_world, std::chrono::milliseconds limit,
                            const std::atomic<bool>& interrupted,
                            const std::vector<std::string>& extra_args,
                            const AwsChildOptions& aws) {
    const fs::path log = WithSuffix(ResultBase(out_dir, file.id), ".log");
    std::error_code ec;
    fs::create_directories(log.parent_path(), ec);
    std::vector<std::string> args = {self.string(), "run",         "--one",
                                     file.file.string(), "--id",   file.id,
                                     "--seed",          std::to_string(seed),
                                     "--out",           out_dir.string()};
    if (keep_world) {
        args.emplace_back("--keep-worlds");
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    if (!aws.accounts.empty()) {
        args.insert(args.end(), {"--target", "aws", "--accounts", aws.accounts.string(),
                                 "--run-prefix", aws.run_prefix});
        if (aws.keep_resources) {
            args.emplace_back("--keep");
        }
    }
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        return std::nullopt;
    }
    const auto deadline = SteadyClock::now() + limit;
    int status = 0;
    while (true) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (!aws.accounts.empty() && (SteadyClock::now() >= deadline || interrupted.load())) {
            // Against real AWS the child is asked to stop and gets time to clean up.
            ::kill(pid, SIGTERM);
            const auto cleanup_deadline = SteadyClock::now() + kCleanupGrace;
            while (::waitpid(pid, &status, WNOHANG) != pid) {
                if (SteadyClock::now() >= cleanup_deadline) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, &status, 0);
                    return std::nullopt;
                }
                std::this_thread::sleep_for(20ms);
            }
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (SteadyClock::now() >= deadline || interrupted.load()) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return std::nullopt;
        }
        std::this_thread::sleep_for(20ms);
    }
}

// Writes the HTML report's files under `dir`.
void WriteHtmlReport(const fs::path& dir, const RunSummary& summary,
                     const std::function<void(const std::string&)>& print) {
    for (const auto& file : HtmlReport(summary.results, summary.elapsed, summary.seed)) {
        const fs::path path = dir / file.path;
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        if (auto s = sim::WriteFileAtomically(path, file.content); !s) {
            print("elsim run: --html: " + s.error().message);
            return;
        }
    }
}

}  // namespace

unsigned DefaultJobs() {
    // A scenario mostly waits (for handshakes, the module's back-off, the accounts' ticks):
    // measured on 2 cores, 48 bundled scenarios used about a quarter of a core each, and the
    // suite took 170 s at 2 at a time, 60 s at 6 and 37 s at 12, all passing.
    return 4 * std::max(1U, std::thread::hardware_concurrency());
}

std::uint64_t ScenarioSeed(std::uint64_t run_seed, const std::string& id) {
    std::uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char c : id) {
        hash = (hash ^ c) * 1099511628211ULL;
    }
    return SplitMix(run_seed ^ hash);
}

sim::Result<std::vector<ScenarioFile>> FindScenarios(const std::vector<fs::path>& paths) {
    std::vector<ScenarioFile> found;
    // The folder is taken from the absolute, normalised path: a file named from its own folder
    // ("x.yaml", "./x.yaml") or from below it ("../x.yaml") still gets "<folder>/<name>", an id
    // that stays inside the output directory.
    auto add = [&](const fs::path& file) {
        std::error_code ec;
        const fs::path absolute = fs::absolute(file, ec).lexically_normal();
        const std::string folder = absolute.parent_path().filename().string();
        found.push_back(
            ScenarioFile{file, (folder.empty() ? "" : folder + "/") + file.stem().string()});
    };
    auto is_yaml = [](const fs::path& p) {
        return p.extension() == ".yaml" || p.extension() == ".yml";
    };
    for (const auto& path : paths) {
        std::error_code ec;
        if (fs::is_regular_file(path, ec)) {
            add(path);
            continue;
        }
        if (!fs::is_directory(path, ec)) {
            return sim::MakeError(sim::ErrorCode::kNotFound,
                                  path.string() + ": no such scenario file or folder");
        }
        for (auto it = fs::recursive_directory_iterator(path, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) {
                return sim::MakeError(sim::ErrorCode::kIo, path.string() + ": " + ec.message());
            }
            const auto name = it->path().filename().string();
            if (it->is_directory() && (name == "worlds" || name == "schema")) {
                it.disable_recursion_pending();
                continue;
            }
            if (it->is_regular_file() && is_yaml(it->path())) {
                add(it->path());
            }
        }
    }
    std::sort(found.begin(), found.end(),
              [](const ScenarioFile& a, const ScenarioFile& b) { return a.id < b.id; });
    for (std::size_t i = 1; i < found.size(); ++i) {
        if (found[i].id == found[i - 1].id) {
            if (fs::equivalent(found[i].file, found[i - 1].file)) {
                found.erase(found.begin() + static_cast<std::ptrdiff_t>(i));
                --i;
                continue;
            }
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  found[i].file.string() + ": same name as " +
                                      found[i - 1].file.string() + " (" + found[i].id + ")");
        }
    }
    return found;
}

sim::Result<std::vector<Scenario>, Diagnostics> LoadScenarios(const std::vector<ScenarioFile>& files) {
    std::vector<Scenario> scenarios;
    Diagnostics diagnostics;
    const FileReader reader = [](const fs::path& path) { return sim::ReadFile(path); };
    for (const auto& file : files) {
        auto text = sim::ReadFile(file.file);
        if (!text) {
            diagnostics.push_back(file.file.string() + ":1: " + text.error().message);
            continue;
        }
        auto scenario = ParseScenario(*text, file.file, file.id, reader);
        if (!scenario) {
            diagnostics.insert(diagnostics.end(), scenario.error().begin(), scenario.error().end());
            continue;
        }
        scenarios.push_back(std::move(*scenario));
    }
    if (!diagnostics.empty()) {
        return sim::Unexpected<Diagnostics>(std::move(diagnostics));
    }
    return scenarios;
}

RunSummary RunScenarios(const RunOptions& options,
                        const std::function<void(const std::string&)>& print) {
    RunSummary summary;
    const auto started = SteadyClock::now();
    auto files = FindScenarios(options.paths);
    if (!files) {
        print("elsim run: " + files.error().message);
        summary.exit_code = 2;
        return summary;
    }
    if (!options.filters.empty()) {
        files->erase(std::remove_if(files->begin(), files->end(),
                                    [&](const ScenarioFile& f) {
                                        return std::none_of(
                                            options.filters.begin(), options.filters.end(),
                                            [&](const std::string& filter) {
                                                return f.id.find(filter) != std::string::npos;
                                            });
                                    }),
                     files->end());
    }
    if (files->empty()) {
        print("elsim run: no scenario matched (give scenario files or folders; --filter keeps ids "
              "that contain its text)");
        summary.exit_code = 2;
        return summary;
    }
    // Bad scenario files never start a world: check them all first.
    auto scenarios = LoadScenarios(*files);
    if (!scenarios) {
        for (const auto& line : scenarios.error()) {
            print(line);
        }
        print("elsim run: " + std::to_string(scenarios.error().size()) +
              " error(s) in the scenario files; nothing was run");
        summary.exit_code = 2;
        return summary;
    }
    if (auto error = CheckLinkedActors(options.links, *scenarios)) {
        print("elsim run: " + *error);
        summary.exit_code = 2;
        return summary;
    }
    std::vector<std::string> link_args;
    if (!options.links.empty()) {
        std::string text;
        for (const auto& link : options.links) {
            text += (text.empty() ? "" : ",") + ToString(link);
        }
        link_args = {"--modules", text};
        if (!options.module_cas.empty()) {
            link_args.insert(link_args.end(), {"--module-cas", options.module_cas.string()});
        }
        if (!options.module_hosts.empty()) {
            link_args.insert(link_args.end(), {"--module-hosts", options.module_hosts.string()});
        }
    }
    summary.seed = options.seed ? *options.seed : std::random_device{}();
    // A linked module plays one scenario at a time.
    unsigned jobs =
        !options.links.empty() ? 1U : options.jobs == 0 ? DefaultJobs() : options.jobs;
    AwsChildOptions aws;
    if (!options.aws_accounts.empty()) {
        // Every scenario is checked against accounts.yaml before any account is touched.
        auto text = sim::ReadFile(options.aws_accounts);
        if (!text) {
            print("elsim run: --accounts: " + text.error().message);
            summary.exit_code = 2;
            return summary;
        }
        auto accounts = aws::ParseAccountsFile(*text, options.aws_accounts);
        if (!accounts) {
            print("elsim run: " + accounts.error().message);
            summary.exit_code = 2;
            return summary;
        }
        std::error_code ec;
        if (!fs::is_regular_file(accounts->ca_file, ec)) {
            print("elsim run: " + options.aws_accounts.string() + ": ca-file: '" +
                  accounts->ca_file.string() + "' is not a readable file");
            summary.exit_code = 2;
            return summary;
        }
        for (const auto& scenario : *scenarios) {
            if (scenario.requires_sim) {
                continue;
            }
            if (auto covered = aws::CheckCovers(*accounts, scenario); !covered) {
                print("elsim run: " + covered.error().message);
                summary.exit_code = 2;
                return summary;
            }
        }
        aws.accounts = fs::absolute(options.aws_accounts, ec);
        aws.run_prefix = options.run_prefix.empty()
                             ? aws::RunPrefix(std::random_device{}() ^ (summary.seed << 20U))
                             : options.run_prefix;
        if (!aws::IsRunPrefix(aws.run_prefix)) {
            print("elsim run: --run-prefix: '" + aws.run_prefix + "' is not elsim-[a-z0-9]{1,16}");
            summary.exit_code = 2;
            return summary;
        }
        aws.keep_resources = options.keep_resources;
        // Scenarios of one account would race for its names and its one registration of a
        // maker's CA: one at a time.
        jobs = 1;
        CatchInterrupts();
        print("target aws: run prefix " + aws.run_prefix + "; what the scenarios create is " +
              (aws.keep_resources ? "kept (--keep)" : "deleted at the end of each") +
              "; remove leftovers with: elsim aws cleanup --accounts " +
              options.aws_accounts.string() + " --prefix " + aws.run_prefix + " --ledgers " +
              options.out_dir.string());
    }
    print("running " + std::to_string(scenarios->size()) + " scenario(s), " +
          std::to_string(std::min<std::size_t>(jobs, scenarios->size())) + " at a time, seed " + std::to_string(summary.seed) +
          " (replay with --seed " + std::to_string(summary.seed) + "); results in " +
          options.out_dir.string());
    if (!options.links.empty()) {
        print("linked modules: " + link_args[1] +
              " (factory-reset by AT before each scenario that has the actor; one scenario at "
              "a time)");
    }

    std::mutex mutex;
    std::size_t next = 0;
    std::vector<ScenarioResult> results(scenarios->size());
    Progress progress{0, scenarios->size(), 0, {}};
    std::atomic<bool> interrupted{false};
    auto worker = [&] {
        while (true) {
            std::size_t index = 0;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (next >= scenarios->size()) {
                    return;
                }
                index = next++;
            }
            const Scenario& scenario = (*scenarios)[index];
            const ScenarioFile file{scenario.file, scenario.id};
            const std::uint64_t seed = ScenarioSeed(summary.seed, scenario.id);
            if (!aws.accounts.empty() && (scenario.requires_sim || g_interrupted.load())) {
                ScenarioResult skipped;
                skipped.id = scenario.id;
                skipped.file = scenario.file;
                skipped.seed = seed;
                skipped.outcome = scenario.requires_sim ? Outcome::kSkip : Outcome::kError;
                skipped.failure = StepFailure{
                    "", 0,
                    scenario.requires_sim
                        ? "requires: sim (it needs the emulator; not played against real AWS)"
                        : "not started: the run was interrupted"};
                skipped.timeline.push_back(TimelineEntry{{}, "runner", EntryKind::kNote,
                                                         skipped.failure->reason});
                WriteResult(skipped, options.out_dir);
                std::lock_guard<std::mutex> lock(mutex);
                print(ResultLine(skipped));
                ++progress.done;
                if (options.on_progress) {
                    options.on_progress(progress);
                }
                results[index] = std::move(skipped);
                continue;
            }
            const auto child_started = SteadyClock::now();
            const auto status = RunChild(
                options.self, file, seed, options.out_dir, options.keep_worlds,
                scenario.timeout + kChildGrace + (aws.accounts.empty() ? 0s : kCleanupGrace),
                aws.accounts.empty() ? interrupted : g_interrupted, link_args, aws);
            const fs::path base = ResultBase(options.out_dir, scenario.id);
            std::optional<ScenarioResult> result;
            if (auto text = sim::ReadFile(WithSuffix(base, ".result.json")); text) {
                result = ResultFromJson(*text);
            }
            if (!result || !status) {
                // The child died or was killed before it wrote a result.
                ScenarioResult lost;
                lost.id = scenario.id;
                lost.file = scenario.file;
                lost.seed = seed;
                lost.outcome = Outcome::kError;
                lost.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
                    SteadyClock::now() - child_started);
                auto log = sim::ReadFile(WithSuffix(base, ".log"));
                lost.failure = StepFailure{
                    "runner", 0,
                    status ? "the scenario's process ended (status " + std::to_string(*status) +
                                 ") without a result; its output: " +
                                 WithSuffix(base, ".log").string()
                           : "killed after " +
                                 std::to_string((scenario.timeout + kChildGrace).count() / 1000) +
                                 " s (the scenario's timeout plus a grace)"};
                if (log && !log->empty()) {
                    lost.timeline.push_back(TimelineEntry{{}, "runner", EntryKind::kNote,
                                                          log->substr(0, 2000)});
                }
                WriteResult(lost, options.out_dir);
                result = std::move(lost);
            } else {
                result->timeline_file = WithSuffix(base, ".timeline.txt");
            }
            std::lock_guard<std::mutex> lock(mutex);
            print(ResultLine(*result));
            ++progress.done;
            progress.failed += result->outcome == Outcome::kPass ? 0 : 1;
            progress.elapsed =
                std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
            if (options.on_progress) {
                options.on_progress(progress);
            }
            results[index] = std::move(*result);
        }
    };
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < std::min<std::size_t>(jobs, scenarios->size()); ++i) {
        threads.emplace_back(worker);
    }
    for (auto& thread : threads) {
        thread.join();
    }
    summary.results = std::move(results);
    summary.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    const bool all_passed = std::all_of(
        summary.results.begin(), summary.results.end(), [](const ScenarioResult& r) {
            return r.outcome == Outcome::kPass || r.outcome == Outcome::kSkip;
        });
    summary.exit_code = all_passed ? 0 : 1;
    if (!options.junit.empty()) {
        if (auto s = sim::WriteFileAtomically(options.junit,
                                              JUnitXml(summary.results, summary.elapsed));
            !s) {
            print("elsim run: --junit: " + s.error().message);
        }
    }
    if (!options.html.empty()) {
        WriteHtmlReport(options.html, summary, print);
    }
    print(SummaryLine(summary.results, summary.elapsed, summary.seed));
    for (const auto& result : summary.results) {
        if (result.outcome != Outcome::kPass && result.outcome != Outcome::kSkip) {
            print("  " + result.id + ": timeline " + result.timeline_file.string() +
                  (result.kept_world.empty() ? "" : ", world " + result.kept_world.string()));
        }
    }
    if (!options.compare_with.empty()) {
        std::vector<std::string> ids;
        for (const auto& result : summary.results) {
            ids.push_back(result.id);
        }
        const auto lines = CompareResults(options.compare_with, options.out_dir, ids);
        for (const auto& line : lines) {
            print(line);
        }
        print("compared with " + options.compare_with.string() + ": " +
              std::to_string(lines.size()) + " difference(s)");
    }
    if (!options.junit.empty()) {
        print("JUnit: " + options.junit.string());
    }
    if (!options.html.empty()) {
        print("HTML report: " + (options.html / "index.html").string());
    }
    return summary;
}

std::vector<std::string> CompareResults(const fs::path& offline_out, const fs::path& aws_out,
                                        const std::vector<std::string>& ids) {
    std::vector<std::string> lines;
    for (const auto& id : ids) {
        auto offline = sim::ReadFile(WithSuffix(ResultBase(offline_out, id), ".result.json"));
        auto real = sim::ReadFile(WithSuffix(ResultBase(aws_out, id), ".result.json"));
        if (!offline) {
            lines.push_back("DIFF " + id + ": not in the offline results (" +
                            offline_out.string() + ")");
            continue;
        }
        if (!real) {
            continue;
        }
        const json a = json::parse(*offline, nullptr, false);
        const json b = json::parse(*real, nullptr, false);
        if (b.value("outcome", "") == "SKIP") {
            continue;
        }
        for (const auto& d : aws::CompareRuns(a, b)) {
            lines.push_back("DIFF " + id + ": step '" + d.step + "': offline " + d.offline +
                            "; aws " + d.aws);
        }
    }
    return lines;
}

int RunOneScenario(const ScenarioFile& file, std::uint64_t seed, const fs::path& out_dir,
                   bool keep_world, const SessionOptions& links,
                   const AwsChildOptions& aws) {
    auto loaded = LoadScenarios({file});
    if (!loaded) {
        for (const auto& line : loaded.error()) {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        return 2;
    }
    const Scenario& scenario = loaded->front();
    const fs::path base = ResultBase(out_dir, scenario.id);
    const fs::path world_dir = WithSuffix(base, ".world");
    std::error_code ec;
    fs::remove_all(world_dir, ec);
    fs::create_directories(world_dir, ec);

    // The watchdog: at the scenario's timeout, write what is known and end the process (the
    // world's brokers die with it).
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::vector<TimelineEntry> so_far;
    std::string current_step = "set-up";
    SessionOptions session;
    session.world_dir = world_dir;
    session.seed = seed;
    session.links = links.links;
    session.module_cas = links.module_cas;
    session.module_hosts = links.module_hosts;
    if (!aws.accounts.empty()) {
        auto text = sim::ReadFile(aws.accounts);
        auto accounts = text ? aws::ParseAccountsFile(*text, aws.accounts)
                             : sim::Result<aws::AccountsFile>(sim::Unexpected<sim::Error>(text.error()));
        if (!accounts) {
            std::fprintf(stderr, "%s\n", accounts.error().message.c_str());
            return 2;
        }
        session.aws_accounts = std::move(*accounts);
        session.run_prefix = aws.run_prefix;
        session.ledger = WithSuffix(base, ".aws-ledger.jsonl");
        session.keep_resources = aws.keep_resources;
        session.interrupted = &g_interrupted;
        CatchInterrupts();
    }
    session.on_entry = [&](const TimelineEntry& entry) {
        std::lock_guard<std::mutex> lock(mutex);
        so_far.push_back(entry);
    };
    session.on_step = [&](const std::string& step) {
        std::lock_guard<std::mutex> lock(mutex);
        current_step = step;
    };
    std::thread watchdog([&] {
        std::unique_lock<std::mutex> lock(mutex);
        if (done_cv.wait_for(lock, scenario.timeout, [&] { return done; })) {
            return;
        }
        if (!aws.accounts.empty()) {
            // Against real AWS: stop between steps and clean up before the process ends.
            g_interrupted.store(true);
            if (done_cv.wait_for(lock, kCleanupGrace, [&] { return done; })) {
                return;
            }
        }
        ScenarioResult late;
        late.id = scenario.id;
        late.file = scenario.file;
        late.seed = seed;
        late.outcome = Outcome::kError;
        late.duration = scenario.timeout;
        late.failure = StepFailure{current_step, 0,
                                   "the scenario's timeout (" +
                                       std::to_string(scenario.timeout.count() / 1000) +
                                       " s) passed during this step"};
        late.timeline = so_far;
        late.kept_world = world_dir;
        WriteResult(late, out_dir);
        std::_Exit(1);
    });
    ScenarioResult result = PlayScenario(scenario, session);
    {
        std::lock_guard<std::mutex> lock(mutex);
        done = true;
    }
    done_cv.notify_all();
    watchdog.join();
    if (result.outcome == Outcome::kPass && !keep_world) {
        fs::remove_all(world_dir, ec);
    } else {
        result.kept_world = world_dir;
    }
    WriteResult(result, out_dir);
    return result.outcome == Outcome::kPass ? 0 : 1;
}

}  // namespace sim::scenario
