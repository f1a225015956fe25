// SPDX-License-Identifier: Apache-2.0
#pragma once
// `elsim run` (adapter): finds scenario files, checks them all before anything starts, then
// plays each in a child process of its own (`elsim run --one`), several at once, each in a
// fresh world. A child that outlives its scenario's timeout is killed (its brokers die with
// it: they carry PR_SET_PDEATHSIG; its address lease is an flock that dies with it too).
//
// Output directory layout (--out, default "elsim-results"):
//   <folder>/<name>.timeline.txt   the text timeline of every scenario
//   <folder>/<name>.result.json    the child's result (outcome, failure, timeline)
//   <folder>/<name>.log            what the child printed (empty unless something went wrong)
//   <folder>/<name>.world/         the world of a failed scenario: broker logs, world.json, PKI
//   junit.xml                      with --junit (or where --junit says)
// With --html DIR, the HTML report (html_report.hpp) goes to DIR.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/scenario/model.hpp"
#include "sim/scenario/parse.hpp"
#include "sim/scenario/progress.hpp"
#include "sim/scenario/report.hpp"
#include "sim/scenario/session.hpp"

namespace sim::scenario {

/// One scenario file found under the paths given.
struct ScenarioFile {
    std::filesystem::path file;
    std::string id;  ///< "<folder>/<name>": the file's folder and its name without ".yaml".
};

/// Scenario files under `paths` (files, or folders searched recursively for *.yaml, skipping
/// `worlds/` and `schema/`), sorted by id. Errors: kNotFound naming a path that does not exist;
/// kInvalidArgument for two files with the same id.
sim::Result<std::vector<ScenarioFile>> FindScenarios(const std::vector<std::filesystem::path>& paths);

/// Parses every file; returns the scenarios, or every diagnostic of every file.
sim::Result<std::vector<Scenario>, Diagnostics> LoadScenarios(const std::vector<ScenarioFile>& files);

struct RunOptions {
    std::vector<std::filesystem::path> paths;
    unsigned jobs = 0;                     ///< 0: DefaultJobs().
    std::vector<std::string> filters;      ///< Keep ids containing any of these (none: all).
    std::optional<std::uint64_t> seed;     ///< Unset: a fresh random seed, printed.
    std::filesystem::path out_dir = "elsim-results";
    std::filesystem::path junit;           ///< Empty: no JUnit file.
    std::filesystem::path html;            ///< Empty: no HTML report.
    bool keep_worlds = false;              ///< Keep the world of passed scenarios too.
    std::filesystem::path self;            ///< The elsim executable (children run it).
    /// Called after each scenario ends (serialised with `print`), e.g. for a progress line.
    std::function<void(const Progress&)> on_progress;
    /// `--modules`: module actors played by linked modules. A linked module serves one
    /// scenario at a time, so the scenarios then run one after another.
    std::vector<LinkSpec> links;
    std::filesystem::path module_cas;    ///< SessionOptions::module_cas.
    std::filesystem::path module_hosts;  ///< SessionOptions::module_hosts.

    /// `--target aws --accounts FILE`: play against the real accounts of FILE
    /// (aws_target.hpp), one scenario at a time; `requires: sim` scenarios are skipped.
    std::filesystem::path aws_accounts;
    std::string run_prefix;           ///< Empty: a fresh one (RunPrefix), printed.
    bool keep_resources = false;      ///< --keep: leave what the scenarios created.
    /// --compare-with DIR: the --out of an offline run; steps whose observations differ are
    /// listed at the end.
    std::filesystem::path compare_with;
};

struct RunSummary {
    std::vector<ScenarioResult> results;
    std::chrono::milliseconds elapsed{0};
    std::uint64_t seed = 0;
    int exit_code = 0;  ///< 0 all passed, 1 any failed, 2 unusable input.
};

/// Runs the scenarios; `print` gets one line at a time (serialised).
RunSummary RunScenarios(const RunOptions& options,
                        const std::function<void(const std::string&)>& print);

/// Scenarios at once when -j is not given: four per core (a scenario mostly waits).
unsigned DefaultJobs();

/// The seed a scenario plays with: derived from the run's seed and the scenario's id, so a
/// scenario replays alone with the same run seed.
std::uint64_t ScenarioSeed(std::uint64_t run_seed, const std::string& id);

/// What a child playing against real AWS is given.
struct AwsChildOptions {
    std::filesystem::path accounts;  ///< Empty: the local world.
    std::string run_prefix;
    bool keep_resources = false;
};

/// The child: plays one scenario and writes its result and timeline under `out_dir`.
/// Returns the exit code (0 pass, 1 fail/error, 2 the file does not parse). `links` gives
/// the linked modules (SessionOptions::links, module_cas, module_hosts; the rest is unused).
/// Against AWS, SIGINT and SIGTERM (and the scenario's timeout) stop it between steps and it
/// cleans up first.
int RunOneScenario(const ScenarioFile& file, std::uint64_t seed,
                   const std::filesystem::path& out_dir, bool keep_world,
                   const SessionOptions& links = {}, const AwsChildOptions& aws = {});

/// The differences between the results under `aws_out` and `offline_out` for `ids`, one line
/// each ("DIFF claim/x: step 'publish': offline pass: ...; aws fail: ..."). Scenarios missing
/// from the offline run get one line saying so.
std::vector<std::string> CompareResults(const std::filesystem::path& offline_out,
                                        const std::filesystem::path& aws_out,
                                        const std::vector<std::string>& ids);

}  // namespace sim::scenario
