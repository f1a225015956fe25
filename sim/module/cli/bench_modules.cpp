// SPDX-License-Identifier: Apache-2.0
// `elsim bench modules` (issue 7): software modules at scale. Figures, not a timed test.
//
// Order of the run: (b) first, then (a), then (c).
//  (a) idle: N in-process software modules (one Fleet) connect over mutual TLS with keep-alive
//      on to a bare mosquitto on a loopback address, stay connected and idle; we report the
//      connect rate, this process's RSS (VmRSS), RSS per module, threads and descriptors, and
//      check after the hold that every module still answers `AT+CONNECT?` as connected.
//  (b) AT round trip over a real pseudo-terminal with UART pacing off: a host thread writes a
//      command line and reads the response line; p50/p90/p99 in microseconds.
//  (c) onboarding end to end (staging connect -> claim -> OEM JITP -> connected): measured only
//      when the world and the claim tooling can carry it; otherwise the line says so.
//
// Every figure printed comes from a measurement in this run; nothing is estimated.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "verbs.hpp"
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/module/fleet.hpp"
#include "sim/world/mosquitto_config.hpp"
#include "sim/world/mosquitto_process.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// The targets (issue 7).
constexpr double kRssTargetMiB = 2048.0;
constexpr double kRttTargetMicros = 1000.0;
constexpr double kOnboardingTargetPerSecond = 100.0;
constexpr const char* kEndpointHost = "bench-staging.iot.us-east-1.elsim.test";

struct ModulesBenchArgs {
    std::size_t count = 10000;
    std::string identities;  // empty: generate
    std::string ca_file;     // manufacturer CA for the broker; empty: from the identities
    bool skip_idle = false;
    bool skip_rtt = false;
    std::size_t window = 64;      // connects in flight
    int hold_seconds = 5;         // idle hold after everyone connected
    int keep_alive_seconds = 60;  // module KeyAlive (0 would turn keep-alive off)
    std::size_t iterations = 10000;
    std::string address = "127.0.0.1";
    std::string mosquitto;
    std::string temp_dir;
};

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// A figure line on stdout, flushed at once so progress is visible when stdout is a file.
template <class... Args>
void Figure(const char* format, Args... args) {
    std::printf(format, args...);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// Progress and diagnostics on stderr.
template <class... Args>
void Progress(const char* format, Args... args) {
    std::fprintf(stderr, format, args...);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

// A "Key:   123 kB" field of /proc/<pid>/status; -1 when missing.
long StatusField(const std::string& pid, const std::string& key) {
    std::ifstream in("/proc/" + pid + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + ":", 0) == 0) {
            return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
        }
    }
    return -1;
}

double RssMiB(const std::string& pid = "self") {
    return static_cast<double>(StatusField(pid, "VmRSS")) / 1024.0;
}

// User + system CPU time of this process so far.
double CpuSeconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::size_t OpenDescriptors() {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = fs::directory_iterator("/proc/self/fd", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
        ++n;
    }
    return n;
}

// Raises RLIMIT_NOFILE to at least `needed` (the hard limit too when allowed). mosquitto,
// started afterwards, inherits the limit: it needs one descriptor per connected module as well.
sim::Status RaiseDescriptorLimit(rlim_t needed) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return sim::MakeError(sim::ErrorCode::kIo, "getrlimit(RLIMIT_NOFILE) failed");
    }
    if (limit.rlim_cur >= needed) {
        return {};
    }
    if (limit.rlim_max < needed) {
        rlimit raised{needed, needed};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            return {};
        }
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--count: needs " + std::to_string(needed) +
                                  " file descriptors, the hard limit is " +
                                  std::to_string(limit.rlim_max) + " (raise `ulimit -Hn`)");
    }
    limit.rlim_cur = needed;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return sim::MakeError(sim::ErrorCode::kIo, "setrlimit(RLIMIT_NOFILE) failed");
    }
    return {};
}

// A port the OS reports free on `address` now (bind to port 0, read it back, close).
sim::Result<std::uint16_t> FreePort(const std::string& address) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sim::MakeError(sim::ErrorCode::kIo, "socket() failed");
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    socklen_t len = sizeof sa;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
    ::close(fd);
    if (!ok) {
        return sim::MakeError(sim::ErrorCode::kUnavailable,
                              "--address " + address + ": cannot bind a port");
    }
    return static_cast<std::uint16_t>(ntohs(sa.sin_port));
}

// The temporary directory of one run, removed with everything in it.
class ScratchDir {
public:
    static sim::Result<ScratchDir> Create(const std::string& parent) {
        // Default: tmpfs when there is one. 10,000 identities are 40,000 files; on a disk
        // mounted with `discard`, removing them took minutes. tmpfs pages are not in our RSS.
        std::error_code ec;
        const fs::path base = !parent.empty() ? fs::path(parent)
                              : fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
                                  ? fs::path("/dev/shm")
                                  : fs::temp_directory_path();
        std::string pattern = (base / "elsim-bench-modules-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            return sim::MakeError(sim::ErrorCode::kIo,
                                  base.string() + ": cannot create a temporary directory");
        }
        return ScratchDir(pattern);
    }
    ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
    ScratchDir& operator=(ScratchDir&&) = delete;
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        if (!path_.empty()) {
            std::error_code ec;
            fs::remove_all(path_, ec);
        }
    }
    const fs::path& path() const { return path_; }

private:
    explicit ScratchDir(fs::path path) : path_(std::move(path)) {}
    fs::path path_;
};

// Runs one factory output into DIR: Begin, write, Commit.
template <class Write>
auto Staged(const fs::path& dir, Write&& write)
    -> decltype(write(std::declval<pki::StagedDirectory&>())) {
    auto out = pki::StagedDirectory::Begin(dir, false);
    if (!out) {
        return sim::Unexpected(out.error());
    }
    auto written = write(*out);
    if (!written) {
        return written;
    }
    if (auto committed = out->Commit(); !committed) {
        return sim::Unexpected(committed.error());
    }
    return written;
}

// The PEM blocks after the first one (a module chain.pem minus the module certificate).
std::string CaPartOfChain(const std::string& chain) {
    const std::string end = "-----END CERTIFICATE-----";
    const auto first_end = chain.find(end);
    if (first_end == std::string::npos) {
        return {};
    }
    const auto next = chain.find("-----BEGIN CERTIFICATE-----", first_end);
    return next == std::string::npos ? std::string() : chain.substr(next);
}

struct Pki {
    std::vector<fs::path> identities;
    fs::path manufacturer_ca;  // PEM bundle: the broker's cafile
    fs::path server_root;      // the modules' RootCA
    fs::path server_cert;
    fs::path server_key;
};

sim::Result<Pki> PreparePki(const ModulesBenchArgs& args, const fs::path& scratch) {
    Pki out;
    const auto now = sim::SystemClock().Now();
    if (!args.identities.empty()) {
        auto listed = sim::module::ListIdentities(args.identities);
        if (!listed) {
            return sim::MakeError(listed.error().code, "--identities " + listed.error().message);
        }
        if (listed->size() < args.count) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "--identities " + args.identities + " holds " +
                                      std::to_string(listed->size()) + " identities, --count is " +
                                      std::to_string(args.count));
        }
        out.identities.assign(listed->begin(),
                              listed->begin() + static_cast<std::ptrdiff_t>(args.count));
        if (!args.ca_file.empty()) {
            out.manufacturer_ca = args.ca_file;
        } else {
            const fs::path chain_file = out.identities.front() / "chain.pem";
            auto chain = sim::ReadFile(chain_file);
            if (!chain) {
                return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                      chain.error().message + " (or give --ca FILE)");
            }
            const std::string ca = CaPartOfChain(*chain);
            if (ca.empty()) {
                return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                      chain_file.string() +
                                          ": no CA certificate after the module certificate "
                                          "(give --ca FILE)");
            }
            out.manufacturer_ca = scratch / "manufacturer-ca.pem";
            if (auto written = sim::WriteFileAtomically(out.manufacturer_ca, ca); !written) {
                return sim::Unexpected(written.error());
            }
        }
    } else {
        Progress("generating %zu birth identities with the pki factory in %s", args.count,
                 scratch.c_str());
        const auto start = SteadyClock::now();
        auto ca = Staged(scratch / "ca", [&](pki::StagedDirectory& staged) {
            pki::CaOptions options;
            options.organization = "elsim bench";
            return pki::WriteCa(options, now, staged);
        });
        if (!ca) {
            return sim::MakeError(ca.error().code, "manufacturer CA: " + ca.error().message);
        }
        auto modules = Staged(scratch / "modules", [&](pki::StagedDirectory& staged) {
            pki::ModulesOptions options;
            options.count = args.count;
            options.progress = [](std::size_t done, std::size_t total) {
                if (done % 1000 == 0 || done == total) {
                    Progress("  identities %zu/%zu", done, total);
                }
            };
            return pki::WriteModules(ca->issuing(), options, now, staged);
        });
        if (!modules) {
            return sim::MakeError(modules.error().code, "identities: " + modules.error().message);
        }
        for (const auto& record : *modules) {
            out.identities.push_back(scratch / "modules" / record.thing_name);
        }
        std::sort(out.identities.begin(), out.identities.end());
        out.manufacturer_ca = scratch / "ca" / "chain.pem";
        const double seconds = Seconds(SteadyClock::now() - start);
        Figure("identities: generated %zu in %.1f s (%.0f/s)", args.count, seconds,
               static_cast<double>(args.count) / seconds);
    }
    // The server side: an emulated AWS IoT root and a server certificate for the address.
    auto aws = Staged(scratch / "aws", [&](pki::StagedDirectory& staged) {
        return pki::WriteAwsCa(pki::KeyType::kEcP256, pki::Days{30}, now, staged);
    });
    if (!aws) {
        return sim::MakeError(aws.error().code, "server CA: " + aws.error().message);
    }
    auto server = Staged(scratch / "server", [&](pki::StagedDirectory& staged) {
        return pki::WriteServer(*aws, {kEndpointHost}, {args.address}, pki::KeyType::kEcP256,
                                pki::Days{30}, now, staged);
    });
    if (!server) {
        return sim::MakeError(server.error().code, "server certificate: " + server.error().message);
    }
    out.server_root = scratch / "aws" / "root-ca.pem";
    out.server_cert = scratch / "server" / "chain.pem";
    out.server_key = scratch / "server" / "key.pem";
    return out;
}

// ---- (a) idle ------------------------------------------------------------------------------

// Connects every module with the blocking `AT+CONNECT`, `window` at a time. A module whose
// connect fails is retried (up to 3 attempts) after its back-off (1 s, 2 s, ...; PG-CMD
// 4.7.2.2). Returns the number connected; `first_error` gets the first failure line.
std::size_t ConnectAll(const std::vector<std::shared_ptr<sim::module::SoftwareModule>>& modules,
                       std::size_t window, std::string& first_error,
                       std::atomic<std::size_t>& failed_attempts) {
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> connected{0};
    std::mutex error_mutex;
    auto worker = [&] {
        for (std::size_t i = next.fetch_add(1); i < modules.size(); i = next.fetch_add(1)) {
            for (int attempt = 1; attempt <= 3; ++attempt) {
                auto lines = modules[i]->Command("AT+CONNECT", std::chrono::seconds{60});
                if (lines.size() == 1 && lines[0] == "OK 1 CONNECTED") {
                    const std::size_t done = connected.fetch_add(1) + 1;
                    if (done % 1000 == 0) {
                        Progress("  connected %zu/%zu", done, modules.size());
                    }
                    break;
                }
                failed_attempts.fetch_add(1);
                {
                    std::lock_guard lock(error_mutex);
                    if (first_error.empty()) {
                        first_error = lines.empty() ? "no response in 60 s" : lines[0];
                    }
                }
                // Back-off after the n-th failure: 2^(n-1) s plus up to a quarter of it.
                std::this_thread::sleep_for(std::chrono::milliseconds{1300 << (attempt - 1)});
            }
        }
    };
    std::vector<std::thread> threads;
    const std::size_t n = std::max<std::size_t>(1, std::min(window, modules.size()));
    threads.reserve(n);
    for (std::size_t t = 0; t < n; ++t) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    return connected.load();
}

int RunIdle(const ModulesBenchArgs& args, const Pki& pki, const fs::path& scratch) {
    const std::size_t n = pki.identities.size();
    // One socket per module here and in the broker, plus files, pipes and the pty.
    if (auto raised = RaiseDescriptorLimit(static_cast<rlim_t>(n + 512)); !raised) {
        Progress("elsim bench modules: %s", raised.error().message.c_str());
        return kExitBadInput;
    }
    auto port = FreePort(args.address);
    if (!port) {
        Progress("elsim bench modules: %s", port.error().message.c_str());
        return kExitBadInput;
    }
    sim::world::MosquittoConfig config;
    config.address = args.address;
    config.port = *port;
    config.cafile = pki.manufacturer_ca;
    config.certfile = pki.server_cert;
    config.keyfile = pki.server_key;
    if (::geteuid() == 0) {
        config.run_as_user = "root";  // else mosquitto drops to a user that cannot read scratch
    }
    std::string text = sim::world::RenderMosquittoConfig(config);
    // One log line per connect would only fill the supervisor's log buffer (in this process).
    if (const auto at = text.find("connection_messages true"); at != std::string::npos) {
        text.replace(at, std::string("connection_messages true").size(),
                     "connection_messages false");
    }
    text += "max_connections " + std::to_string(n + 100) + "\n";
    const fs::path conf = scratch / "mosquitto.conf";
    if (auto written = sim::WriteFileAtomically(conf, text); !written) {
        Progress("elsim bench modules: %s", written.error().message.c_str());
        return kExitFailed;
    }
    auto executable = sim::world::FindMosquitto(args.mosquitto);
    if (!executable) {
        Progress("elsim bench modules: --mosquitto %s", executable.error().message.c_str());
        return kExitBadInput;
    }
    sim::world::MosquittoOptions broker_options;
    broker_options.executable = *executable;
    broker_options.config_file = conf;
    broker_options.host = args.address;
    broker_options.port = *port;
    broker_options.ready_timeout = std::chrono::seconds{10};
    auto broker = sim::world::MosquittoProcess::Start(broker_options);
    if (!broker) {
        Progress("elsim bench modules: broker: %s", broker.error().message.c_str());
        return kExitFailed;
    }
    const std::string broker_pid = std::to_string((*broker)->Pid());

    const double rss_before = RssMiB();
    sim::module::FleetOptions options;
    options.staging_endpoint = std::string(kEndpointHost) + ":" + std::to_string(*port);
    options.root_ca_file = pki.server_root.string();
    sim::module::EndpointsMap map;
    map.Add(kEndpointHost, sim::module::ResolvedAddress{args.address, *port});
    options.resolver = map.MakeResolver();
    options.keep_alive_seconds = args.keep_alive_seconds;
    auto start = SteadyClock::now();
    auto fleet = sim::module::Fleet::Start(options, pki.identities);
    if (!fleet) {
        Progress("elsim bench modules: %s", fleet.error().message.c_str());
        return kExitFailed;
    }
    const double rss_started = RssMiB();
    Progress("started %zu modules in %.1f s; connecting %zu at a time to %s:%u", n,
             Seconds(SteadyClock::now() - start), args.window, args.address.c_str(), *port);

    std::string first_error;
    std::atomic<std::size_t> failed_attempts{0};
    start = SteadyClock::now();
    const std::size_t connected =
        ConnectAll((*fleet)->modules(), args.window, first_error, failed_attempts);
    const double connect_seconds = Seconds(SteadyClock::now() - start);
    Figure(
        "idle: connected %zu/%zu modules in %.1f s (%.0f connects/s, %zu in flight, "
        "keep-alive %d s, %zu failed attempts)",
        connected, n, connect_seconds, static_cast<double>(connected) / connect_seconds,
        args.window, args.keep_alive_seconds, failed_attempts.load());
    if (!first_error.empty()) {
        Progress("  first connect failure: %s", first_error.c_str());
    }

    // Idle: sample RSS through the hold and keep the peak; CPU time spent while idle
    // (keep-alive PINGREQs and the Paho threads' housekeeping).
    const double rss_connected = RssMiB();
    double rss_peak = rss_connected;
    const double cpu_before = CpuSeconds();
    const auto hold_start = SteadyClock::now();
    for (int s = 0; s < args.hold_seconds; ++s) {
        std::this_thread::sleep_for(std::chrono::seconds{1});
        rss_peak = std::max(rss_peak, RssMiB());
    }
    const double hold_seconds = Seconds(SteadyClock::now() - hold_start);
    const double idle_cpu_percent =
        hold_seconds > 0 ? 100.0 * (CpuSeconds() - cpu_before) / hold_seconds : 0.0;
    const double per_module_kib =
        n > 0 ? (rss_peak - rss_before) * 1024.0 / static_cast<double>(n) : 0.0;
    Figure(
        "idle: RSS %.1f MiB with %zu modules connected (before modules %.1f MiB, modules "
        "started %.1f MiB; %.1f KiB per module; target <= %.0f MiB: %s)",
        rss_peak, connected, rss_before, rss_started, per_module_kib, kRssTargetMiB,
        rss_peak <= kRssTargetMiB ? "met" : "MISSED");
    std::size_t still = 0;
    for (const auto& module : (*fleet)->modules()) {
        auto lines = module->Command("AT+CONNECT?", std::chrono::seconds{5});
        if (!lines.empty() && lines[0].rfind("OK 1 ", 0) == 0) {
            ++still;
        }
    }
    Figure(
        "idle: held %d s: %zu/%zu still connected; threads %ld, open descriptors %zu, "
        "CPU while idle %.1f%% of one core, broker RSS %.1f MiB",
        args.hold_seconds, still, n, StatusField("self", "Threads"), OpenDescriptors(),
        idle_cpu_percent, RssMiB(broker_pid));

    start = SteadyClock::now();
    fleet->reset();
    Progress("fleet stopped in %.1f s", Seconds(SteadyClock::now() - start));
    (*broker)->Stop();
    return connected == n && still == n ? kExitOk : kExitFailed;
}

// ---- (b) AT round trip over a pty --------------------------------------------------------

struct Percentiles {
    double p50 = 0;
    double p90 = 0;
    double p99 = 0;
};

Percentiles ComputePercentiles(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    auto at = [&](double q) {
        const auto index =
            static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
        return values[std::min(index, values.size() - 1)];
    };
    return values.empty() ? Percentiles{} : Percentiles{at(0.50), at(0.90), at(0.99)};
}

// Writes `line` + LF, reads until CR LF; the response line without CR LF, or none on error.
std::optional<std::string> RoundTrip(int fd, const std::string& line, std::string& buffer) {
    const std::string out = line + "\n";
    std::string_view rest = out;
    while (!rest.empty()) {
        const ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return std::nullopt;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    char chunk[512];
    while (true) {
        if (const auto eol = buffer.find("\r\n"); eol != std::string::npos) {
            std::string response = buffer.substr(0, eol);
            buffer.erase(0, eol + 2);
            return response;
        }
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return std::nullopt;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
}

int RunRtt(const ModulesBenchArgs& args, const Pki& pki) {
    sim::module::FleetOptions options;
    options.staging_endpoint = kEndpointHost;
    options.root_ca_file = pki.server_root.string();
    options.uart_pacing = false;
    auto fleet = sim::module::Fleet::Start(options, {pki.identities.front()});
    if (!fleet) {
        Progress("elsim bench modules: %s", fleet.error().message.c_str());
        return kExitFailed;
    }
    auto module = (*fleet)->modules().front();
    auto path = (*fleet)->links().AttachPty(module);
    if (!path) {
        Progress("elsim bench modules: pty: %s", path.error().message.c_str());
        return kExitFailed;
    }
    const int fd = ::open(path->c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        Progress("elsim bench modules: open %s failed", path->c_str());
        return kExitFailed;
    }
    termios tio{};
    ::tcgetattr(fd, &tio);
    ::cfmakeraw(&tio);  // the host side as pyserial opens it: no echo, no CR/LF mapping
    ::tcsetattr(fd, TCSANOW, &tio);
    const std::string thing = module->profile().thing_name;
    struct Case {
        std::string line;
        std::string expected;
    };
    const std::vector<Case> cases = {{"AT", "OK"}, {"AT+CONF? ThingName", "OK " + thing}};
    int status = kExitOk;
    std::string buffer;
    for (const auto& c : cases) {
        // Warm-up: page in the paths once, not measured.
        for (int i = 0; i < 100; ++i) {
            RoundTrip(fd, c.line, buffer);
        }
        std::vector<double> micros;
        micros.reserve(args.iterations);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < args.iterations; ++i) {
            const auto start = SteadyClock::now();
            auto response = RoundTrip(fd, c.line, buffer);
            const auto elapsed = SteadyClock::now() - start;
            if (!response) {
                Progress("elsim bench modules: pty %s: read/write failed", path->c_str());
                status = kExitFailed;
                break;
            }
            if (*response != c.expected) {
                if (wrong++ == 0) {
                    Progress("  %s answered '%s', expected '%s'", c.line.c_str(), response->c_str(),
                             c.expected.c_str());
                }
            }
            micros.push_back(std::chrono::duration<double, std::micro>(elapsed).count());
        }
        const auto p = ComputePercentiles(micros);
        Figure(
            "rtt %s: n=%zu p50=%.0f us p90=%.0f us p99=%.0f us wrong=%zu (pty, pacing off; "
            "target p50 <= %.0f us: %s)",
            c.line.c_str(), micros.size(), p.p50, p.p90, p.p99, wrong, kRttTargetMicros,
            p.p50 <= kRttTargetMicros ? "met" : "MISSED");
        if (wrong > 0) {
            status = kExitFailed;
        }
    }
    ::close(fd);
    return status;
}

int Run(const ModulesBenchArgs& args) {
    auto scratch = ScratchDir::Create(args.temp_dir);
    if (!scratch) {
        Progress("elsim bench modules: --tmp %s", scratch.error().message.c_str());
        return kExitBadInput;
    }
    auto pki = PreparePki(args, scratch->path());
    if (!pki) {
        Progress("elsim bench modules: %s", pki.error().message.c_str());
        return pki.error().code == sim::ErrorCode::kInvalidArgument ||
                       pki.error().code == sim::ErrorCode::kNotFound
                   ? kExitBadInput
                   : kExitFailed;
    }
    Figure("elsim bench modules: %zu modules, %u CPUs, load average %s", pki->identities.size(),
           std::thread::hardware_concurrency(),
           sim::ReadFile("/proc/loadavg").value_or("?").substr(0, 14).c_str());
    // Round trips first: after the idle fleet stops, Paho clients are still being destroyed in
    // the background for a few seconds, which would disturb the latency figures.
    int status = kExitOk;
    if (!args.skip_rtt) {
        status = std::max(status, RunRtt(args, *pki));
    }
    if (!args.skip_idle) {
        status = std::max(status, RunIdle(args, *pki, scratch->path()));
    }
    // Not measured yet: the broker plugin does not call sim/staging's first-login hooks
    // (PlanFirstLogin, SetUpStagingAccount), so a module cannot log in to a staging account of
    // `elsim world up`, and the chain claim -> OEM JITP cannot start. No figure is invented.
    Figure(
        "onboarding: not measured (needs staging first login wired into the broker plugin, "
        "then `elsim world up` + `elsim claim` + OEM JITP end to end; target >= %.0f "
        "modules/s)",
        kOnboardingTargetPerSecond);
    return status;
}

}  // namespace

void AddModulesBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<ModulesBenchArgs>();
    auto* verb = bench.add_subcommand(
        "modules",
        "Software modules at scale: N connected and idle in one process (RSS), AT round trip "
        "over a pty, onboarding rate");
    verb->add_option("--count", args->count, "Modules connected in the idle measurement")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
        ->capture_default_str();
    verb->add_option("--identities", args->identities,
                     "Directory of birth identities (from `elsim pki modules`); default: "
                     "generate --count into a temporary directory")
        ->check(CLI::ExistingDirectory);
    verb->add_option("--ca", args->ca_file,
                     "Manufacturer CA bundle the broker trusts (with --identities; default: the "
                     "CA part of the first identity's chain.pem)")
        ->check(CLI::ExistingFile);
    verb->add_flag("--skip-idle", args->skip_idle, "Skip the idle-fleet measurement");
    verb->add_flag("--skip-rtt", args->skip_rtt, "Skip the pty round-trip measurement");
    verb->add_option("--window", args->window, "Connects in flight at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    verb->add_option("--hold", args->hold_seconds, "Seconds to hold the fleet idle")
        ->check(CLI::Range(0, 3600))
        ->capture_default_str();
    verb->add_option("--keep-alive", args->keep_alive_seconds, "Module KeepAlive in seconds")
        ->check(CLI::Range(1, 65535))
        ->capture_default_str();
    verb->add_option("--iterations", args->iterations, "Round trips per AT command")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}))
        ->capture_default_str();
    verb->add_option("--address", args->address, "Loopback address of the broker")
        ->capture_default_str();
    verb->add_option("--mosquitto", args->mosquitto, "mosquitto executable (default: PATH)");
    verb->add_option(
        "--tmp", args->temp_dir,
        "Parent of the temporary directory (default: /dev/shm if writable, else TMPDIR)");
    verb->callback([args, &context] {
        if (!sim::module::IsLoopbackIpv4(args->address)) {
            Progress("elsim bench modules: --address %s: loopback (127.0.0.0/8) only",
                     args->address.c_str());
            context.exit_code = kExitBadInput;
            return;
        }
        context.exit_code = Run(*args);
    });
}

}  // namespace elsim
