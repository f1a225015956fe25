// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pki/capath.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/posix_io.hpp"
#include "sim/world/address_block.hpp"
#include "sim/world/address_lease.hpp"
#include "sim/world/mosquitto_config.hpp"
#include "sim/world/mosquitto_process.hpp"
#include "sim/world/world_pki.hpp"
#include "running_world.hpp"

#ifndef SIM_BROKER_PLUGIN_DEFAULT_PATH
#define SIM_BROKER_PLUGIN_DEFAULT_PATH ""
#endif

namespace sim::world {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// True once host:port accepts a TCP connection (polled every 5 ms up to `timeout`).
bool WaitForPort(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (PortAcceptsConnections(host, port, 100ms)) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

namespace {

constexpr const char* kNoPlugin = "none";

// strerror(errno) without strerror's shared buffer.
std::string ErrnoText() { return std::error_code(errno, std::generic_category()).message(); }

// A file of an installed elsim, relative to the running executable (<prefix>/bin/elsim ->
// <prefix>/<relative>), or empty when there is none (a build tree).
fs::path InstalledFile(const fs::path& relative) {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return {};
    }
    const fs::path file = self.parent_path().parent_path() / relative;
    return fs::is_regular_file(file, ec) ? file : fs::path{};
}

sim::Result<fs::path> ResolvePlugin(const fs::path& configured) {
    fs::path plugin = configured;
    if (plugin.empty()) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread of ours starts
        if (const char* env = std::getenv("ELSIM_BROKER_PLUGIN"); env != nullptr && *env != 0) {
            plugin = env;
        } else if (auto installed = InstalledFile(fs::path(SIM_INSTALL_LIBDIR) / "elsim" /
                                                  "elsim_broker.so");
                   !installed.empty()) {
            plugin = installed;  // the TLS tap is installed beside it (FindTlsTap)
        } else {
            plugin = SIM_BROKER_PLUGIN_DEFAULT_PATH;
        }
    }
    if (plugin == kNoPlugin) {
        return fs::path{};
    }
    std::error_code ec;
    if (plugin.empty() || !fs::is_regular_file(plugin, ec)) {
        return sim::MakeError(sim::ErrorCode::kNotFound,
                              "broker plugin not found: '" + plugin.string() +
                                  "' (build elsim_broker, or pass --plugin PATH|none)");
    }
    return fs::absolute(plugin);
}

std::string CurrentUser() {
    if (::geteuid() != 0) {
        return {};
    }
    // Started as root, mosquitto drops to user "mosquitto" unless told otherwise; that user
    // may not read the world directory.
    return "root";
}

// The world's CAs live ten years; server certificates one (re-issued at every start).
constexpr pki::Days kCaDays{3650};
constexpr pki::Days kServerDays{365};

pki::DistinguishedName CaSubject(const std::string& organization, const std::string& common_name) {
    return pki::DistinguishedName{{{"O", organization}, {"CN", common_name}}};
}

}  // namespace

sim::Result<WorldPlan> ValidateWorld(const UpOptions& options, sim::Random& random) {
    auto text = sim::ReadFile(options.config_file);
    if (!text) {
        return sim::Unexpected<sim::Error>(text.error());
    }
    auto spec = ParseWorldSpec(*text, options.config_file.string());
    if (!spec) {
        return sim::Unexpected<sim::Error>(spec.error());
    }
    if (auto mosquitto = FindMosquitto(options.mosquitto); !mosquitto) {
        return sim::Unexpected<sim::Error>(mosquitto.error());
    }
    if (auto plugin = ResolvePlugin(options.plugin); !plugin) {
        return sim::Unexpected<sim::Error>(plugin.error());
    }
    if (const auto pid_file = options.directory / "world.pid"; fs::exists(pid_file)) {
        auto pid_text = sim::ReadFile(pid_file);
        const int pid = pid_text ? std::atoi(pid_text->c_str()) : 0;
        if (pid > 0 && ProcessAlive(pid)) {
            return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                                  "a world already runs in " + options.directory.string() +
                                      " (pid " + std::to_string(pid) +
                                      "); run `elsim world down --dir " +
                                      options.directory.string() + "` first");
        }
    }
    for (const auto& account : spec->accounts) {
        if (account.address.empty()) {
            continue;  // leased at start: the lease skips blocks in use
        }
        // A connect, not a bind: cpp-httplib listens with SO_REUSEPORT, so a bind test would
        // trip over its TIME_WAIT sockets from a previous run, and would not see a listener.
        if (PortAcceptsConnections(account.address, account.control_plane_port, 100ms)) {
            return sim::MakeError(
                sim::ErrorCode::kUnavailable,
                options.config_file.string() + ":" + std::to_string(account.line) + ": account '" +
                    account.name + "': control plane " + account.address + ":" +
                    std::to_string(account.control_plane_port) + " is already in use");
        }
        if (AddressInUse(account.address, account.port)) {
            return sim::MakeError(sim::ErrorCode::kUnavailable,
                                  options.config_file.string() + ":" +
                                      std::to_string(account.line) + ": account '" + account.name +
                                      "': " + account.address + ":" + std::to_string(account.port) +
                                      " is already in use");
        }
    }
    WorldPlan plan = PlanWorld(*spec, random);
    // Keep endpoint names stable across runs in one directory (clients may have cached them).
    if (auto previous = ReadWorld(options.directory); previous) {
        for (auto& account : plan.accounts) {
            for (const auto& old : previous->accounts) {
                if (old.name == account.spec.name) {
                    account.endpoint = old.endpoint;
                }
            }
        }
    }
    return plan;
}

RunningWorld::RunningWorld(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunningWorld::~RunningWorld() { impl_->StopAll(); }
const WorldState& RunningWorld::State() const { return impl_->state; }
const std::shared_ptr<sim::WorldClock>& RunningWorld::Clock() const { return impl_->clock; }
void RunningWorld::Stop() { impl_->StopAll(); }

namespace {

// Leases a block for the accounts written without an address and gives them its addresses.
// Probes the ports those accounts listen on.
sim::Result<std::unique_ptr<AddressLease>> LeaseAddresses(const UpOptions& options,
                                                          WorldPlan& plan) {
    LeaseOptions lease_options;
    lease_options.directory = options.lease_directory;
    lease_options.ports.clear();
    for (const auto& account : plan.spec.accounts) {
        if (account.address.empty()) {
            lease_options.ports.push_back(account.port);
            lease_options.ports.push_back(account.control_plane_port);
        }
    }
    auto lease = AddressLease::Acquire(lease_options);
    if (!lease) {
        return sim::Unexpected<sim::Error>(lease.error());
    }
    auto spec =
        AssignBlockAddresses(plan.spec, (*lease)->Addresses(), options.config_file.string());
    if (!spec) {
        return sim::Unexpected<sim::Error>(spec.error());
    }
    plan.spec = std::move(*spec);
    for (std::size_t i = 0; i < plan.accounts.size(); ++i) {
        plan.accounts[i].spec.address = plan.spec.accounts[i].address;
    }
    return lease;
}

}  // namespace

sim::Result<std::unique_ptr<RunningWorld>> RunningWorld::Start(const UpOptions& options,
                                                               const WorldPlan& requested) {
    auto plugin = ResolvePlugin(options.plugin);
    if (!plugin) {
        return sim::Unexpected<sim::Error>(plugin.error());
    }
    auto impl = std::make_unique<Impl>();
    WorldPlan plan = requested;
    if (NeedsAddressBlock(plan.spec)) {
        auto lease = LeaseAddresses(options, plan);
        if (!lease) {
            return sim::Unexpected<sim::Error>(lease.error());
        }
        impl->lease = std::move(*lease);
    }
    std::error_code ec;
    impl->directory = fs::absolute(options.directory, ec);
    const fs::path dir = impl->directory;
    const fs::path pki_dir = dir / "pki";
    fs::create_directories(pki_dir / "manufacturers", ec);
    if (ec) {
        return sim::MakeError(sim::ErrorCode::kIo,
                              "cannot create " + pki_dir.string() + ": " + ec.message());
    }
    WorldState& state = impl->state;
    state.region = plan.spec.region;
    state.supervisor_pid = static_cast<int>(::getpid());
    state.directory = dir.string();

    // The PKI is kept between runs ("warm"): only missing CAs are made (pki, EC P-256).
    const auto now = std::chrono::system_clock::now();
    auto root = LoadOrCreateCa(pki_dir / "root-ca.pem", pki_dir / "root-ca.key",
                               CaSubject("elsim", "elsim Root CA 1"), now, kCaDays);
    if (!root) {
        return sim::Unexpected<sim::Error>(root.error());
    }
    state.server_ca_file = (pki_dir / "root-ca.pem").string();
    auto issuing = LoadOrCreateCa(pki_dir / "issuing-ca.pem", pki_dir / "issuing-ca.key",
                                  CaSubject("elsim", "elsim IoT Issuing CA"), now, kCaDays);
    if (!issuing) {
        return sim::Unexpected<sim::Error>(issuing.error());
    }
    std::map<std::string, std::string> manufacturer_ca_pems;
    for (const auto& m : plan.spec.manufacturers) {
        const fs::path key = pki_dir / "manufacturers" / (m.name + "-ca.key");
        const fs::path cert = pki_dir / "manufacturers" / (m.name + "-ca.pem");
        auto ca = LoadOrCreateCa(cert, key, CaSubject(m.name, m.name + " Module CA"), now, kCaDays);
        if (!ca) {
            return sim::Unexpected<sim::Error>(ca.error());
        }
        manufacturer_ca_pems[m.name] = ca->pem();
        state.manufacturers.push_back({m.name, cert.string(), key.string()});
    }
    // DEFAULT-mode CA slots shared by every account's broker (FileDefaultModeCaIndex): kept
    // between runs, like the accounts' registries.
    const fs::path shared_dir = dir / "shared";
    fs::create_directories(shared_dir / "default-mode-cas", ec);
    if (ec) {
        return sim::MakeError(
            sim::ErrorCode::kIo,
            "cannot create " + (shared_dir / "default-mode-cas").string() + ": " + ec.message());
    }

    auto mosquitto = FindMosquitto(options.mosquitto);
    if (!mosquitto) {
        return sim::Unexpected<sim::Error>(mosquitto.error());
    }
    // The world clock, made before any broker maps it. A new one at every start: virtual time
    // does not carry over from a previous run in this directory.
    const sim::ClockMode clock_mode = options.clock.value_or(plan.spec.clock);
    auto clock = sim::WorldClock::Create(dir / sim::kWorldClockFile, clock_mode);
    if (!clock) {
        return sim::Unexpected<sim::Error>(clock.error());
    }
    impl->clock = std::move(*clock);
    const std::uint64_t seed = options.seed ? *options.seed : sim::OsRandom().Next64();
    sim::Logger("world")->info("world clock={} seed={}", sim::ToString(clock_mode), seed);
    for (const auto& account : plan.accounts) {
        const fs::path account_dir = dir / "accounts" / account.spec.name;
        const fs::path capath = account_dir / "capath";
        fs::create_directories(capath, ec);
        // Server certificates name the endpoint and the address.
        if (auto s = WriteServerCertificate(*root, {account.endpoint}, {account.spec.address}, now,
                                            kServerDays, account_dir / "server.pem",
                                            account_dir / "server.key");
            !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
        if (auto s = pki::AddCaToCapath(capath, issuing->pem()); !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
        if (account.spec.kind == AccountKind::kStaging) {
            if (auto s = pki::AddCaToCapath(capath, manufacturer_ca_pems[account.spec.manufacturer]);
                !s) {
                return sim::Unexpected<sim::Error>(s.error());
            }
        }
        MosquittoConfig config;
        config.address = account.spec.address;
        config.port = account.spec.port;
        config.capath = capath;
        config.certfile = account_dir / "server.pem";
        config.keyfile = account_dir / "server.key";
        config.plugin = *plugin;
        config.plugin_options = {{"account_name", account.spec.name},
                                 {"account_id", account.spec.account_id},
                                 {"kind", ToString(account.spec.kind)},
                                 {"region", plan.spec.region},
                                 {"endpoint", account.endpoint},
                                 {"address", account.spec.address},
                                 {"capath", capath.string()},
                                 {"mode", options.explain ? "explain" : "strict"}};
        std::string control_plane_url;
        if (!plugin->empty()) {
            // The account itself (registry + control plane) lives in its broker:
            // state in accounts/<name>/state, the control plane on the account's own address.
            const std::string control_plane =
                account.spec.address + ":" + std::to_string(account.spec.control_plane_port);
            config.plugin_options.emplace_back("account_dir", (account_dir / "state").string());
            config.plugin_options.emplace_back("control_plane", control_plane);
            config.plugin_options.emplace_back("shared_dir", shared_dir.string());
            config.plugin_options.emplace_back("clock_file", impl->clock->path().string());
            // One seed per account, derived from the world's (splitmix64's increment).
            const auto index = static_cast<std::uint64_t>(&account - plan.accounts.data());
            config.plugin_options.emplace_back(
                "seed", std::to_string(seed + (index + 1) * 0x9e3779b97f4a7c15ULL));
            if (!options.signing_secret.empty() && account.spec.kind == AccountKind::kOem) {
                config.plugin_options.emplace_back("secret_access_key", options.signing_secret);
            }
            if (!account.spec.lambda_functions.empty()) {
                const fs::path functions = account_dir / "lambda-functions.json";
                nlohmann::json list = nlohmann::json::array();
                for (const auto& function : account.spec.lambda_functions) {
                    list.push_back(function.command.empty()
                                       ? nlohmann::json{{"arn", function.arn},
                                                        {"url", function.url}}
                                       : nlohmann::json{{"arn", function.arn},
                                                        {"command", function.command}});
                }
                if (auto s = sim::WriteFileAtomically(
                        functions, nlohmann::json{{"functions", list}}.dump(2) + "\n");
                    !s) {
                    return sim::Unexpected<sim::Error>(s.error());
                }
                config.plugin_options.emplace_back("lambda_functions", functions.string());
            }
            if (account.spec.kind == AccountKind::kStaging) {
                config.plugin_options.emplace_back(
                    "manufacturer_ca",
                    (pki_dir / "manufacturers" / (account.spec.manufacturer + "-ca.pem")).string());
            }
            control_plane_url = "http://" + control_plane;
        }
        config.run_as_user = CurrentUser();
        const fs::path config_file = account_dir / "mosquitto.conf";
        if (auto s = sim::WriteFileAtomically(config_file, RenderMosquittoConfig(config)); !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
        AccountState account_state;
        account_state.name = account.spec.name;
        account_state.kind = account.spec.kind;
        account_state.account_id = account.spec.account_id;
        account_state.endpoint = account.endpoint;
        account_state.address = account.spec.address;
        account_state.mqtt_port = account.spec.port;
        account_state.capath = capath.string();
        account_state.control_plane_url = control_plane_url;
        account_state.config_file = config_file.string();
        account_state.log_file = (account_dir / "broker.log").string();
        state.accounts.push_back(std::move(account_state));
    }
    // Start all brokers; readiness of each is awaited in turn (~10 ms each).
    for (auto& account : state.accounts) {
        MosquittoOptions broker_options;
        broker_options.executable = *mosquitto;
        broker_options.config_file = account.config_file;
        broker_options.host = account.address;
        broker_options.port = account.mqtt_port;
        broker_options.ready_timeout = options.ready_timeout;
        broker_options.log_file = account.log_file;
        broker_options.preload = FindTlsTap(*plugin);  // TLS tap (sim/broker/README.md)
        auto broker = MosquittoProcess::Start(broker_options);
        if (!broker) {
            impl->StopAll();
            return sim::MakeError(broker.error().code,
                                  "account '" + account.name + "': " + broker.error().message);
        }
        account.broker_pid = (*broker)->Pid();
        const auto index = static_cast<std::size_t>(&account - state.accounts.data());
        {
            std::lock_guard lock(impl->mutex);
            impl->brokers.push_back(std::move(*broker));
            impl->broker_options.push_back(broker_options);
            impl->control_plane_ports.push_back(account.control_plane_url.empty()
                                                    ? std::uint16_t{0}
                                                    : plan.accounts[index].spec.control_plane_port);
            impl->restarts.emplace_back();
        }
        if (!account.control_plane_url.empty() &&
            !WaitForPort(account.address, plan.accounts[index].spec.control_plane_port,
                         options.ready_timeout)) {
            impl->StopAll();
            return sim::MakeError(sim::ErrorCode::kUnavailable,
                                  "account '" + account.name + "': control plane " +
                                      account.control_plane_url + " not accepting connections");
        }
    }
    if (auto s = sim::WriteFileAtomically(dir / "world.json", WorldStateToJson(state)); !s) {
        impl->StopAll();
        return sim::Unexpected<sim::Error>(s.error());
    }
    nlohmann::json endpoints = nlohmann::json::object();
    for (const auto& account : state.accounts) {
        endpoints[account.endpoint] = account.address + ":" + std::to_string(account.mqtt_port);
    }
    if (auto s = sim::WriteFileAtomically(dir / "endpoints.json", endpoints.dump(2) + "\n"); !s) {
        impl->StopAll();
        return sim::Unexpected<sim::Error>(s.error());
    }
    if (auto s = sim::WriteFileAtomically(dir / "world.pid",
                                          std::to_string(state.supervisor_pid) + "\n");
        !s) {
        impl->StopAll();
        return sim::Unexpected<sim::Error>(s.error());
    }
    return std::unique_ptr<RunningWorld>(new RunningWorld(std::move(impl)));
}

bool ProcessAlive(int pid) {
    if (pid <= 0 || ::kill(pid, 0) != 0) {
        return false;
    }
    // A zombie (exited, not yet reaped by its parent) counts as gone.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

sim::Result<WorldState> ReadWorld(const fs::path& directory) {
    auto text = sim::ReadFile(directory / "world.json");
    if (!text) {
        return sim::MakeError(sim::ErrorCode::kNotFound,
                              "no world in " + directory.string() + " (world.json missing)");
    }
    return WorldStateFromJson(*text);
}

namespace {

// Blocks SIGTERM/SIGINT in this thread (and threads started after), then waits for one.
// Children exec'd later unblock them again (mosquitto_process.cpp).
void BlockStopSignals(sigset_t& set) {
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

sim::Status WorldRunForeground(const UpOptions& options) {
    sim::OsRandom random;
    auto plan = ValidateWorld(options, random);
    if (!plan) {
        return sim::Unexpected<sim::Error>(plan.error());
    }
    sigset_t set;
    BlockStopSignals(set);
    auto world = RunningWorld::Start(options, *plan);
    if (!world) {
        return sim::Unexpected<sim::Error>(world.error());
    }
    sim::Logger("world")->info("world up dir={} accounts={}", options.directory.string(),
                               (*world)->State().accounts.size());
    const int signal_number = SuperviseUntilSignal(**world, set);
    (*world)->Stop();
    sim::Logger("world")->info("world down signal={}", signal_number);
    return {};
}

sim::Status WorldUp(const UpOptions& options) {
    sim::OsRandom random;
    auto plan = ValidateWorld(options, random);
    if (!plan) {
        return sim::Unexpected<sim::Error>(plan.error());
    }
    std::error_code ec;
    fs::create_directories(options.directory, ec);
    if (ec) {
        return sim::MakeError(sim::ErrorCode::kIo,
                              "cannot create " + options.directory.string() + ": " + ec.message());
    }
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
        return sim::MakeError(sim::ErrorCode::kIo, "pipe: " + ErrnoText());
    }
    (void)std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        return sim::MakeError(sim::ErrorCode::kIo, "fork: " + ErrnoText());
    }
    if (pid == 0) {
        // Double fork: the supervisor is not our child (no zombie for the caller to reap) and
        // leads no session with a terminal. Output goes to supervisor.log; readiness to the pipe.
        ::close(pipe_fds[0]);
        // The caller's own leases stay the caller's: the supervisor takes its own block.
        ForgetLeasesAfterFork();
        ::setsid();
        if (::fork() != 0) {
            std::_Exit(0);
        }
        const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        const std::string log = (options.directory / "supervisor.log").string();
        const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (null_fd >= 0) {
            ::dup2(null_fd, STDIN_FILENO);
        }
        if (log_fd >= 0) {
            ::dup2(log_fd, STDOUT_FILENO);
            ::dup2(log_fd, STDERR_FILENO);
        }
        sigset_t set;
        BlockStopSignals(set);
        std::string report;
        auto world = RunningWorld::Start(options, *plan);
        report = world ? std::string("ok\n") : "error " + world.error().message + "\n";
        const auto reported = sim::WriteAll(pipe_fds[1], report);
        ::close(pipe_fds[1]);
        if (!world) {
            std::_Exit(1);
        }
        if (!reported) {
            // The caller read no "ok" and reports a failed start: the world must not outlive it.
            (*world)->Stop();
            std::_Exit(1);
        }
        (void)SuperviseUntilSignal(**world, set);
        (*world)->Stop();
        world->reset();
        (void)std::fflush(nullptr);
        std::_Exit(0);
    }
    ::close(pipe_fds[1]);
    int intermediate_status = 0;
    ::waitpid(pid, &intermediate_status, 0);
    auto read = sim::ReadAll(pipe_fds[0]);
    ::close(pipe_fds[0]);
    std::string report = read ? std::move(*read) : std::string();
    if (report.rfind("ok", 0) == 0) {
        return {};
    }
    if (report.rfind("error ", 0) == 0) {
        report = report.substr(6);
    }
    while (!report.empty() && report.back() == '\n') {
        report.pop_back();
    }
    return sim::MakeError(sim::ErrorCode::kUnavailable,
                          report.empty() ? "the world supervisor died while starting" : report);
}

sim::Status WorldDown(const fs::path& directory, std::chrono::milliseconds grace) {
    auto pid_text = sim::ReadFile(directory / "world.pid");
    if (!pid_text) {
        return sim::MakeError(sim::ErrorCode::kNotFound,
                              "no world runs in " + directory.string() + " (world.pid missing)");
    }
    const int pid = std::atoi(pid_text->c_str());
    if (pid <= 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              (directory / "world.pid").string() + ": not a pid");
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (ProcessAlive(pid)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);  // its brokers follow through PR_SET_PDEATHSIG
            break;
        }
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 20 && ProcessAlive(pid); ++i) {
            std::this_thread::sleep_for(5ms);
        }
    }
    // Brokers exit with the supervisor; wait until they are gone too, so a caller can reuse
    // the addresses at once.
    if (auto state = ReadWorld(directory); state) {
        for (const auto& account : state->accounts) {
            for (int i = 0; i < 400 && ProcessAlive(account.broker_pid); ++i) {
                std::this_thread::sleep_for(5ms);
            }
        }
    }
    std::error_code ec;
    fs::remove(directory / "world.pid", ec);
    return {};
}

fs::path BundledWorldFile() {
    if (auto installed = InstalledFile(fs::path(SIM_INSTALL_DATADIR) / "elsim" / "scenarios" /
                                       "worlds" / "default.yaml");
        !installed.empty()) {
        return installed;
    }
    return SIM_DEFAULT_WORLD_FILE;
}

}  // namespace sim::world
