// SPDX-License-Identifier: Apache-2.0
// Brokers that die under a running world: reaped, reported (exit status and the last lines of
// the broker's log), restarted with the account's state, recorded in DIR/broker-exits.json.
#include <algorithm>
#include <csignal>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "running_world.hpp"
#include "sim/core/adapters.hpp"

namespace sim::world {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kLogTailLines = 5;
constexpr auto kKillWait = std::chrono::seconds{5};

std::string UtcNow() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    (void)std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::string CauseOf(int exit_code) {
    if (exit_code > 128) {
        return "signal " + std::to_string(exit_code - 128);
    }
    return "exit status " + std::to_string(exit_code);
}

std::string LastLines(const std::string& text, std::size_t count) {
    std::size_t end = text.size();
    while (end > 0 && text[end - 1] == '\n') {
        --end;
    }
    std::size_t start = end;
    for (std::size_t lines = 0; start > 0; --start) {
        if (text[start - 1] == '\n' && ++lines == count) {
            break;
        }
    }
    return text.substr(start, end - start);
}

nlohmann::json ToJson(const BrokerExit& exit) {
    return nlohmann::json{{"account", exit.account},     {"pid", exit.pid},
                          {"exitCode", exit.exit_code},   {"cause", exit.cause},
                          {"logTail", exit.log_tail},     {"when", exit.when},
                          {"restartedPid", exit.restarted_pid},
                          {"restartError", exit.restart_error}};
}

}  // namespace

std::string Describe(const BrokerExit& exit) {
    std::string text = "the " + exit.account + " broker exited (" + exit.cause + ")";
    if (exit.restarted_pid > 0) {
        text += "; restarted (pid " + std::to_string(exit.restarted_pid) + ")";
    } else if (!exit.restart_error.empty()) {
        text += "; not restarted: " + exit.restart_error;
    }
    return text;
}

sim::Result<std::vector<BrokerExit>> ReadBrokerExits(const fs::path& directory) {
    const fs::path file = directory / "broker-exits.json";
    std::error_code ec;
    if (!fs::exists(file, ec)) {
        return std::vector<BrokerExit>{};
    }
    auto text = sim::ReadFile(file);
    if (!text) {
        return sim::Unexpected<sim::Error>(text.error());
    }
    std::vector<BrokerExit> exits;
    try {
        const auto doc = nlohmann::json::parse(*text);
        for (const auto& e : doc.at("exits")) {
            BrokerExit exit;
            exit.account = e.at("account").get<std::string>();
            exit.pid = e.at("pid").get<int>();
            exit.exit_code = e.at("exitCode").get<int>();
            exit.cause = e.at("cause").get<std::string>();
            exit.log_tail = e.at("logTail").get<std::string>();
            exit.when = e.at("when").get<std::string>();
            exit.restarted_pid = e.at("restartedPid").get<int>();
            exit.restart_error = e.at("restartError").get<std::string>();
            exits.push_back(std::move(exit));
        }
    } catch (const nlohmann::json::exception& e) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              file.string() + ": " + std::string(e.what()));
    }
    return exits;
}

namespace {

// Index of `account` in impl.state.accounts, or kNotFound.
sim::Result<std::size_t> IndexOf(const RunningWorld::Impl& impl, const std::string& account) {
    for (std::size_t i = 0; i < impl.state.accounts.size(); ++i) {
        if (impl.state.accounts[i].name == account) {
            return i;
        }
    }
    return sim::MakeError(sim::ErrorCode::kNotFound, "no account '" + account + "' in the world");
}

// A broker found dead (impl.mutex held): its exit, recorded; the process object is dropped.
BrokerExit RecordExit(RunningWorld::Impl& impl, std::size_t index) {
    auto& broker = impl.brokers[index];
    BrokerExit exit;
    exit.account = impl.state.accounts[index].name;
    exit.pid = broker->Pid();
    exit.exit_code = broker->Stop(std::chrono::milliseconds{0});
    exit.cause = CauseOf(exit.exit_code);
    exit.log_tail = LastLines(broker->Log(), kLogTailLines);
    exit.when = UtcNow();
    broker.reset();
    impl.exits.push_back(exit);
    return exit;
}

// Starts the broker of `index` (impl.mutex held, no broker running for it). "" or why not.
std::string StartBroker(RunningWorld::Impl& impl, std::size_t index) {
    auto broker = MosquittoProcess::Start(impl.broker_options[index]);
    if (!broker) {
        return broker.error().message;
    }
    const auto& account = impl.state.accounts[index];
    const std::uint16_t control_plane = impl.control_plane_ports[index];
    if (control_plane != 0 &&
        !WaitForPort(account.address, control_plane, impl.broker_options[index].ready_timeout)) {
        (*broker)->Stop();
        return "control plane " + account.control_plane_url + " not accepting connections";
    }
    impl.brokers[index] = std::move(*broker);
    impl.restarts[index].push_back(Clock::now());
    return {};
}

// world.json with the brokers' current pids, and broker-exits.json (impl.mutex held).
void WriteFiles(const RunningWorld::Impl& impl) {
    WorldState state = impl.state;
    for (std::size_t i = 0; i < state.accounts.size() && i < impl.brokers.size(); ++i) {
        state.accounts[i].broker_pid = impl.brokers[i] ? impl.brokers[i]->Pid() : 0;
    }
    auto log = sim::Logger("world");
    if (auto s = sim::WriteFileAtomically(impl.directory / "world.json", WorldStateToJson(state));
        !s) {
        log->error("cannot rewrite world.json: {}", s.error().message);
    }
    nlohmann::json exits = nlohmann::json::array();
    for (const auto& exit : impl.exits) {
        exits.push_back(ToJson(exit));
    }
    if (auto s = sim::WriteFileAtomically(impl.directory / "broker-exits.json",
                                          nlohmann::json{{"exits", exits}}.dump(2) + "\n");
        !s) {
        log->error("cannot write broker-exits.json: {}", s.error().message);
    }
}

}  // namespace

std::vector<BrokerExit> RunningWorld::SuperviseOnce(const SupervisionOptions& options) {
    Impl& impl = *impl_;
    std::vector<BrokerExit> found;
    {
        std::lock_guard lock(impl.mutex);
        if (impl.stopping) {
            return found;
        }
        auto log = sim::Logger("world");
        for (std::size_t i = 0; i < impl.brokers.size(); ++i) {
            if (!impl.brokers[i] || impl.brokers[i]->Running()) {
                continue;
            }
            BrokerExit exit = RecordExit(impl, i);
            log->error("account {}: broker pid {} exited ({}); its last log lines:\n{}",
                       exit.account, exit.pid, exit.cause, exit.log_tail);
            if (options.restart) {
                auto& recent = impl.restarts[i];
                const auto now = Clock::now();
                recent.erase(std::remove_if(recent.begin(), recent.end(),
                                            [&](Clock::time_point t) {
                                                return now - t > std::chrono::minutes{1};
                                            }),
                             recent.end());
                if (static_cast<int>(recent.size()) >= options.max_restarts_per_minute) {
                    exit.restart_error = "restarted " + std::to_string(recent.size()) +
                                         " times in the last minute";
                } else {
                    exit.restart_error = StartBroker(impl, i);
                    if (exit.restart_error.empty()) {
                        exit.restarted_pid = impl.brokers[i]->Pid();
                    }
                }
                if (exit.restart_error.empty()) {
                    log->warn("account {}: broker restarted, pid {}", exit.account,
                              exit.restarted_pid);
                } else {
                    log->error("account {}: broker not restarted: {}", exit.account,
                               exit.restart_error);
                }
                impl.exits.back() = exit;
            }
            found.push_back(exit);
        }
        if (!found.empty()) {
            WriteFiles(impl);
        }
    }
    if (options.on_exit) {
        for (const auto& exit : found) {
            options.on_exit(exit);
        }
    }
    return found;
}

void RunningWorld::Supervise(SupervisionOptions options) {
    Impl& impl = *impl_;
    std::lock_guard lock(impl.mutex);
    if (impl.supervisor.joinable() || impl.stopping) {
        return;
    }
    impl.supervisor = std::thread([this, options = std::move(options)] {
        Impl& self = *impl_;
        for (;;) {
            {
                std::unique_lock wait_lock(self.mutex);
                if (self.supervisor_wake.wait_for(wait_lock, options.period,
                                                  [&] { return self.stopping; })) {
                    return;
                }
            }
            (void)SuperviseOnce(options);
        }
    });
}

std::vector<BrokerExit> RunningWorld::BrokerExits() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->exits;
}

sim::Result<int> RunningWorld::BrokerPid(const std::string& account) const {
    std::lock_guard lock(impl_->mutex);
    auto index = IndexOf(*impl_, account);
    if (!index) {
        return sim::Unexpected<sim::Error>(index.error());
    }
    const auto& broker = impl_->brokers[*index];
    return broker && broker->Running() ? broker->Pid() : 0;
}

sim::Result<BrokerExit> RunningWorld::KillBroker(const std::string& account, int signal) {
    Impl& impl = *impl_;
    std::lock_guard lock(impl.mutex);
    auto index = IndexOf(impl, account);
    if (!index) {
        return sim::Unexpected<sim::Error>(index.error());
    }
    auto& broker = impl.brokers[*index];
    if (!broker || !broker->Running()) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              "the " + account + " broker is not running");
    }
    ::kill(broker->Pid(), signal);
    const auto deadline = Clock::now() + kKillWait;
    while (broker->Running()) {
        if (Clock::now() >= deadline) {
            return sim::MakeError(sim::ErrorCode::kUnavailable,
                                  "the " + account + " broker still runs " +
                                      std::to_string(kKillWait.count()) + " s after signal " +
                                      std::to_string(signal));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    BrokerExit exit = RecordExit(impl, *index);
    WriteFiles(impl);
    return exit;
}

sim::Status RunningWorld::RestartBroker(const std::string& account) {
    Impl& impl = *impl_;
    std::lock_guard lock(impl.mutex);
    if (impl.stopping) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition, "the world is stopping");
    }
    auto index = IndexOf(impl, account);
    if (!index) {
        return sim::Unexpected<sim::Error>(index.error());
    }
    if (auto& broker = impl.brokers[*index]; broker) {
        if (broker->Running()) {
            broker->Stop();
            broker.reset();
        } else {
            (void)RecordExit(impl, *index);
        }
    }
    if (auto error = StartBroker(impl, *index); !error.empty()) {
        WriteFiles(impl);
        return sim::MakeError(sim::ErrorCode::kUnavailable,
                              "account '" + account + "': " + error);
    }
    WriteFiles(impl);
    return {};
}

int SuperviseUntilSignal(RunningWorld& world, const sigset_t& set) {
    SupervisionOptions options;
    const timespec period{0, static_cast<long>(options.period.count()) * 1'000'000L};
    for (;;) {
        const int signal_number = ::sigtimedwait(&set, nullptr, &period);
        if (signal_number > 0) {
            return signal_number;
        }
        (void)world.SuperviseOnce(options);
    }
}

}  // namespace sim::world
