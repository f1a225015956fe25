// SPDX-License-Identifier: Apache-2.0
// `elsim module`: run software ExpressLink modules on a pty, TCP port or stdio (or in-process
// only, for load), each with a birth identity from `elsim pki modules`.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "verbs.hpp"
#include <CLI/CLI.hpp>
#include <unistd.h>

#include "sim/core/adapters.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/module/connect_window.hpp"
#include "sim/module/fleet.hpp"
#include "sim/world/world.hpp"
#include "sim/world/world_trust.hpp"

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
    std::string world;
    std::string staging_account;
    bool pty = false;
    int tcp_port = -1;
    bool stdio = false;
    bool connect = false;
    std::size_t connect_window = 64;
};

// Fills the factory Endpoint, RootCA and the endpoints map from a running world's world.json
// (sim/world/include/sim/world/world_state.hpp) where the command line left them empty.
sim::Status ApplyWorld(ModuleVerbOptions& o) {
    auto world = sim::world::ReadWorld(o.world);
    if (!world) {
        return sim::MakeError(world.error().code, "--world " + world.error().message);
    }
    const sim::world::AccountState* staging = nullptr;
    for (const auto& account : world->accounts) {
        if (account.kind != sim::world::AccountKind::kStaging) {
            continue;
        }
        if (o.staging_account.empty() ? staging == nullptr : account.name == o.staging_account) {
            staging = &account;
        }
    }
    if (staging == nullptr) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "--world " + o.world + ": no staging account" +
                (o.staging_account.empty() ? std::string{} : " named " + o.staging_account));
    }
    if (o.fleet.staging_endpoint.empty()) {
        o.fleet.staging_endpoint = staging->endpoint;
    }
    if (o.fleet.root_ca_file.empty()) {
        o.fleet.root_ca_file = world->server_ca_file;
    }
    if (o.fleet.endpoints_file.empty()) {
        // world.json carries the endpoints map under "endpoints", a form EndpointsMap reads.
        o.fleet.endpoints_file = (fs::path(o.world) / "world.json").string();
    }
    // The world's clock (back-off, TIME?, SLEEP), shared with its accounts.
    auto clock = sim::WorldClock::OpenInWorld(o.world);
    if (!clock) {
        return sim::MakeError(clock.error().code, "--world " + clock.error().message);
    }
    o.fleet.clock = std::move(*clock);
    return {};
}

// Connects every module (sim/module/connect_window.hpp), at most `window` in flight, 3
// attempts each, until g_stop. Progress every 1000 modules and a summary go to stderr; stdout
// stays the link list.
void ConnectFleet(const std::vector<std::shared_ptr<sim::module::SoftwareModule>>& modules,
                  std::size_t window, const std::shared_ptr<spdlog::logger>& logger) {
    constexpr std::size_t kProgressEvery = 1000;
    sim::module::ConnectWindowOptions options;
    options.window = std::max<std::size_t>(1, window);
    options.attempts = 3;
    options.stop = &g_stop;
    options.on_progress = [&modules](const sim::module::ConnectProgress& p) {
        if (p.finished % kProgressEvery == 0) {
            const double seconds = p.elapsed.count();
            std::fprintf(stderr, "elsim module: %zu/%zu connects done (%zu failed), %.1f/s\n",
                         p.finished, modules.size(), p.failed,
                         seconds > 0 ? static_cast<double>(p.finished) / seconds : 0.0);
        }
    };
    options.on_failure = [&logger](const std::string& thing, const std::string& answer) {
        logger->warn("connect failed thing={} answer={}", thing, answer);
    };
    const auto result = sim::module::ConnectWindowed(modules, options);
    const double seconds = result.elapsed.count();
    std::fprintf(stderr,
                 "elsim module: connected %zu/%zu in %.2f s (%.1f connects/s, window %zu); "
                 "%zu failed%s%s\n",
                 result.connected, modules.size(), seconds,
                 seconds > 0 ? static_cast<double>(result.connected) / seconds : 0.0,
                 options.window, result.failed, result.first_error.empty() ? "" : ", first: ",
                 result.first_error.c_str());
    logger->info("connect window done connected={} failed={} seconds={:.2f} window={}",
                 result.connected, result.failed, seconds, options.window);
}

int Run(ModuleVerbOptions& o) {
    auto logger = sim::Logger("module");
    if (!o.world.empty()) {
        if (auto applied = ApplyWorld(o); !applied) {
            std::fprintf(stderr, "elsim module: %s\n", applied.error().message.c_str());
            return kExitBadInput;
        }
    }
    if (o.fleet.staging_endpoint.empty() || o.fleet.root_ca_file.empty()) {
        std::fprintf(stderr,
                     "elsim module: give --staging-endpoint and --root-ca, or --world DIR\n");
        return kExitBadInput;
    }
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
            std::fprintf(stderr,
                         "elsim module: --identities %s holds %zu identities, --count is %zu\n",
                         o.identities.c_str(), listed->size(), o.count);
            return kExitBadInput;
        }
        dirs.assign(listed->begin(), listed->begin() + static_cast<std::ptrdiff_t>(o.count));
    }
    if (!o.world.empty() && !dirs.empty()) {
        // A birth certificate from another PKI would only show as ERR14 and a "certificate
        // verify failed" in a broker log: say it before starting. The first identity stands for
        // the fleet (`elsim world identities` and `elsim pki modules` sign a whole set with one
        // CA), so a large fleet starts without one signature check per module.
        auto world = sim::world::ReadWorld(o.world);
        if (world) {
            if (auto trusted = sim::world::CheckWorldTrusts(*world, dirs.front() / "cert.pem",
                                                            dirs.front() / "chain.pem",
                                                            sim::world::ClientRole::kModule);
                !trusted) {
                std::fprintf(stderr, "elsim module: %s\n", trusted.error().message.c_str());
                return kExitBadInput;
            }
        }
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
    const auto& modules = (*fleet)->modules();
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
    logger->info("running modules={} link={} endpoint={}", modules.size(),
                 o.pty             ? "pty"
                 : o.tcp_port >= 0 ? "tcp"
                 : o.stdio         ? "stdio"
                                   : "none",
                 o.fleet.staging_endpoint);
    std::signal(SIGINT, OnStopSignal);
    std::signal(SIGTERM, OnStopSignal);
    std::signal(SIGHUP, OnStopSignal);
    // The connector runs beside the wait loop so that SIGTERM stops it between connects.
    std::thread connector;
    if (o.connect) {
        connector = std::thread(
            [&modules, &o, logger] { ConnectFleet(modules, o.connect_window, logger); });
    }
    while (!g_stop.load() && !(o.stdio && (*fleet)->links().Closed())) {
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    g_stop.store(true);
    if (connector.joinable()) {
        connector.join();
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
    auto* identities =
        verb->add_option("--identities", options->identities,
                         "A fleet: directory of identity directories (with --count)");
    auto* count = verb->add_option("--count", options->count,
                                   "Number of modules to run from --identities (sorted by name)")
                      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    identity->excludes(identities);
    identities->needs(count);
    count->needs(identities);
    auto* world = verb->add_option(
        "--world", options->world,
        "A running world's directory (world.json): the factory Endpoint is its staging "
        "account's endpoint, RootCA its serverCaFile, and its endpoints map resolves host "
        "names, and its clock (DIR/clock) times back-off, TIME? and SLEEP. --staging-endpoint, "
        "--root-ca and --endpoints override each part");
    verb->add_option("--staging", options->staging_account,
                     "With --world: name of the staging account (default: the first one)")
        ->needs(world);
    verb->add_option("--staging-endpoint", options->fleet.staging_endpoint,
                     "Factory default of Endpoint (the manufacturer's staging account), "
                     "host[:port]; required without --world");
    verb->add_option("--root-ca", options->fleet.root_ca_file,
                     "PEM file: factory value of RootCA (the server trust anchor); required "
                     "without --world")
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
    auto* connect = verb->add_flag(
        "--connect", options->connect,
        "Connect every module at start (blocking AT+CONNECT, --connect-window at a time, two "
        "retries after back-off; a load run without a host). Progress every 1000 modules and "
        "a summary with connects/s go to stderr");
    verb->add_option("--connect-window", options->connect_window,
                     "With --connect: at most this many connects in flight")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->needs(connect);
    verb->add_flag("--confmode", options->fleet.confmode_available,
                   "Profile: CONFMODE is available (default: ERR17 MODE NOT AVAILABLE)");
    auto time_form = std::make_shared<std::string>("words");
    verb->add_option("--time-form", *time_form,
                     "TIME? answer: words (`OK date YYYY/MM/DD time hh:mm:ss.xx SNTP`, as real "
                     "modules and the awslabs host library) or placeholders (`OK YYYY/MM/DD "
                     "hh:mm:ss.xx SNTP`)")
        ->check(CLI::IsMember({"words", "placeholders"}))
        ->capture_default_str()
        ->each([options](const std::string& form) {
            options->fleet.time_placeholders = form == "placeholders";
        });
    verb->add_option("--backoff-seed", options->fleet.backoff_seed,
                     "Seed of the connect back-off jitter (logged)")
        ->capture_default_str();
    verb->add_option("--keep-alive", options->fleet.keep_alive_seconds,
                     "Factory KeepAlive in seconds")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    verb->callback([options, &context] {
        if (options->identity.empty() && options->identities.empty()) {
            std::fprintf(stderr,
                         "elsim module: give --identity DIR/THINGNAME or --identities DIR "
                         "--count N\n");
            context.exit_code = kExitBadInput;
            return;
        }
        context.exit_code = Run(*options);
    });
}

}  // namespace elsim
