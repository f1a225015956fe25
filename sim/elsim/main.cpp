// SPDX-License-Identifier: Apache-2.0
// elsim: an offline world for AWS IoT ExpressLink onboarding. One executable, one verb per job.
#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "verbs.hpp"

namespace {

// A caller may start us with stdin, stdout or stderr closed (`elsim onboard <&-`, some CI
// runners). The next file or pipe we open would then take that number: a broker's stderr pipe
// became fd 0 and the child's "close stdin" closed it ("cannot start mosquitto: Bad file
// descriptor"), and a log line could land in a database file. Each closed one is reopened on
// /dev/null before anything else is opened.
void KeepStandardDescriptorsOpen() {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            // open() returns the lowest free number, which is this one.
            (void)::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);  // NOLINT
        }
    }
}

// The verb (or sub-verb) of `app` called `name`, or null.
const CLI::App* FindVerb(const CLI::App& app, const std::string& name) {
    for (const auto* verb : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (verb->check_name(name)) {
            return verb;
        }
    }
    return nullptr;
}

// The verbs of the deepest command named on the command line, comma-separated.
std::string VerbList(const CLI::App& app, int argc = 0, char** argv = nullptr) {
    const CLI::App* current = &app;
    for (int i = 1; i < argc; ++i) {
        const auto* next = FindVerb(*current, argv[i]);
        if (next == nullptr) {
            break;
        }
        current = next;
    }
    std::string list;
    for (const auto* verb : current->get_subcommands([](const CLI::App*) { return true; })) {
        list += (list.empty() ? "" : ", ") + verb->get_name();
    }
    return list;
}

}  // namespace

int main(int argc, char** argv) {
    KeepStandardDescriptorsOpen();
    elsim::VerbContext context;
    CLI::App app{
        "elsim: an offline world for AWS IoT ExpressLink onboarding.\n"
        "Staging and OEM accounts on local mosquitto brokers, software ExpressLink modules,\n"
        "a certificate factory and a scenario runner. Run `elsim VERB --help` for each verb."};
    app.footer(
        "Exit status (every verb):\n"
        "  0  success\n"
        "  1  the thing checked failed (a module, a scenario, a claim refused)\n"
        "  2  bad input or usage (a missing file, bad YAML, an unknown option or verb)\n"
        "  3  the environment is unusable (an address in use, mosquitto missing)");
    app.set_version_flag("--version", std::string("elsim ") + ELSIM_VERSION);
    app.require_subcommand(1);
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "Log level: error, warn, info, debug")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->capture_default_str();
    app.parse_complete_callback([&] { sim::SetLogLevel(log_level); });
    // One line per refusal, naming the option (CLI11's default adds a second "Run with" line).
    app.failure_message([](const CLI::App* /*app*/, const CLI::Error& e) {
        return std::string("elsim: ") + e.what() + " (see --help)\n";
    });

    elsim::AddPkiVerb(app, context);
    elsim::AddModuleVerb(app, context);
    elsim::AddAccountVerb(app, context);
    elsim::AddWorldVerb(app, context);
    elsim::AddClaimVerb(app, context);
    elsim::AddStagingVerb(app, context);
    elsim::AddBenchVerb(app, context);
    elsim::AddOnboardVerb(app, context);
    elsim::AddRunVerb(app, context);
    elsim::AddScenarioVerb(app, context);
    elsim::AddDeviceVerb(app, context);
    elsim::AddAwsVerb(app, context);

    // `--version` at every depth (`elsim device provision --version`).
    std::vector<CLI::App*> pending = app.get_subcommands([](CLI::App*) { return true; });
    while (!pending.empty()) {
        CLI::App* verb = pending.back();
        pending.pop_back();
        verb->set_version_flag("--version", std::string("elsim ") + ELSIM_VERSION);
        for (auto* sub : verb->get_subcommands([](CLI::App*) { return true; })) {
            pending.push_back(sub);
        }
    }

    // An unknown word where a verb or sub-verb must come is one the user expected; CLI11 would
    // only say that a subcommand is required.
    {
        const CLI::App* current = &app;
        std::string path = "elsim";
        for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
            if (current->get_require_subcommand_min() == 0) {
                break;  // this command takes arguments, not sub-verbs
            }
            const std::string word = argv[i];
            const CLI::App* next = FindVerb(*current, word);
            if (next == nullptr) {
                (void)std::fprintf(stderr, "%s: unknown %s '%s'; the %s are: %s\n", path.c_str(),
                                   i == 1 ? "verb" : "sub-verb", word.c_str(),
                                   i == 1 ? "verbs" : "sub-verbs", VerbList(*current).c_str());
                return elsim::kExitBadInput;
            }
            path += " " + word;
            current = next;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::RequiredError& e) {
        // `elsim` alone or `elsim world` alone: name what can follow.
        const std::string what = e.what();
        if (what.find("subcommand") != std::string::npos) {
            (void)std::fprintf(stderr, "elsim: %s: one of %s (see --help)\n", what.c_str(),
                               VerbList(app, argc, argv).c_str());
            return elsim::kExitBadInput;
        }
        app.exit(e);
        return elsim::kExitBadInput;
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return elsim::kExitBadInput;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "elsim: %s\n", e.what());
        return elsim::kExitFailed;
    }
    return context.exit_code;
}
