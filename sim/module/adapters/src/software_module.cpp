// SPDX-License-Identifier: Apache-2.0
#include "sim/module/software_module.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "sim/core/adapters.hpp"
#include "sim/module/at_parser.hpp"

namespace sim::module {

namespace fs = std::filesystem;

Result<Identity> LoadIdentity(const fs::path& dir) {
    Identity identity;
    identity.thing_name = dir.filename().string();
    if (identity.thing_name.empty()) {
        identity.thing_name = dir.parent_path().filename().string();
    }
    auto cert = ReadFile(dir / "cert.pem");
    if (!cert) {
        return Unexpected(cert.error());
    }
    if (cert->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         (dir / "cert.pem").string() + ": not a PEM certificate");
    }
    identity.certificate_pem = std::move(*cert);
    identity.certificate_file = dir / "cert.pem";
    identity.key_file = dir / "key.pem";
    std::error_code ec;
    if (!fs::is_regular_file(identity.key_file, ec)) {
        return MakeError(ErrorCode::kNotFound, identity.key_file.string() + ": missing");
    }
    identity.chain_file = fs::is_regular_file(dir / "chain.pem", ec) ? dir / "chain.pem"
                                                                      : dir / "cert.pem";
    return identity;
}

Result<std::vector<fs::path>> ListIdentities(const fs::path& dir) {
    std::error_code ec;
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory() && fs::is_regular_file(entry.path() / "cert.pem")) {
            out.push_back(entry.path());
        }
    }
    if (ec) {
        return MakeError(ErrorCode::kIo, dir.string() + ": " + ec.message());
    }
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

// DIAG PING: a TCP connect to the resolved host on 8883 (ICMP needs privileges), timed.
// Assumed: reachability of the MQTT port stands in for an ICMP echo.
PingResult Ping(const world::Resolver& resolver, const std::string& host) {
    const auto address = resolver ? resolver(host, 8883) : std::nullopt;
    if (!address) {
        return PingResult{false, {}, "cannot resolve " + host};
    }
    const auto start = std::chrono::steady_clock::now();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return PingResult{false, {}, "no socket"};
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(address->port);
    ::inet_pton(AF_INET, address->ip.c_str(), &sa.sin_addr);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    if (!ok && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 2000) == 1) {
            int error = 0;
            socklen_t len = sizeof error;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
            ok = error == 0;
        }
    }
    ::close(fd);
    const auto rtt = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    return PingResult{ok, rtt, ok ? "" : "from " + host};
}

}  // namespace

Result<std::shared_ptr<SoftwareModule>> SoftwareModule::Create(SoftwareModuleOptions options) {
    if (!options.profile) {
        return MakeError(ErrorCode::kInvalidArgument, "module: no profile");
    }
    ModuleState state = PowerOn(options.profile);
    std::error_code ec;
    if (!options.state_file.empty() && fs::exists(options.state_file, ec)) {
        auto text = ReadFile(options.state_file);
        if (!text) {
            return Unexpected(text.error());
        }
        if (auto status = state.config.RestorePersistent(*text); !status) {
            return MakeError(status.error().code,
                             options.state_file.string() + ": " + status.error().message);
        }
    }
    std::shared_ptr<SoftwareModule> module(new SoftwareModule(std::move(options), std::move(state)));
    std::weak_ptr<SoftwareModule> weak = module;
    if (module->options_.make_mqtt) {
        module->mqtt_ = module->options_.make_mqtt([weak](EventBody body) {
            if (auto self = weak.lock()) {
                self->Post(std::move(body));
            }
        });
    }
    return module;
}

SoftwareModule::SoftwareModule(SoftwareModuleOptions options, ModuleState state)
    : options_(std::move(options)), profile_(options_.profile), state_(std::move(state)) {}

SoftwareModule::~SoftwareModule() = default;

void SoftwareModule::Receive(std::string bytes) { Post(BytesReceived{std::move(bytes)}); }

void SoftwareModule::DropLink() { Post(LinkDropped{}); }

void SoftwareModule::Inject(EventBody body) { Post(std::move(body)); }

void SoftwareModule::SetNetworkAvailable(bool available) {
    if (mqtt_) {
        mqtt_->SetNetworkAvailable(available);
    }
}

void SoftwareModule::SetOutput(std::function<void(std::string_view)> output) {
    std::lock_guard lock(output_mutex_);
    output_ = std::move(output);
}

void SoftwareModule::SetEventPinHandler(std::function<void(bool)> handler) {
    std::lock_guard lock(output_mutex_);
    pin_handler_ = std::move(handler);
}

void SoftwareModule::Post(EventBody body) {
    {
        std::lock_guard lock(queue_mutex_);
        queue_.push_back(std::move(body));
        if (draining_) {
            return;  // The draining thread will get to it, in order.
        }
        draining_ = true;
    }
    // Keep the module alive while this thread drains, even if its owner lets go meanwhile.
    auto self = weak_from_this().lock();
    while (true) {
        EventBody next;
        {
            std::lock_guard lock(queue_mutex_);
            if (queue_.empty()) {
                draining_ = false;
                return;
            }
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        const sim::TimePoint now = options_.clock ? options_.clock->Now()
                                                  : std::chrono::system_clock::now();
        std::vector<Effect> effects;
        try {
            effects = Apply(state_, Event{now, std::move(next)});
        } catch (const std::exception& e) {
            // The core does not throw by design; if it ever does, keep the module alive.
            if (options_.logger) {
                options_.logger->error("interpreter failed thing={} error={}",
                                       profile_->thing_name, e.what());
            }
            continue;
        }
        Execute(effects);
    }
}

void SoftwareModule::EmitLine(const std::string& line) {
    if (options_.logger) {
        options_.logger->debug("thing={} > {}", profile_->thing_name, line);
    }
    {
        std::lock_guard lock(collect_mutex_);
        if (collecting_) {
            collected_lines_.push_back(line);
            collected_.notify_all();
        }
    }
    std::lock_guard lock(output_mutex_);
    if (output_) {
        std::string bytes = line;
        bytes += "\r\n";
        output_(bytes);
    }
}

void SoftwareModule::Execute(std::vector<Effect>& effects) {
    for (auto& effect : effects) {
        std::visit(
            [&](auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, WriteLine>) {
                    EmitLine(e.line);
                } else if constexpr (std::is_same_v<T, MqttConnect>) {
                    if (options_.logger) {
                        options_.logger->info("connect thing={} endpoint={}:{} attempt={}",
                                              profile_->thing_name, e.host, e.port, e.attempt);
                    }
                    if (mqtt_) {
                        mqtt_->Connect(e);
                    } else {
                        Post(MqttConnectFailed{e.attempt, 2, "Failed to access network"});
                    }
                } else if constexpr (std::is_same_v<T, MqttDisconnect>) {
                    if (mqtt_) {
                        mqtt_->Disconnect(e);
                    }
                } else if constexpr (std::is_same_v<T, MqttPublish>) {
                    if (mqtt_) {
                        mqtt_->Publish(e);
                    }
                } else if constexpr (std::is_same_v<T, MqttSubscribe>) {
                    if (mqtt_) {
                        mqtt_->Subscribe(e);
                    } else {
                        Post(MqttSubscribeResult{e.attempt, e.request, false});
                    }
                } else if constexpr (std::is_same_v<T, MqttUnsubscribe>) {
                    if (mqtt_) {
                        mqtt_->Unsubscribe(e);
                    }
                } else if constexpr (std::is_same_v<T, StartTimer>) {
                    if (options_.timers) {
                        std::weak_ptr<SoftwareModule> weak = weak_from_this();
                        options_.timers->Schedule(e.after, [weak, kind = e.kind, gen = e.generation] {
                            if (auto self = weak.lock()) {
                                self->Post(TimerFired{kind, gen});
                            }
                        });
                    }
                } else if constexpr (std::is_same_v<T, PersistConfig>) {
                    if (!options_.state_file.empty()) {
                        auto status = WriteFileAtomically(
                            options_.state_file, e.json,
                            fs::perms::owner_read | fs::perms::owner_write);
                        if (!status && options_.logger) {
                            options_.logger->error("cannot persist config: {}",
                                                   status.error().message);
                        }
                    }
                } else if constexpr (std::is_same_v<T, SetEventPin>) {
                    event_pin_.store(e.high);
                    std::lock_guard lock(output_mutex_);
                    if (pin_handler_) {
                        pin_handler_(e.high);
                    }
                } else if constexpr (std::is_same_v<T, DiagPing>) {
                    std::weak_ptr<SoftwareModule> weak = weak_from_this();
                    std::thread([weak, host = e.host, resolver = options_.resolver] {
                        PingResult result = Ping(resolver, host);
                        if (auto self = weak.lock()) {
                            self->Post(std::move(result));
                        }
                    }).detach();
                }
            },
            effect);
    }
}

std::vector<std::string> SoftwareModule::Command(const std::string& line,
                                                 std::chrono::milliseconds timeout) {
    std::lock_guard command_lock(command_mutex_);
    {
        std::lock_guard lock(collect_mutex_);
        collected_lines_.clear();
        collecting_ = true;
    }
    Receive(line + "\n");
    std::unique_lock lock(collect_mutex_);
    const bool done = collected_.wait_for(lock, timeout, [&] {
        return !collected_lines_.empty() &&
               collected_lines_.size() >= ResponseLineCount(collected_lines_.front());
    });
    collecting_ = false;
    if (!done) {
        return {};
    }
    return std::move(collected_lines_);
}

}  // namespace sim::module
