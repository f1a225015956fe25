// SPDX-License-Identifier: Apache-2.0
// `elsim bench modules`: software modules at scale. Figures, not a timed test.
//
// Order of the run: (b) first, then (a), then (c).
//  (a) idle: N in-process software modules (one Fleet) connect over mutual TLS with keep-alive
//      on to a bare mosquitto on a loopback address, stay connected and idle; we report the
//      connect rate, this process's RSS (VmRSS), RSS per module, threads and descriptors, and
//      check after the hold that every module still answers `AT+CONNECT?` as connected.
//  (b) AT round trip over a real pseudo-terminal with UART pacing off: a host thread writes a
//      command line and reads the response line; p50/p90/p99 in microseconds.
//  (c) onboarding end to end (staging connect -> claim -> OEM JITP -> connected): a real world
//      (staging + OEM account, mosquitto + plugin each, sim::world) in the scratch directory, the
//      OEM account set up and its claim-things registered as `elsim onboard` does (the same
//      sim::onboarding functions), N birth identities, N in-process software modules driven
//      with AT commands by a pool of host threads, claims over the claim-things' open sessions.
//      Set-up, identities and the claim sessions are warm-up, not measured. Measured: from the
//      first AT+CONNECT to the last module answering CONNECTED CUSTOMER; modules/s, p50/p99
//      per-module latency and the median of each phase. Afterwards (not measured) the OEM
//      control plane must list a thing for every module.
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

#include "bench_support.hpp"
#include "verbs.hpp"
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/net.hpp"
#include "sim/core/posix_io.hpp"
#include "sim/module/connect_window.hpp"
#include "sim/module/fleet.hpp"
#include "sim/module/mqtt_client_port.hpp"
#include "sim/world/world.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/pipeline.hpp"
#include "sim/world/mosquitto_config.hpp"
#include "sim/world/mosquitto_process.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// The targets the benchmark reports against.
constexpr double kRssTargetMiB = 2048.0;
constexpr double kRttTargetMicros = 1000.0;
constexpr double kOnboardingTargetPerSecond = 200.0;
constexpr const char* kEndpointHost = "bench-staging.iot.us-east-1.elsim.test";

struct ModulesBenchArgs {
    std::size_t count = 10000;
    std::string identities;  // empty: generate
    std::string ca_file;     // manufacturer CA for the broker; empty: from the identities
    bool skip_idle = false;
    bool skip_rtt = false;
    bool skip_onboard = false;
    std::size_t onboard = 1000;         // modules onboarded in (c)
    std::size_t onboard_workers = 512;  // host threads, one module each at a time
    std::size_t claim_things = 4;       // claim sessions (each <= 100 claims/s)
    std::size_t window = 64;            // connects in flight
    int hold_seconds = 5;               // idle hold after everyone connected
    int keep_alive_seconds = 60;        // module KeyAlive (0 would turn keep-alive off)
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

int RunIdle(const ModulesBenchArgs& args, const Pki& pki, const fs::path& scratch) {
    const std::size_t n = pki.identities.size();
    // One socket per module here and in the broker, plus files, pipes and the pty.
    if (auto raised = sim::RaiseDescriptorLimit(static_cast<rlim_t>(n + 512)); !raised) {
        Progress("elsim bench modules: --count: %s", raised.error().message.c_str());
        return kExitBadInput;
    }
    auto port = sim::FreeTcpPort(args.address);
    if (!port) {
        Progress("elsim bench modules: --address: %s", port.error().message.c_str());
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
    sim::world::EndpointsMap map;
    map.Add(kEndpointHost, sim::world::ResolvedAddress{args.address, *port});
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

    // Every module with the blocking `AT+CONNECT`, `window` at a time, up to 3 attempts each
    // (sim/module/connect_window.hpp).
    sim::module::ConnectWindowOptions connect_options;
    connect_options.window = args.window;
    connect_options.attempts = 3;
    connect_options.on_progress = [](const sim::module::ConnectProgress& p) {
        if (p.module_connected && p.connected % 1000 == 0) {
            Progress("  connected %zu/%zu", p.connected, p.total);
        }
    };
    const auto connect = sim::module::ConnectWindowed((*fleet)->modules(), connect_options);
    const std::size_t connected = connect.connected;
    const std::string& first_error = connect.first_error;
    const double connect_seconds = connect.elapsed.count();
    Figure(
        "idle: connected %zu/%zu modules in %.1f s (%.0f connects/s, %zu in flight, "
        "keep-alive %d s, %zu failed attempts)",
        connected, n, connect_seconds, static_cast<double>(connected) / connect_seconds,
        args.window, args.keep_alive_seconds, connect.failed_attempts);
    if (!first_error.empty()) {
        Progress("  first connect failure: %s", first_error.c_str());
    }

    // Idle: sample RSS through the hold and keep the peak; CPU time spent while idle
    // (keep-alive PINGREQs on the module event loop).
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
    const std::size_t still = CountConnected((*fleet)->modules());
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
    if (!sim::WriteAll(fd, line + "\n")) {
        return std::nullopt;
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

// ---- (c) onboarding end to end ------------------------------------------------------------

// A world file for the bench: one manufacturer, its staging account and one OEM account on
// loopback addresses derived from the pid (so that a bench never meets a test's or a user's
// world on 127.0.0.2-4).
sim::Result<fs::path> WriteBenchWorld(const fs::path& dir) {
    const auto pid = static_cast<unsigned>(::getpid());
    const std::string prefix =
        "127." + std::to_string(230 + pid % 20) + "." + std::to_string(1 + (pid / 20) % 250) + ".";
    const std::string text =
        "region: us-east-1\n"
        "manufacturers:\n  - name: bench-maker\n"
        "accounts:\n"
        "  - name: staging\n    kind: staging\n    manufacturer: bench-maker\n"
        "    address: " +
        prefix +
        "2\n"
        "  - name: oem\n    kind: oem\n    address: " +
        prefix + "3\n";
    const fs::path file = dir / "bench-world.yaml";
    if (auto written = sim::WriteFileAtomically(file, text); !written) {
        return sim::Unexpected(written.error());
    }
    return file;
}

double Millis(SteadyClock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

// Every module's thing in the OEM account, read back through its control plane (ListThings).
sim::Result<std::size_t> CountThings(sim::controlplane::AwsClient& client,
                                     const std::vector<sim::onboarding::ModuleJob>& jobs) {
    std::vector<std::string> names;
    std::string token;
    for (int page = 0; page < 10000; ++page) {
        sim::controlplane::QueryParams query{{"maxResults", "250"}};
        if (!token.empty()) {
            query.emplace_back("nextToken", token);
        }
        auto reply = client.Call("GET", "/things", query);
        if (!reply) {
            return sim::MakeError(
                sim::ErrorCode::kUnavailable,
                "ListThings: " + reply.error().type + ": " + reply.error().message);
        }
        for (const auto& thing : reply->value("things", nlohmann::json::array())) {
            names.push_back(thing.value("thingName", ""));
        }
        token = reply->value("nextToken", "");
        if (token.empty()) {
            break;
        }
    }
    std::sort(names.begin(), names.end());
    std::size_t found = 0;
    for (const auto& job : jobs) {
        found += std::binary_search(names.begin(), names.end(), job.thing_name) ? 1 : 0;
    }
    return found;
}

// CPU seconds (user + system) a process has used so far; -1 when unreadable.
double ProcessCpuSeconds(int pid) {
    auto stat = sim::ReadFile("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) {
        return -1;
    }
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const auto close = stat->rfind(')');
    if (close == std::string::npos) {
        return -1;
    }
    std::vector<std::string> fields;
    std::string field;
    for (const char c : stat->substr(close + 2)) {
        if (c == ' ') {
            fields.push_back(field);
            field.clear();
        } else {
            field.push_back(c);
        }
    }
    if (fields.size() < 13) {
        return -1;
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) /
           ticks;
}

// ---- (c) helpers ----------------------------------------------------------------------------

bool IsRetryStep(const std::string& text) {
    return text.find("retried once more") != std::string::npos ||
           text.find("connect to staging retried") != std::string::npos ||
           text.find("refused, retrying") != std::string::npos;
}

// Runs the measured pipeline in this process; counts the extra retries.
std::vector<sim::onboarding::ModuleOutcome> RunPipelineHere(
    const ModulesBenchArgs& args, const sim::onboarding::OnboardingSetup& setup,
    const std::vector<sim::onboarding::ModuleJob>& jobs,
    const std::vector<std::unique_ptr<sim::staging::ClaimSession>>& sessions,
    std::size_t& retried, std::string& first_retry) {
    sim::onboarding::PipelineOptions pipeline;
    pipeline.workers = args.onboard_workers;
    pipeline.publish = false;
    pipeline.verify = false;
    std::mutex mutex;
    return sim::onboarding::RunOnboardingPipeline(
        setup, jobs, sessions, pipeline, [&](std::size_t, const std::string& text) {
            if (!IsRetryStep(text)) {
                return;
            }
            std::lock_guard lock(mutex);
            if (retried++ == 0) {
                first_retry = text;
            }
        });
}

int RunOnboarding(const ModulesBenchArgs& args, const fs::path& scratch) {
    namespace onboarding = sim::onboarding;
    const std::size_t n = args.onboard;
    if (auto raised = onboarding::RaiseDescriptorLimitFor(n); !raised) {
        Progress("elsim bench modules: --onboard %s", raised.error().message.c_str());
        return kExitBadInput;
    }
    const fs::path dir = scratch / "onboard";
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto world_file = WriteBenchWorld(scratch);
    if (!world_file) {
        Progress("elsim bench modules: %s", world_file.error().message.c_str());
        return kExitFailed;
    }
    // Warm-up, not measured: the world, the OEM account, claim-things, identities, modules.
    Progress("onboarding: starting a world in %s", dir.c_str());
    onboarding::OnboardingSetupOptions setup_options;
    setup_options.world_file = *world_file;
    setup_options.directory = dir;
    setup_options.claim_things = std::min(args.claim_things, n);
    auto setup = onboarding::SetUpOnboarding(
        setup_options, [](const std::string& line) { Progress("  %s", line.c_str()); });
    if (!setup) {
        Progress("elsim bench modules: onboarding set-up: %s", setup.error().message.c_str());
        return kExitFailed;
    }
    auto start = SteadyClock::now();
    auto identities = onboarding::MakeBirthIdentities(setup->manufacturer, n, dir / "modules");
    if (!identities) {
        Progress("elsim bench modules: %s", identities.error().message.c_str());
        return kExitFailed;
    }
    Progress("  birth identities: %zu in %.1f s", n, Seconds(SteadyClock::now() - start));
    // The modules are started and their claim sessions opened before the measured window.
    std::vector<onboarding::ModuleOutcome> outcomes;
    std::vector<onboarding::ModuleJob> jobs;  // thing names, for the OEM account's view afterwards
    for (const auto& identity : *identities) {
        onboarding::ModuleJob job;
        job.thing_name = identity.filename().string();
        jobs.push_back(std::move(job));
    }
    std::size_t retried = 0;
    std::string first_retry;
    double cpu_seconds = 0;
    double staging_cpu = 0;
    double oem_cpu = 0;
    const int staging_pid = setup->staging.broker_pid;
    const int oem_pid = setup->oem.broker_pid;
    {
        auto fleet = onboarding::StartModules(*setup->world, setup->staging, *identities,
                                              dir / "module-state");
        if (!fleet) {
            Progress("elsim bench modules: %s", fleet.error().message.c_str());
            return kExitFailed;
        }
        auto module_jobs = onboarding::MakeJobs(**fleet, *identities);
        if (!module_jobs) {
            Progress("elsim bench modules: %s", module_jobs.error().message.c_str());
            return kExitFailed;
        }
        auto sessions = onboarding::OpenClaimSessions(*setup);
        if (!sessions) {
            Progress("elsim bench modules: %s", sessions.error().message.c_str());
            return kExitFailed;
        }
        Progress("  %zu modules on %s, %zu claim sessions open; onboarding with %zu host threads",
                 n, setup->staging.endpoint.c_str(), sessions->size(), args.onboard_workers);
        const double cpu_before = CpuSeconds();
        const double staging_cpu_before = ProcessCpuSeconds(staging_pid);
        const double oem_cpu_before = ProcessCpuSeconds(oem_pid);
        outcomes = RunPipelineHere(args, *setup, *module_jobs, *sessions, retried, first_retry);
        cpu_seconds = CpuSeconds() - cpu_before;
        staging_cpu = ProcessCpuSeconds(staging_pid) - staging_cpu_before;
        oem_cpu = ProcessCpuSeconds(oem_pid) - oem_cpu_before;
        sessions->clear();
        fleet->reset();
        const auto stats = sim::module::GetMqttClientStats();
        Progress("  module TLS: %llu TCP connects, %llu client contexts, %llu private keys "
                 "decoded, %llu trust stores decoded",
                 static_cast<unsigned long long>(stats.connects),
                 static_cast<unsigned long long>(stats.tls_contexts),
                 static_cast<unsigned long long>(stats.keys_decoded),
                 static_cast<unsigned long long>(stats.trust_stores));
    }
    Figure("onboarding: configuration: %zu modules, %zu host threads, %zu claim sessions, 1 "
           "module process",
           n, args.onboard_workers, setup->claim_things.size());
    std::size_t ok = 0;
    std::string first_error;
    SteadyClock::time_point first_start = SteadyClock::time_point::max();
    SteadyClock::time_point last_connected = SteadyClock::time_point::min();
    std::vector<double> latencies;
    std::vector<double> to_staging;  // AT+CONNECT -> OK (TLS + SUBACK of expresslink_config)
    std::vector<double> to_claimed;  // -> claim PUBACK
    std::vector<double> to_left;     // -> CONLOST (MSG delivered, module left staging)
    std::vector<double> to_oem;      // -> CONNECTED CUSTOMER (JITP drop, back-off, retry)
    for (const auto& outcome : outcomes) {
        if (outcome.started != SteadyClock::time_point{}) {
            first_start = std::min(first_start, outcome.started);
        }
        if (!outcome.ok) {
            if (first_error.empty()) {
                first_error = outcome.error;
            }
            continue;
        }
        ++ok;
        last_connected = std::max(last_connected, outcome.connected);
        latencies.push_back(Millis(outcome.connected - outcome.started));
        to_staging.push_back(Millis(outcome.staging_connected - outcome.started));
        to_claimed.push_back(Millis(outcome.claimed - outcome.staging_connected));
        to_left.push_back(Millis(outcome.left_staging - outcome.claimed));
        to_oem.push_back(Millis(outcome.connected - outcome.left_staging));
    }
    if (ok == 0) {
        Figure("onboarding: 0/%zu modules onboarded (first failure: %s); no rate measured", n,
               first_error.c_str());
        return kExitFailed;
    }
    const double window = Seconds(last_connected - first_start);
    const double rate = static_cast<double>(ok) / window;
    const auto p = ComputePercentiles(latencies);
    Figure(
        "onboarding: %zu/%zu modules staging connect -> claim -> OEM JITP -> CONNECTED CUSTOMER "
        "in %.2f s: %.1f modules/s (target >= %.0f modules/s: %s)",
        ok, n, window, rate, kOnboardingTargetPerSecond,
        rate >= kOnboardingTargetPerSecond && ok == n ? "met" : "MISSED");
    Figure(
        "onboarding: per-module latency p50=%.0f ms p90=%.0f ms p99=%.0f ms (first AT+CONNECT "
        "-> CONNECT? CUSTOMER; includes the module's back-off after the JITP drop); %zu host "
        "threads, %zu claim sessions",
        p.p50, p.p90, p.p99, args.onboard_workers, setup->claim_things.size());
    Figure(
        "onboarding: CPU during the run: this process (modules, event loop, hosts) %.1f s, "
        "staging broker %.1f s, OEM broker %.1f s (%.0f%%, %.0f%%, %.0f%% of one core); load "
        "average %s",
        cpu_seconds, staging_cpu, oem_cpu, 100.0 * cpu_seconds / window,
        100.0 * staging_cpu / window, 100.0 * oem_cpu / window,
        sim::ReadFile("/proc/loadavg").value_or("?").substr(0, 14).c_str());
    Figure(
        "onboarding: phase medians: staging connect %.0f ms, claim PUBACK %.0f ms, MSG + "
        "CONLOST %.0f ms, OEM connect (JITP drop + back-off + retry) %.0f ms",
        ComputePercentiles(to_staging).p50, ComputePercentiles(to_claimed).p50,
        ComputePercentiles(to_left).p50, ComputePercentiles(to_oem).p50);
    if (retried > 0) {
        Progress("  %zu extra retries (first: %s)", retried, first_retry.c_str());
    }
    if (!first_error.empty()) {
        Progress("  %zu failed; first failure: %s", n - ok, first_error.c_str());
    }
    // Not measured: the OEM account's own view of the result.
    auto things = CountThings(*setup->oem_client, jobs);
    if (!things) {
        Progress("elsim bench modules: %s", things.error().message.c_str());
        return kExitFailed;
    }
    Figure("onboarding: OEM account lists %zu/%zu of the modules' things (JITP)", *things, n);
    start = SteadyClock::now();
    setup->world->Stop();
    Progress("  world down in %.1f s", Seconds(SteadyClock::now() - start));
    return ok == n && *things == n ? kExitOk : kExitFailed;
}

int Run(const ModulesBenchArgs& args) {
    auto scratch = MakeBenchScratch(args.temp_dir, "elsim-bench-modules");
    if (!scratch) {
        Progress("elsim bench modules: --tmp %s", scratch.error().message.c_str());
        return kExitBadInput;
    }
    Figure("elsim bench modules: %u CPUs, load average %s", std::thread::hardware_concurrency(),
           sim::ReadFile("/proc/loadavg").value_or("?").substr(0, 14).c_str());
    int status = kExitOk;
    if (!args.skip_rtt || !args.skip_idle) {
        auto pki = PreparePki(args, scratch->path());
        if (!pki) {
            Progress("elsim bench modules: %s", pki.error().message.c_str());
            return pki.error().code == sim::ErrorCode::kInvalidArgument ||
                           pki.error().code == sim::ErrorCode::kNotFound
                       ? kExitBadInput
                       : kExitFailed;
        }
        // Round trips first, on an otherwise quiet process: the idle fleet's teardown (10,000
        // DISCONNECTs) would disturb the latency figures.
        if (!args.skip_rtt) {
            status = std::max(status, RunRtt(args, *pki));
        }
        if (!args.skip_idle) {
            status = std::max(status, RunIdle(args, *pki, scratch->path()));
        }
    }
    if (!args.skip_onboard) {
        status = std::max(status, RunOnboarding(args, scratch->path()));
    }
    return status;
}

}  // namespace

void AddModulesBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<ModulesBenchArgs>();
    auto* verb = bench.add_subcommand(
        "modules",
        "Software modules at scale: N connected and idle in one process (RSS), AT round trip "
        "over a pty, onboarding rate end to end on a local world");
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
    verb->add_flag("--skip-onboard", args->skip_onboard,
                   "Skip the onboarding measurement (world, claims, JITP)");
    verb->add_option("--onboard", args->onboard,
                     "Modules onboarded end to end (staging connect -> claim -> OEM JITP -> "
                     "connected) in the onboarding measurement")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))
        ->capture_default_str();
    verb->add_option("--onboard-workers", args->onboard_workers,
                     "Host threads driving modules through onboarding (one module each)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{2048}))
        ->capture_default_str();
    verb->add_option("--claim-things", args->claim_things,
                     "Claim-things (open claim sessions, at most 100 claims/s each)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
        ->capture_default_str();
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
        if (!sim::IsLoopbackIpv4(args->address)) {
            Progress("elsim bench modules: --address %s: loopback (127.0.0.0/8) only",
                     args->address.c_str());
            context.exit_code = kExitBadInput;
            return;
        }
        context.exit_code = Run(*args);
    });
}

}  // namespace elsim
