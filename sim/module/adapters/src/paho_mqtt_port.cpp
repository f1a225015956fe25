// SPDX-License-Identifier: Apache-2.0
#include "sim/module/paho_mqtt_port.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include <mqtt/async_client.h>

#include "sim/core/adapters.hpp"
#include "sim/core/hex.hpp"
#include "sim/module/paho_stdin_guard.hpp"
#include "sim/module/tls_file_memo.hpp"

namespace sim::module {

namespace {

// Destroys retired Paho clients on its own thread, a little later: a client must not be
// destroyed from inside one of its own callbacks, which is where a reconnect may start.
class ClientReaper {
public:
    static ClientReaper& Instance() {
        static ClientReaper reaper;
        return reaper;
    }
    void Retire(std::shared_ptr<mqtt::async_client> client) {
        std::lock_guard lock(mutex_);
        // 250 ms was tried: the bench process used less CPU, but it was measured
        // only on a loaded machine and its close(0) and retry counts were not clearly better
        // or worse than with 2 s, so 2 s stays.
        queue_.emplace_back(std::chrono::steady_clock::now() + std::chrono::seconds{2},
                            std::move(client));
        wake_.notify_one();
    }
    ClientReaper(const ClientReaper&) = delete;
    ClientReaper& operator=(const ClientReaper&) = delete;

private:
    ClientReaper() : thread_([this] { Run(); }) {}
    ~ClientReaper() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
    void Run() {
        std::unique_lock lock(mutex_);
        while (true) {
            if (queue_.empty()) {
                if (stop_) {
                    return;
                }
                wake_.wait(lock);
                continue;
            }
            const auto due = queue_.front().first;
            if (!stop_ && std::chrono::steady_clock::now() < due) {
                wake_.wait_until(lock, due);
                continue;
            }
            auto client = std::move(queue_.front().second);
            queue_.pop_front();
            lock.unlock();
            try {
                client.reset();
            } catch (...) {  // NOLINT(bugprone-empty-catch): a failing destroy must not escape.
            }
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<mqtt::async_client>>>
        queue_;
    bool stop_ = false;
    std::thread thread_;
};

// True when a TCP connection to ip:port is refused or times out (hint 3 rather than 4).
bool ProbeUnreachable(const world::ResolvedAddress& address);

// Assumed: a probe's answer holds for kProbeFresh for every module of the process that failed
// on the same address. At onboarding every module's first OEM connect fails once (JITP), and a
// probe each meant a thread and a TCP connect to the broker per module (1,000 extra connects to
// accept and drop in the OEM broker per 1,000 modules). A broker that goes down within that
// second is reported as hint 4 instead of 3 for at most that second.
constexpr auto kProbeFresh = std::chrono::seconds{1};

bool TcpUnreachable(const world::ResolvedAddress& address) {
    struct Probe {
        std::chrono::steady_clock::time_point at;
        bool unreachable = false;
    };
    static std::mutex mutex;
    static std::map<std::pair<std::string, std::uint16_t>, Probe> recent;
    const auto key = std::make_pair(address.ip, address.port);
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex);
        if (const auto it = recent.find(key);
            it != recent.end() && now - it->second.at < kProbeFresh) {
            return it->second.unreachable;
        }
    }
    const bool unreachable = ProbeUnreachable(address);
    std::lock_guard lock(mutex);
    if (recent.size() > 1024) {
        recent.clear();
    }
    recent[key] = Probe{std::chrono::steady_clock::now(), unreachable};
    return unreachable;
}

bool ProbeUnreachable(const world::ResolvedAddress& address) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(address.port);
    ::inet_pton(AF_INET, address.ip.c_str(), &sa.sin_addr);
    bool unreachable = true;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        unreachable = false;
    } else if (errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 500) == 1) {
            int error = 0;
            socklen_t len = sizeof error;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
            unreachable = error != 0;
        }
    }
    ::close(fd);
    return unreachable;
}

struct Shared {
    MqttEventSink sink;
    std::shared_ptr<spdlog::logger> logger;
};

struct Session {
    std::uint64_t attempt = 0;
    world::ResolvedAddress address;
    std::shared_ptr<mqtt::async_client> client;
    std::chrono::steady_clock::time_point started;  // when the connect was issued
    std::chrono::seconds connect_timeout{0};
};

enum class OpKind { kConnect, kSubscribe };

struct OpContext {
    std::shared_ptr<Shared> shared;
    std::shared_ptr<Session> session;
    OpKind kind = OpKind::kConnect;
    std::uint64_t request = 0;
};

// One stateless listener; per-operation data travels in the token's user context, which the
// listener owns from the moment Paho accepted the operation.
class Listener final : public mqtt::iaction_listener {
public:
    void on_success(const mqtt::token& token) override { Complete(token, true); }
    void on_failure(const mqtt::token& token) override { Complete(token, false); }

private:
    static void Report(const Shared& shared, std::uint64_t attempt, int rc,
                       MqttConnectFailed failed) noexcept {
        try {
            if (shared.logger) {
                shared.logger->info("connect failed attempt={} rc={} hint={}", attempt, rc,
                                    failed.hint);
            }
            shared.sink(std::move(failed));
        } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may cross into Paho C.
        }
    }

    static void Complete(const mqtt::token& token, bool ok) noexcept {
        std::unique_ptr<OpContext> ctx(static_cast<OpContext*>(token.get_user_context()));
        if (!ctx) {
            return;
        }
        try {
            const auto attempt = ctx->session->attempt;
            if (ctx->kind == OpKind::kSubscribe) {
                ctx->shared->sink(MqttSubscribeResult{attempt, ctx->request, ok});
                return;
            }
            if (ok) {
                ctx->shared->sink(MqttConnected{attempt});
                return;
            }
            const int rc = token.get_return_code();
            if (rc >= 1 && rc <= 5) {
                // CONNACK return code: login refused.
                Report(*ctx->shared, attempt, rc,
                       MqttConnectFailed{attempt, 5, "Failed to login AWS (MQTT) broker"});
                return;
            }
            // TLS failure or unreachable? The probe may block up to 500 ms, and this is the
            // one Paho receive thread every client of the process shares: probe elsewhere.
            MqttConnectFailed tls{attempt, 4, "Failed to securely authenticate with AWS"};
            // Assumed: an attempt that failed only when the connect timeout ran out, at a
            // reachable endpoint, got through TLS and waited for a CONNACK that never came:
            // the MQTT login failed (PG-CMD 4.7.2.2 hint 5). Paho does not say which stage
            // timed out, so a TLS handshake that hangs is reported the same way.
            const bool timed_out =
                ctx->session->connect_timeout.count() > 0 &&
                std::chrono::steady_clock::now() - ctx->session->started >=
                    ctx->session->connect_timeout - std::chrono::milliseconds{500};
            try {
                std::thread([shared = ctx->shared, address = ctx->session->address, attempt, rc,
                             tls, timed_out] {
                    if (TcpUnreachable(address)) {
                        Report(*shared, attempt, rc,
                               MqttConnectFailed{attempt, 3, "Failed to reach endpoint"});
                    } else if (timed_out) {
                        Report(*shared, attempt, rc,
                               MqttConnectFailed{attempt, 5, "Failed to login AWS (MQTT) broker"});
                    } else {
                        Report(*shared, attempt, rc, tls);
                    }
                }).detach();
            } catch (const std::system_error&) {  // no thread: report without the probe
                Report(*ctx->shared, attempt, rc, tls);
            }
        } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may cross into Paho C.
        }
    }
};

Listener& TheListener() {
    static Listener listener;
    return listener;
}

// Writes a PEM value once under a content-derived name (shared between modules).
Result<std::filesystem::path> CachePem(const std::filesystem::path& dir, const std::string& pem,
                                       const char* kind) {
    // FNV-1a 64 is enough to tell values apart; the file is compared before reuse.
    std::uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char c : pem) {
        hash = (hash ^ c) * 1099511628211ULL;
    }
    std::string name = kind;
    name += '-';
    for (int shift = 60; shift >= 0; shift -= 4) {
        name.push_back("0123456789abcdef"[(hash >> shift) & 0xF]);
    }
    const auto path = dir / (name + ".pem");
    static std::mutex mutex;
    // Files this process has written or compared already: every connect of every module asks
    // for the same root CA, and re-reading it under this lock each time serialised connects.
    static std::set<std::filesystem::path> known;
    std::lock_guard lock(mutex);
    if (std::error_code missing; known.count(path) != 0 && std::filesystem::exists(path, missing)) {
        return path;  // (a removed directory, e.g. a fleet's temporary one, is written again)
    }
    if (auto existing = ReadFile(path); existing && *existing == pem) {
        known.insert(path);
        return path;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (auto status = WriteFileAtomically(path, pem); !status) {
        return Unexpected(status.error());
    }
    known.insert(path);
    return path;
}

class PahoMqttPort final : public MqttPort {
public:
    PahoMqttPort(PahoOptions options, MqttEventSink sink)
        : options_(std::move(options)),
          shared_(std::make_shared<Shared>(Shared{std::move(sink), options_.logger})) {}

    ~PahoMqttPort() override {
        std::lock_guard lock(mutex_);
        RetireLocked();
    }
    PahoMqttPort(const PahoMqttPort&) = delete;
    PahoMqttPort& operator=(const PahoMqttPort&) = delete;

    void Connect(const MqttConnect& request) override {
        auto fail = [&](int hint, std::string detail) {
            shared_->sink(MqttConnectFailed{request.attempt, hint, std::move(detail)});
        };
        if (!network_available_.load()) {
            fail(2, "Failed to access network");
            return;
        }
        const auto address = options_.resolver ? options_.resolver(request.host, request.port)
                                                : std::nullopt;
        if (!address) {
            fail(3, "Invalid Endpoint? cannot resolve " + request.host);
            return;
        }
        auto trust = CachePem(options_.cache_dir, request.root_ca_pem, "rootca");
        // The identity's own file when it still matches: staging a copy per module cost a
        // file write + fsync under one lock at every first connect, which capped a fleet's
        // connect rate at about 50/s (elsim bench modules).
        const bool own_file = !options_.certificate_file.empty() && options_.certificate_pem &&
                              *options_.certificate_pem == request.certificate_pem;
        auto keys = own_file ? Result<std::filesystem::path>(options_.certificate_file)
                             : CachePem(options_.cache_dir, request.certificate_pem, "cert");
        if (!trust || !keys) {
            fail(4, "cannot stage TLS files: " + (!trust ? trust.error() : keys.error()).message);
            return;
        }
        auto session = std::make_shared<Session>();
        session->attempt = request.attempt;
        session->address = *address;
        session->connect_timeout = options_.connect_timeout;
        const std::string uri = "ssl://" + address->ip + ":" + std::to_string(address->port);
        try {
            session->client = std::make_shared<mqtt::async_client>(
                uri, request.client_id, mqtt::create_options(MQTTVERSION_3_1_1));
            // No ssl error_handler: in Paho C++ 1.2 its C context points at the ssl_options
            // object that the builder copies away, and the callback then crashes inside
            // ERR_print_errors_cb (seen in this project's integration test). TLS failures are
            // told from unreachable endpoints by a TCP probe instead.
            auto ssl = mqtt::ssl_options_builder()
                           .trust_store(trust->string())
                           .key_store(keys->string())
                           .private_key(options_.private_key_file.string())
                           .enable_server_cert_auth(true)
                           .verify(true)
                           .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                           .finalize();
            auto builder = mqtt::connect_options_builder()
                               .mqtt_version(MQTTVERSION_3_1_1)
                               .clean_session(true)
                               .keep_alive_interval(request.keep_alive)
                               .connect_timeout(options_.connect_timeout)
                               .automatic_reconnect(false)
                               .user_name(request.username)
                               .ssl(std::move(ssl));
            if (request.will) {
                builder.will(mqtt::will_options(request.will->topic, request.will->payload,
                                                request.will->qos, request.will->retain));
            }
            const std::uint64_t attempt = request.attempt;
            auto shared = shared_;
            session->client->set_connection_lost_handler(
                [shared, attempt](const std::string& cause) {
                    try {
                        shared->sink(MqttConnectionLost{attempt, cause});
                    } catch (...) {  // NOLINT(bugprone-empty-catch)
                    }
                });
            session->client->set_message_callback([shared, attempt](mqtt::const_message_ptr m) {
                try {
                    shared->sink(MqttMessage{attempt, m->get_topic(), m->get_payload_str()});
                } catch (...) {  // NOLINT(bugprone-empty-catch)
                }
            });
            {
                std::lock_guard lock(mutex_);
                RetireLocked();
                current_ = session;
            }
            auto context = std::make_unique<OpContext>(OpContext{shared_, session, OpKind::kConnect, 0});
            session->started = std::chrono::steady_clock::now();
            session->client->connect(builder.finalize(), context.get(), TheListener());
            context.release();  // NOLINT(bugprone-unused-return-value): owned by the listener.
        } catch (const std::exception& e) {
            fail(4, std::string("Failed to start TLS connection: ") + e.what());
        }
    }

    void Disconnect(const MqttDisconnect& request) override {
        std::lock_guard lock(mutex_);
        if (current_ && current_->attempt == request.attempt) {
            RetireLocked();
        }
    }

    void Publish(const MqttPublish& request) override {
        auto session = Current(request.attempt);
        if (!session) {
            return;
        }
        try {
            session->client->publish(request.topic, request.payload.data(), request.payload.size(),
                                     request.qos, request.retain);
        } catch (const std::exception& e) {
            Log("publish failed topic={} error={}", request.topic, e.what());
        }
    }

    void Subscribe(const MqttSubscribe& request) override {
        auto session = Current(request.attempt);
        if (!session) {
            shared_->sink(MqttSubscribeResult{request.attempt, request.request, false});
            return;
        }
        auto context = std::make_unique<OpContext>(
            OpContext{shared_, session, OpKind::kSubscribe, request.request});
        try {
            session->client->subscribe(request.topic, request.qos, context.get(), TheListener());
            context.release();  // NOLINT(bugprone-unused-return-value): owned by the listener.
        } catch (const std::exception& e) {
            Log("subscribe failed topic={} error={}", request.topic, e.what());
            shared_->sink(MqttSubscribeResult{request.attempt, request.request, false});
        }
    }

    void Unsubscribe(const MqttUnsubscribe& request) override {
        auto session = Current(request.attempt);
        if (!session) {
            return;
        }
        try {
            session->client->unsubscribe(request.topic);
        } catch (const std::exception& e) {
            Log("unsubscribe failed topic={} error={}", request.topic, e.what());
        }
    }

    void SetNetworkAvailable(bool available) override { network_available_.store(available); }

private:
    template <class... Args>
    void Log(spdlog::format_string_t<Args...> format, Args&&... args) {
        if (options_.logger) {
            options_.logger->warn(format, std::forward<Args>(args)...);
        }
    }

    std::shared_ptr<Session> Current(std::uint64_t attempt) {
        std::lock_guard lock(mutex_);
        if (current_ && current_->attempt == attempt) {
            return current_;
        }
        return nullptr;
    }

    void RetireLocked() {
        if (!current_) {
            return;
        }
        auto client = current_->client;
        current_.reset();
        if (!client) {
            return;
        }
        try {
            client->disconnect(0);
        } catch (...) {  // NOLINT(bugprone-empty-catch): not connected yet, or already gone.
        }
        ClientReaper::Instance().Retire(std::move(client));
    }

    PahoOptions options_;
    std::shared_ptr<Shared> shared_;
    std::mutex mutex_;
    std::shared_ptr<Session> current_;
    std::atomic<bool> network_available_{true};
};

}  // namespace

std::unique_ptr<MqttPort> MakePahoMqttPort(PahoOptions options, MqttEventSink sink) {
    // Paho C decodes the PEM files on every connect; the memo (and this reference, which links
    // it into every program that uses this port) takes that off its receive thread.
    static const bool memo_active = TlsFileMemoActive();
    // And the guard against Paho C closing descriptor 0 (sim/module/paho_stdin_guard.hpp).
    static const bool guard_active = PahoStdinGuardActive();
    if (options.logger && (!memo_active || !guard_active)) {
        options.logger->debug("Paho work-arounds: TLS file memo {}, stdin guard {}",
                              memo_active ? "on" : "off", guard_active ? "on" : "off");
    }
    return std::make_unique<PahoMqttPort>(std::move(options), std::move(sink));
}

}  // namespace sim::module
