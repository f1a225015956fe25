// SPDX-License-Identifier: Apache-2.0
// `elsim module`: run software ExpressLink modules on a pty, TCP port or stdio (or in-process
// only, for load), each with a birth identity from `elsim pki modules`.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/module/fleet.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

extern "C" void OnStopSignal(int /*signal*/) { g_stop.store(true); }

struct ModuleVerbOptions {
    std::string identity;
    std::string identities;
    std::size_t count = 0;
    sim::module::FleetOptions fleet;
    bool pty = false;
    int tcp_port = -1;
    bool stdio = false;
    bool connect = false;
};

int Run(ModuleVerbOptions& o) {
    auto logger = sim::Logger("module");
    std::vector<fs::path> dirs;
    if (!o.identity.empty()) {
        dirs.emplace_back(o.identity);
    } else {
        auto listed = sim::module::ListIdentities(o.identities);
        if (!listed) {
            std::fprintf(stderr, "elsim module: --identities %s\n", listed.error().message.c_str());
            return kExitBadInput;
        }
        if (listed->size() < o.count) {
            std::fprintf(stderr, "elsim module: --identities %s holds %zu identities, --count is %zu\n",
                         o.identities.c_str(), listed->size(), o.count);
            return kExitBadInput;
        }
        dirs.assign(listed->begin(), listed->begin() + static_cast<std::ptrdiff_t>(o.count));
    }
    if (o.stdio && dirs.size() != 1) {
        std::fprintf(stderr, "elsim module: --stdio serves one module only\n");
        return kExitBadInput;
    }
    o.fleet.logger = logger;
    auto fleet = sim::module::Fleet::Start(o.fleet, dirs);
    if (!fleet) {
        std::fprintf(stderr, "elsim module: %s\n", fleet.error().message.c_str());
        return fleet.error().code == sim::ErrorCode::kInvalidArgument ||
                       fleet.error().code == sim::ErrorCode::kNotFound
                   ? kExitBadInput
                   : kExitFailed;
    }
    auto& modules = (*fleet)->modules();
    const bool single = modules.size() == 1;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const std::string thing = modules[i]->profile().thing_name;
        std::string where;
        if (o.pty) {
            auto path = (*fleet)->links().AttachPty(modules[i]);
            if (!path) {
                std::fprintf(stderr, "elsim module: %s: %s\n", thing.c_str(),
                             path.error().message.c_str());
                return kExitFailed;
            }
            where = *path;
        } else if (o.tcp_port >= 0) {
            const auto port = o.tcp_port == 0 ? 0 : o.tcp_port + static_cast<int>(i);
            auto bound = (*fleet)->links().AttachTcp(modules[i], o.fleet.tcp_host,
                                                     static_cast<std::uint16_t>(port));
            if (!bound) {
                std::fprintf(stderr, "elsim module: %s: %s\n", thing.c_str(),
                             bound.error().message.c_str());
                return kExitFailed;
            }
            where = o.fleet.tcp_host + ":" + std::to_string(*bound);
        } else if (o.stdio) {
            if (auto status = (*fleet)->links().AttachStdio(modules[i]); !status) {
                std::fprintf(stderr, "elsim module: %s\n", status.error().message.c_str());
                return kExitFailed;
            }
        }
        if (!where.empty()) {
            // One line per module; a single module prints just the path (scripts read it).
            std::printf("%s%s%s\n", single ? "" : thing.c_str(), single ? "" : " ", where.c_str());
        }
    }
    std::fflush(stdout);
    logger->info("running modules={} link={}", modules.size(),
                 o.pty ? "pty" : o.tcp_port >= 0 ? "tcp" : o.stdio ? "stdio" : "none");
    if (o.connect) {
        (*fleet)->ConnectAll();
    }
    std::signal(SIGINT, OnStopSignal);
    std::signal(SIGTERM, OnStopSignal);
    std::signal(SIGHUP, OnStopSignal);
    while (!g_stop.load() && !(o.stdio && (*fleet)->links().Closed())) {
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    logger->info("stopping modules={}", modules.size());
    return kExitOk;
}

}  // namespace

void AddModuleVerb(CLI::App& app, VerbContext& context) {
    auto options = std::make_shared<ModuleVerbOptions>();
    auto* verb = app.add_subcommand(
        "module",
        "Run software ExpressLink modules (AT command set, spec v1.3) on a pty, a TCP port or "
        "stdio, connecting over mutual TLS to the endpoints of the world");
    auto* identity = verb->add_option(
        "--identity", options->identity,
        "One module: birth identity directory DIR/<ThingName> with cert.pem, key.pem, chain.pem "
        "(from `elsim pki modules`)");
    auto* identities = verb->add_option("--identities", options->identities,
                                        "A fleet: directory of identity directories (with --count)");
    auto* count = verb->add_option("--count", options->count,
                                   "Number of modules to run from --identities (sorted by name)")
                      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    identity->excludes(identities);
    identities->needs(count);
    count->needs(identities);
    verb->add_option("--staging-endpoint", options->fleet.staging_endpoint,
                     "Factory default of Endpoint (the manufacturer's staging account), "
                     "host[:port]")
        ->required();
    verb->add_option("--root-ca", options->fleet.root_ca_file,
                     "PEM file: factory value of RootCA (the server trust anchor)")
        ->required()
        ->check(CLI::ExistingFile);
    verb->add_option("--endpoints", options->fleet.endpoints_file,
                     "Endpoints map JSON (host name -> \"127.0.0.N:port\") written by the world")
        ->check(CLI::ExistingFile);
    verb->add_option("--state-dir", options->fleet.state_dir,
                     "Directory for each module's persistent keys (<ThingName>.json); default: "
                     "not kept");
    auto* pty = verb->add_flag("--pty", options->pty,
                               "One pseudo-terminal per module; prints /dev/pts/N (per module: "
                               "'<ThingName> /dev/pts/N')");
    auto* tcp = verb->add_option("--tcp", options->tcp_port,
                                 "Serve the AT link on TCP PORT (fleets use PORT, PORT+1, ...; 0 "
                                 "= any free port); prints host:port")
                    ->check(CLI::Range(0, 65535));
    verb->add_option("--tcp-host", options->fleet.tcp_host, "Loopback address for --tcp")
        ->capture_default_str();
    auto* stdio = verb->add_flag("--stdio", options->stdio,
                                 "Speak AT on stdin/stdout (one module); exits at end of input");
    pty->excludes(tcp)->excludes(stdio);
    tcp->excludes(stdio);
    verb->add_flag("--pacing", options->fleet.uart_pacing,
                   "Pace the link like a 115200 baud 8N1 UART (about 87 us per byte)");
    verb->add_flag("--connect", options->connect,
                   "Send AT+CONNECT! to every module at start (load runs without a host)");
    verb->add_flag("--confmode", options->fleet.confmode_available,
                   "Profile: CONFMODE is available (default: ERR17 MODE NOT AVAILABLE)");
    verb->add_option("--backoff-seed", options->fleet.backoff_seed,
                     "Seed of the connect back-off jitter (logged)")
        ->capture_default_str();
    verb->add_option("--keep-alive", options->fleet.keep_alive_seconds,
                     "Factory KeepAlive in seconds")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    verb->callback([options, &context] {
        if (options->identity.empty() && options->identities.empty()) {
            std::fprintf(stderr, "elsim module: give --identity DIR/THINGNAME or --identities DIR "
                                 "--count N\n");
            context.exit_code = kExitBadInput;
            return;
        }
        context.exit_code = Run(*options);
    });
}

}  // namespace elsim
