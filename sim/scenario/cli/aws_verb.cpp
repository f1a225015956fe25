// SPDX-License-Identifier: Apache-2.0
// `elsim aws cleanup`: deletes what a run against real AWS (`elsim run --target aws`) left in
// the accounts of accounts.yaml, found by its run prefix, after the ownership check of every
// resource (sim/scenario/src/aws_run.hpp).
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/scenario/aws_cleanup.hpp"
#include "sim/scenario/aws_target.hpp"
#include "verbs.hpp"

namespace elsim {

namespace {

struct CleanupArgs {
    std::string accounts;
    std::string prefix;
    std::string ledgers = "elsim-results";
    bool dry_run = false;
};

int Cleanup(const CleanupArgs& args) {
    auto text = sim::ReadFile(args.accounts);
    if (!text) {
        (void)std::fprintf(stderr, "elsim aws cleanup: --accounts: %s\n",
                           text.error().message.c_str());
        return kExitBadInput;
    }
    auto accounts = sim::scenario::aws::ParseAccountsFile(*text, args.accounts);
    if (!accounts) {
        (void)std::fprintf(stderr, "elsim aws cleanup: %s\n", accounts.error().message.c_str());
        return kExitBadInput;
    }
    auto failed = sim::scenario::CleanupPrefix(
        *accounts, args.prefix, args.ledgers, args.dry_run, [](const std::string& line) {
            (void)std::printf("%s\n", line.c_str());
            (void)std::fflush(stdout);
        });
    if (!failed) {
        (void)std::fprintf(stderr, "elsim aws cleanup: %s\n", failed.error().message.c_str());
        return kExitBadInput;
    }
    if (*failed > 0) {
        (void)std::printf("%d resource(s) not deleted (see above)\n", *failed);
        return kExitFailed;
    }
    return kExitOk;
}

}  // namespace

void AddAwsVerb(CLI::App& app, VerbContext& context) {
    auto* aws = app.add_subcommand(
        "aws", "Real AWS accounts used by `elsim run --target aws`: clean up what a run left");
    aws->require_subcommand(1);
    auto args = std::make_shared<CleanupArgs>();
    auto* cleanup = aws->add_subcommand(
        "cleanup",
        "Delete what a run with --prefix created in the accounts of --accounts: things with "
        "the attribute elsim-run=PREFIX, policies and templates named PREFIX-... and tagged "
        "elsim-run=PREFIX, and the certificates and CAs the run's ledgers name; each is "
        "checked before it is deleted, nothing else is touched. Exit 0 when all is gone, 1 "
        "when something is left");
    cleanup->add_option("--accounts", args->accounts, "accounts.yaml, as given to elsim run")
        ->required();
    cleanup->add_option("--prefix", args->prefix,
                        "The run prefix elsim run printed (elsim-xxxxxx)")
        ->required();
    cleanup->add_option("--ledgers", args->ledgers,
                        "The --out folder of that run: its *.aws-ledger.jsonl files name the "
                        "certificates and CAs it created (default: elsim-results)");
    cleanup->add_flag("--dry-run", args->dry_run,
                      "Only print what would be deleted (reads the accounts, changes nothing)");
    cleanup->callback([args, &context] { context.exit_code = Cleanup(*args); });
}

}  // namespace elsim
