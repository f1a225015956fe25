// SPDX-License-Identifier: Apache-2.0
// `elsim world up|down|status|identities`: see sim/world/include/sim/world/world.hpp for the
// lifecycle.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "verbs.hpp"
#include <CLI/CLI.hpp>
#include <unistd.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/world/mosquitto_process.hpp"
#include "sim/world/world.hpp"
#include "sim/world/world_trust.hpp"

namespace elsim {

void AddWorldClockVerb(CLI::App& world, VerbContext& context);  // world_clock_verb.cpp

namespace {

namespace fs = std::filesystem;

// Bad input (the world file, the directory, a world already running there) is 2; what the
// machine cannot give (mosquitto or the plugin missing, an address in use, no free address
// block, files that cannot be written) is 3; anything else failed while running (1). For `up`,
// kNotFound is a missing program (the world file is checked by the option itself); for the
// other verbs it is a directory without a world.
int ExitCodeFor(const sim::Error& error, bool not_found_is_environment = false) {
    switch (error.code) {
        case sim::ErrorCode::kInvalidArgument:
        case sim::ErrorCode::kFailedPrecondition:
            return kExitBadInput;
        case sim::ErrorCode::kNotFound:
            return not_found_is_environment ? kExitEnvironment : kExitBadInput;
        case sim::ErrorCode::kUnavailable:
        case sim::ErrorCode::kResourceExhausted:
        case sim::ErrorCode::kIo:
            return kExitEnvironment;
        default:
            return kExitFailed;
    }
}

struct WorldArgs {
    std::string config;
    std::string directory;
    std::string mosquitto;
    std::string plugin;
    bool explain = false;
    bool foreground = false;
    std::string clock;
    std::uint64_t seed = 0;
    bool seed_given = false;
    std::string signing_secret_file;
};

struct IdentitiesArgs {
    std::string world;
    std::string manufacturer;
    std::size_t count = 0;
    std::string out;
    bool force = false;
};

const sim::world::AccountState* FirstOem(const sim::world::WorldState& state) {
    for (const auto& account : state.accounts) {
        if (account.kind == sim::world::AccountKind::kOem && !account.control_plane_url.empty()) {
            return &account;
        }
    }
    return nullptr;
}

// The accounts table of `up` and `status` (with a health column for `status`), then the AWS
// CLI line for the first OEM account.
void PrintAccounts(const sim::world::WorldState& state, const std::vector<std::string>& health) {
    std::size_t name_width = 7;
    std::size_t endpoint_width = 13;
    std::size_t url_width = 13;
    for (const auto& a : state.accounts) {
        name_width = std::max(name_width, a.name.size());
        endpoint_width = std::max(endpoint_width, a.endpoint.size());
        url_width = std::max(url_width, a.control_plane_url.size());
    }
    const auto row = [&](const std::string& name, const std::string& kind, const std::string& id,
                         const std::string& endpoint, const std::string& address,
                         const std::string& url, const std::string& region,
                         const std::string& state_text) {
        std::string line;
        const auto cell = [&line](const std::string& text, std::size_t width) {
            line += text;
            line += std::string(width > text.size() ? width - text.size() : 0, ' ');
            line += "  ";
        };
        cell(name, name_width);
        cell(kind, 7);
        cell(id, 12);
        cell(endpoint, endpoint_width);
        cell(address, 21);
        cell(url, url_width);
        line += region;
        if (!state_text.empty()) {
            line += std::string(region.size() < 9 ? 9 - region.size() : 0, ' ') + "  " + state_text;
        }
        (void)std::printf("%s\n", line.c_str());
    };
    row("ACCOUNT", "KIND", "ACCOUNT ID", "MQTT ENDPOINT", "ADDRESS:PORT", "CONTROL PLANE", "REGION",
        health.empty() ? "" : "HEALTH");
    for (std::size_t i = 0; i < state.accounts.size(); ++i) {
        const auto& a = state.accounts[i];
        row(a.name, sim::world::ToString(a.kind), a.account_id, a.endpoint,
            a.address + ":" + std::to_string(a.mqtt_port),
            a.control_plane_url.empty() ? "-" : a.control_plane_url, state.region,
            i < health.size() ? health[i] : "");
    }
    if (const auto* oem = FirstOem(state)) {
        // The control plane takes the access key id as the account id; the secret is not
        // checked unless the account is served with signature verification.
        (void)std::printf(
            "\nAWS CLI for %s:\n  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=x AWS_PAGER= aws iot "
            "list-things --endpoint-url %s --region %s\n",
            oem->name.c_str(), oem->account_id.c_str(), oem->control_plane_url.c_str(),
            state.region.c_str());
    }
}

// `elsim world identities`: module birth identities signed by one of the world's manufacturer
// CAs (OUT/modules/<ThingName>/) and a claim-thing certificate signed by the world's issuing CA
// (OUT/claim/), so that the world's accounts trust both.
int MakeIdentities(const IdentitiesArgs& args) {
    auto state = sim::world::ReadWorld(args.world);
    if (!state) {
        (void)std::fprintf(stderr, "elsim world identities: --world %s\n",
                           state.error().message.c_str());
        return kExitBadInput;
    }
    const sim::world::ManufacturerState* maker = nullptr;
    std::string names;
    for (const auto& m : state->manufacturers) {
        names += (names.empty() ? "" : ", ") + m.name;
        if (args.manufacturer.empty() ? maker == nullptr : m.name == args.manufacturer) {
            maker = &m;
        }
    }
    if (maker == nullptr) {
        (void)std::fprintf(stderr,
                           "elsim world identities: --manufacturer %s: not in %s/world.json "
                           "(it has: %s)\n",
                           args.manufacturer.empty() ? "(first)" : args.manufacturer.c_str(),
                           args.world.c_str(), names.empty() ? "none" : names.c_str());
        return kExitBadInput;
    }
    auto maker_ca = pki::LoadCaFiles(maker->ca_certificate_file, maker->ca_key_file);
    if (!maker_ca) {
        (void)std::fprintf(stderr, "elsim world identities: %s\n",
                           maker_ca.error().message.c_str());
        return kExitEnvironment;
    }
    const fs::path pki_dir = fs::path(state->directory) / "pki";
    auto issuing = pki::LoadCaFiles(pki_dir / "issuing-ca.pem", pki_dir / "issuing-ca.key");
    if (!issuing) {
        (void)std::fprintf(stderr, "elsim world identities: %s\n", issuing.error().message.c_str());
        return kExitEnvironment;
    }
    auto out = pki::StagedDirectory::Begin(args.out, args.force);
    if (!out) {
        (void)std::fprintf(stderr, "elsim world identities: %s\n", out.error().message.c_str());
        return kExitBadInput;
    }
    const auto now = sim::SystemClock().Now();
    pki::ModulesOptions options;
    options.count = args.count;
    auto records = pki::WriteModules(*maker_ca, options, now, *out, "modules");
    if (!records) {
        (void)std::fprintf(stderr, "elsim world identities: %s\n", records.error().message.c_str());
        return kExitFailed;
    }
    auto claim = pki::WriteClaim(*issuing, now, *out, "claim");
    if (!claim) {
        (void)std::fprintf(stderr, "elsim world identities: %s\n", claim.error().message.c_str());
        return kExitFailed;
    }
    if (auto committed = out->Commit(); !committed) {
        (void)std::fprintf(stderr, "elsim world identities: %s\n",
                           committed.error().message.c_str());
        return kExitEnvironment;
    }
    const fs::path dir = args.out;
    (void)std::printf("modules of %s (signed by %s):\n", maker->name.c_str(),
                      maker->ca_certificate_file.c_str());
    for (const auto& r : *records) {
        (void)std::printf("  %s\n", (dir / "modules" / r.thing_name).string().c_str());
    }
    (void)std::printf("claim-thing certificate %s (signed by the world's issuing CA): %s\n",
                      claim->certificate.certificate_id.c_str(), (dir / "claim").string().c_str());
    return kExitOk;
}

}  // namespace

void AddWorldVerb(CLI::App& app, VerbContext& context) {
    auto* world = app.add_subcommand("world", "Start, inspect and stop a world of accounts");
    world->require_subcommand(1);
    auto args = std::make_shared<WorldArgs>();
    args->config = sim::world::BundledWorldFile().string();

    auto* up = world->add_subcommand(
        "up",
        "Validate a world file, start one broker per account, write DIR/world.json and print "
        "the accounts");
    up->add_option("--config", args->config,
                   "The world file (YAML); default: the bundled default world")
        ->check(CLI::ExistingFile)
        ->capture_default_str();
    up->add_option("--dir", args->directory, "The world directory")->required();
    up->add_option("--mosquitto", args->mosquitto, "mosquitto executable (default: PATH)");
    up->add_option("--plugin", args->plugin,
                   "Broker plugin .so, or 'none' for bare brokers (default: the built plugin)");
    up->add_flag("--explain", args->explain, "Log the reason of every refusal in broker logs");
    up->add_flag("--foreground", args->foreground,
                 "Run the supervisor here and block until SIGTERM/SIGINT");
    up->add_option("--clock", args->clock,
                   "The world clock: wall (the system clock), virtual (the system clock plus "
                   "what `elsim world clock advance` added) or frozen (moves only when advanced); "
                   "default: the world file's `clock:`, else wall")
        ->check(CLI::IsMember({"wall", "virtual", "frozen"}));
    up->add_option("--seed", args->seed,
                   "Seed of the accounts' random sources (ids, tokens), so that a run replays; "
                   "default: drawn from the OS and logged in supervisor.log")
        ->each([args](const std::string&) { args->seed_given = true; });
    up->add_option("--signing-secret-file", args->signing_secret_file,
                   "OEM accounts verify the SigV4 signature of every control-plane request, as "
                   "AWS does: the file's first line is their secret access key (the access key "
                   "id is the account id); unsigned or badly signed requests get 403")
        ->check(CLI::ExistingFile);
    up->callback([args, &context] {
        sim::world::UpOptions options;
        options.config_file = args->config;
        options.directory = args->directory;
        options.mosquitto = args->mosquitto;
        options.plugin = args->plugin;
        options.explain = args->explain;
        if (!args->clock.empty()) {
            options.clock = sim::ParseClockMode(args->clock).value();
        }
        if (args->seed_given) {
            options.seed = args->seed;
        }
        if (!args->signing_secret_file.empty()) {
            auto secret = sim::ReadFile(args->signing_secret_file);
            std::string line = secret ? secret->substr(0, secret->find('\n')) : std::string();
            if (line.empty() || line.find_first_of(" \t\r") != std::string::npos) {
                (void)std::fprintf(stderr,
                                   "elsim world up: --signing-secret-file: the first line must "
                                   "be one word (the secret access key)\n");
                context.exit_code = kExitBadInput;
                return;
            }
            options.signing_secret = line;
        }
        const auto status = args->foreground ? sim::world::WorldRunForeground(options)
                                             : sim::world::WorldUp(options);
        if (!status) {
            (void)std::fprintf(stderr, "elsim world up: %s\n", status.error().message.c_str());
            context.exit_code = ExitCodeFor(status.error(), /*not_found_is_environment=*/true);
            return;
        }
        if (!args->foreground) {
            if (auto state = sim::world::ReadWorld(args->directory)) {
                (void)std::printf("world up in %s (world.json, broker logs under accounts/)\n\n",
                                  args->directory.c_str());
                PrintAccounts(*state, {});
            }
        }
        context.exit_code = kExitOk;
    });

    auto* down = world->add_subcommand("down", "Stop the world running in DIR");
    down->add_option("--dir", args->directory, "The world directory")->required();
    down->callback([args, &context] {
        auto state = sim::world::ReadWorld(args->directory);
        const auto status = sim::world::WorldDown(args->directory);
        if (!status) {
            (void)std::fprintf(stderr, "elsim world down: %s\n", status.error().message.c_str());
            context.exit_code = ExitCodeFor(status.error());
            return;
        }
        if (state) {
            std::string names;
            for (const auto& a : state->accounts) {
                names += (names.empty() ? "" : ", ") + a.name + " (" + a.address + ")";
            }
            (void)std::printf("stopped the world in %s: supervisor pid %d and %zu brokers: %s\n",
                              args->directory.c_str(), state->supervisor_pid,
                              state->accounts.size(), names.c_str());
        } else {
            (void)std::printf("stopped the world in %s\n", args->directory.c_str());
        }
        context.exit_code = kExitOk;
    });

    auto* status = world->add_subcommand(
        "status", "Show the accounts of the world in DIR and whether each one answers");
    status->add_option("--dir", args->directory, "The world directory")->required();
    status->callback([args, &context] {
        auto state = sim::world::ReadWorld(args->directory);
        if (!state) {
            (void)std::fprintf(stderr, "elsim world status: %s\n", state.error().message.c_str());
            context.exit_code = ExitCodeFor(state.error());
            return;
        }
        const bool supervisor = sim::world::ProcessAlive(state->supervisor_pid);
        bool all_up = supervisor;
        (void)std::printf("world in %s: supervisor pid=%d %s\n\n", args->directory.c_str(),
                          state->supervisor_pid, supervisor ? "running" : "stopped");
        std::vector<std::string> health;
        for (const auto& account : state->accounts) {
            const bool mqtt = sim::world::PortAcceptsConnections(account.address, account.mqtt_port,
                                                                 std::chrono::milliseconds{200});
            std::string text = mqtt ? "mqtt up" : "mqtt down";
            bool control_plane = true;
            // "http://ADDRESS:PORT": probe the port too.
            if (const auto colon = account.control_plane_url.rfind(':');
                !account.control_plane_url.empty() && colon != std::string::npos) {
                const int port = std::atoi(account.control_plane_url.c_str() + colon + 1);
                control_plane = port > 0 && sim::world::PortAcceptsConnections(
                                                account.address, static_cast<std::uint16_t>(port),
                                                std::chrono::milliseconds{200});
                text += control_plane ? ", control plane up" : ", control plane down";
            }
            all_up = all_up && mqtt && control_plane;
            health.push_back(text);
        }
        PrintAccounts(*state, health);
        // Brokers the supervisor saw exit (and what it did about it), oldest first.
        if (auto exits = sim::world::ReadBrokerExits(args->directory); !exits) {
            (void)std::printf("\nbroker exits: %s\n", exits.error().message.c_str());
        } else if (!exits->empty()) {
            (void)std::printf("\nbroker exits:\n");
            for (const auto& exit : *exits) {
                (void)std::printf("  %s %s (pid %d)\n", exit.when.c_str(),
                                  sim::world::Describe(exit).c_str(), exit.pid);
                std::string tail = exit.log_tail;
                for (std::size_t start = 0; start < tail.size();) {
                    const std::size_t end = std::min(tail.find('\n', start), tail.size());
                    (void)std::printf("    | %s\n", tail.substr(start, end - start).c_str());
                    start = end + 1;
                }
            }
        }
        context.exit_code = all_up ? kExitOk : kExitFailed;
    });

    auto* hosts = world->add_subcommand(
        "hosts",
        "Print /etc/hosts lines for the world's endpoint names (for clients that connect by name "
        "and must send SNI; elsim never edits system files)");
    hosts->add_option("--dir", args->directory, "The world directory")->required();
    hosts->callback([args, &context] {
        auto state = sim::world::ReadWorld(args->directory);
        if (!state) {
            (void)std::fprintf(stderr, "elsim world hosts: %s\n", state.error().message.c_str());
            context.exit_code = ExitCodeFor(state.error());
            return;
        }
        (void)std::printf("# the world in %s: add these lines to /etc/hosts yourself if a client "
                          "must reach an endpoint by name\n",
                          args->directory.c_str());
        for (const auto& account : state->accounts) {
            (void)std::printf("%s\t%s\t# %s\n", account.address.c_str(),
                              account.endpoint.c_str(), account.name.c_str());
        }
        context.exit_code = kExitOk;
    });

    auto id_args = std::make_shared<IdentitiesArgs>();
    auto* identities = world->add_subcommand(
        "identities",
        "Make identities the world trusts: module birth identities signed by a manufacturer CA "
        "of the world (OUT/modules/<ThingName>/{cert.pem,key.pem,chain.pem}) and a claim-thing "
        "certificate signed by the world's issuing CA, the emulated AWS IoT CA "
        "(OUT/claim/{cert.pem,private.key})");
    identities->add_option("--world", id_args->world, "A running world's directory")->required();
    identities->add_option("--manufacturer", id_args->manufacturer,
                           "Manufacturer whose CA signs the modules (default: the first one)");
    identities->add_option("--count", id_args->count, "Number of modules")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
        ->default_val(3)
        ->capture_default_str();
    identities
        ->add_option("--dir", id_args->out,
                     "Output directory (created; must not exist unless --force)")
        ->required();
    identities->add_flag("--force", id_args->force, "Replace the output directory if it exists");
    identities->callback([id_args, &context] { context.exit_code = MakeIdentities(*id_args); });

    AddWorldClockVerb(*world, context);
}

}  // namespace elsim
