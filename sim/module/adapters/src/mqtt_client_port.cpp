// SPDX-License-Identifier: Apache-2.0
#include "sim/module/mqtt_client_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <unordered_map>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sim/core/adapters.hpp"
#include "sim/module/event_loop.hpp"
#include "sim/module/mqtt_codec.hpp"

namespace sim::module {

namespace {

namespace mq = sim::module::mqtt;

// Assumed: incoming packets over 256 KiB close the connection (AWS IoT Core's message limit
// is 128 KiB; the spec gives the module no larger buffer).
constexpr std::size_t kMaxIncoming = 256 * 1024;

// Assumed: whoever moves the world clock past the module's timers (TimerService::Settle) waits
// at most 2 s of real time for a reply the module has requested (a PINGRESP) and for the loop
// task a timer posted, before world time moves on. Over loopback a broker answers in
// microseconds to milliseconds; one that has not answered in 2 s is treated as not answering,
// and its unanswered PINGREQ then ends the connection at the next keep-alive deadline.
constexpr std::chrono::seconds kReplyWait{2};

std::atomic<std::uint64_t> g_connects{0};
std::atomic<std::uint64_t> g_contexts{0};
std::atomic<std::uint64_t> g_stores{0};
std::atomic<std::uint64_t> g_keys{0};

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct StoreFree {
    void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
    void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using SslCtxPtr = std::shared_ptr<SSL_CTX>;
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string OpenSslError(const char* what) {
    std::string text = what;
    const unsigned long code = ERR_get_error();
    if (code != 0) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        text += ": ";
        text += buffer;
    }
    ERR_clear_error();
    return text;
}

std::vector<X509Ptr> DecodeCertificates(const std::string& pem) {
    std::vector<X509Ptr> out;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    while (bio) {
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            break;
        }
        out.push_back(std::move(cert));
    }
    ERR_clear_error();  // the end of the PEM text reads as an error
    return out;
}

// The RootCA values seen in this process, decoded once each and shared by every module's
// context (X509_STORE is reference-counted; a context holds its own reference).
Result<X509_STORE*> TrustStore(const std::string& root_ca_pem) {
    static std::mutex mutex;
    static std::map<std::string, StorePtr> stores;
    std::lock_guard lock(mutex);
    if (const auto it = stores.find(root_ca_pem); it != stores.end()) {
        return it->second.get();
    }
    auto certificates = DecodeCertificates(root_ca_pem);
    if (certificates.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "RootCA: no PEM certificate");
    }
    StorePtr store(X509_STORE_new());
    for (const auto& cert : certificates) {
        X509_STORE_add_cert(store.get(), cert.get());
    }
    ++g_stores;
    if (stores.size() >= 64) {  // contexts keep their own references
        stores.clear();
    }
    return stores.emplace(root_ca_pem, std::move(store)).first->second.get();
}

Result<SslCtxPtr> BuildContext(const std::string& root_ca_pem, const std::string& certificate_pem,
                               EVP_PKEY* key) {
    auto store = TrustStore(root_ca_pem);
    if (!store) {
        return Unexpected(store.error());
    }
    auto chain = DecodeCertificates(certificate_pem);
    if (chain.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "Certificate: no PEM certificate");
    }
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SslCtxFree{});
    if (!ctx) {
        return MakeError(ErrorCode::kInternal, OpenSslError("SSL_CTX_new"));
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set1_cert_store(ctx.get(), *store);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_use_certificate(ctx.get(), chain.front().get()) != 1) {
        return MakeError(ErrorCode::kInvalidArgument, OpenSslError("Certificate"));
    }
    for (std::size_t i = 1; i < chain.size(); ++i) {
        SSL_CTX_add1_chain_cert(ctx.get(), chain[i].get());
    }
    if (SSL_CTX_use_PrivateKey(ctx.get(), key) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         OpenSslError("the birth key does not match Certificate"));
    }
    ++g_contexts;
    return ctx;
}

bool IsIpLiteral(const std::string& host) {
    in_addr v4{};
    in6_addr v6{};
    return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

struct PortCore;

enum class Stage { kTcp, kTls, kConnAck, kOpen, kClosed };

// One connection attempt and, once accepted, its session. Loop thread only.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<PortCore> port, std::uint64_t attempt) :
        port_(std::move(port)), attempt_(attempt) {}
    ~Connection() { Close(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    std::uint64_t attempt() const { return attempt_; }
    bool open() const { return stage_ == Stage::kOpen; }

    void Start(const MqttConnect& request, const world::ResolvedAddress& address, SslCtxPtr ctx,
               std::string connect_packet);
    /// Sends DISCONNECT when open, then closes without reporting anything.
    void Retire();
    void Publish(const MqttPublish& request);
    void Subscribe(const MqttSubscribe& request);
    void Unsubscribe(const MqttUnsubscribe& request);

private:
    void OnEvents(std::uint32_t events);
    void TcpDone();
    void Handshake();
    void Read();
    void Handle(const mq::Packet& packet);
    void Send(const std::string& bytes);
    void Flush();
    void Want(std::uint32_t events);
    void Fail(int hint, const std::string& detail);
    void Lost(const std::string& cause);
    void Close();
    void ScheduleTimeout();
    void Timeout();
    void ScheduleKeepAlive(std::chrono::milliseconds after);
    void KeepAlive();
    std::uint16_t NextPacketId();
    template <class Fn>
    void Later(std::chrono::milliseconds after, Fn fn);

    std::shared_ptr<PortCore> port_;
    std::uint64_t attempt_;
    std::uint64_t id_ = 0;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    SslCtxPtr ctx_;
    Stage stage_ = Stage::kTcp;
    std::uint32_t interest_ = 0;
    std::string in_;
    std::string out_;
    std::string connect_packet_;
    std::string host_;
    std::chrono::seconds keep_alive_{0};
    sim::TimePoint last_sent_{};
    bool ping_outstanding_ = false;
    TimerService::Hold ping_hold_;  // until the PINGRESP is read: the clock waits for it
    std::uint16_t next_packet_id_ = 0;
    std::unordered_map<std::uint16_t, std::uint64_t> subscribes_;  // packet id → request
};

struct PortCore {
    MqttClientOptions options;
    MqttEventSink sink;
    EventLoop& loop = EventLoop::Process();
    std::shared_ptr<Connection> current;  // loop thread only

    // Caller thread (one module's effects run one at a time; the mutex guards against more).
    std::mutex tls_mutex;
    KeyPtr key;
    std::string context_root_ca;
    std::string context_certificate;
    SslCtxPtr context;

    void Emit(EventBody body) {
        try {
            sink(std::move(body));
        } catch (...) {  // NOLINT(bugprone-empty-catch): a module's failure stays its own.
        }
    }
    template <class... Args>
    void Log(spdlog::level::level_enum level, spdlog::format_string_t<Args...> format,
             Args&&... args) {
        if (options.logger) {
            options.logger->log(level, format, std::forward<Args>(args)...);
        }
    }

    Result<SslCtxPtr> Context(const MqttConnect& request) {
        std::lock_guard lock(tls_mutex);
        if (!key) {
            auto pem = ReadFile(options.private_key_file);
            if (!pem) {
                return Unexpected(pem.error());
            }
            BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
            key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
            if (!key) {
                return MakeError(ErrorCode::kInvalidArgument,
                                 OpenSslError((options.private_key_file.string() +
                                               ": not a PEM private key").c_str()));
            }
            ++g_keys;
        }
        if (!context || context_root_ca != request.root_ca_pem ||
            context_certificate != request.certificate_pem) {
            auto built = BuildContext(request.root_ca_pem, request.certificate_pem, key.get());
            if (!built) {
                return Unexpected(built.error());
            }
            context = std::move(*built);
            context_root_ca = request.root_ca_pem;
            context_certificate = request.certificate_pem;
        }
        return context;
    }
};

template <class Fn>
void Connection::Later(std::chrono::milliseconds after, Fn fn) {
    TimerService* timers = port_->options.timers;
    if (timers == nullptr) {
        return;
    }
    std::weak_ptr<Connection> weak = weak_from_this();
    EventLoop* loop = &port_->loop;
    timers->Schedule(after, [timers, weak, loop, fn] {
        // The clock waits until the task has run on the loop (and for what it holds in turn).
        loop->Post([weak, fn, hold = timers->HoldFor(kReplyWait)] {
            if (auto self = weak.lock()) {
                fn(*self);
            }
        });
    });
}

void Connection::Start(const MqttConnect& request, const world::ResolvedAddress& address, SslCtxPtr ctx,
                       std::string connect_packet) {
    ctx_ = std::move(ctx);
    connect_packet_ = std::move(connect_packet);
    host_ = request.sni.empty() ? request.host : request.sni;
    keep_alive_ = request.keep_alive;
    id_ = port_->loop.NextId();
    ++g_connects;
    ScheduleTimeout();
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(address.port);
    if (::inet_pton(AF_INET, address.ip.c_str(), &sa.sin_addr) != 1) {
        Fail(3, "Failed to reach endpoint");
        return;
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        Fail(2, "Failed to access network");  // no socket: no network for this module
        return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS) {
        Fail(3, "Failed to reach endpoint");
        return;
    }
    std::weak_ptr<Connection> weak = weak_from_this();
    interest_ = EPOLLOUT;
    if (!port_->loop.Add(fd_, id_, interest_, [weak](std::uint32_t events) {
            if (auto self = weak.lock()) {
                self->OnEvents(events);
            }
        })) {
        Fail(3, "Failed to reach endpoint");
    }
}

void Connection::OnEvents(std::uint32_t events) {
    switch (stage_) {
        case Stage::kTcp:
            TcpDone();
            return;
        case Stage::kTls:
            Handshake();
            return;
        case Stage::kConnAck:
        case Stage::kOpen:
            if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
                Read();
            }
            if (stage_ != Stage::kClosed && (events & EPOLLOUT) != 0) {
                Flush();
            }
            return;
        case Stage::kClosed:
            return;
    }
}

void Connection::TcpDone() {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
    }
    if (error == ECONNRESET || error == EPIPE) {
        // The TCP connect completed and the server then reset the connection before the
        // handshake could start (e.g. a server refusing TLS): the TLS stage failed.
        Fail(4, "Failed to securely authenticate with AWS");
        return;
    }
    if (error != 0) {
        Fail(3, "Failed to reach endpoint");
        return;
    }
    ssl_ = SSL_new(ctx_.get());
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
        Fail(4, "Failed to securely authenticate with AWS");
        return;
    }
    // The Endpoint host as SNI (RFC 6066 §3), and the name the server certificate must carry.
    SSL_set_tlsext_host_name(ssl_, host_.c_str());
    if (IsIpLiteral(host_)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host_.c_str());
    } else {
        SSL_set1_host(ssl_, host_.c_str());
    }
    stage_ = Stage::kTls;
    Handshake();
}

void Connection::Handshake() {
    const int rc = SSL_connect(ssl_);
    if (rc == 1) {
        stage_ = Stage::kConnAck;
        Want(EPOLLIN);
        Send(connect_packet_);
        connect_packet_.clear();
        connect_packet_.shrink_to_fit();
        if (stage_ != Stage::kClosed) {
            Read();  // the CONNACK may already be in the TLS buffer
        }
        return;
    }
    const int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ) {
        Want(EPOLLIN);
        return;
    }
    if (error == SSL_ERROR_WANT_WRITE) {
        Want(EPOLLIN | EPOLLOUT);
        return;
    }
    const long verify = SSL_get_verify_result(ssl_);
    std::string reason = verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                             : OpenSslError("handshake");
    ERR_clear_error();
    port_->Log(spdlog::level::info, "TLS handshake failed attempt={} host={}: {}", attempt_, host_,
               reason);
    Fail(4, "Failed to securely authenticate with AWS");
}

void Connection::Read() {
    static char buffer[16384];  // loop thread only
    while (stage_ != Stage::kClosed) {
        const int n = SSL_read(ssl_, buffer, sizeof buffer);
        if (n > 0) {
            in_.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_WANT_READ) {
            break;
        }
        if (error == SSL_ERROR_WANT_WRITE) {
            Want(interest_ | EPOLLOUT);
            break;
        }
        // Parse what arrived before the close first (a CONNACK refusal, then the close).
        const std::string cause = error == SSL_ERROR_ZERO_RETURN ? "closed by the broker"
                                                                 : OpenSslError("connection lost");
        while (stage_ != Stage::kClosed) {
            auto next = mq::NextPacket(in_, kMaxIncoming);
            if (!next || !*next) {
                break;
            }
            in_.erase(0, (*next)->consumed);
            Handle((*next)->packet);
        }
        if (stage_ != Stage::kClosed) {
            Lost(cause);
        }
        return;
    }
    while (stage_ != Stage::kClosed) {
        auto next = mq::NextPacket(in_, kMaxIncoming);
        if (!next) {
            Lost("malformed packet from the broker: " + next.error().message);
            return;
        }
        if (!*next) {
            break;
        }
        in_.erase(0, (*next)->consumed);
        Handle((*next)->packet);
    }
    if (in_.empty() && in_.capacity() > 4096) {
        in_.shrink_to_fit();
    }
}

void Connection::Handle(const mq::Packet& packet) {
    if (stage_ == Stage::kConnAck) {
        auto ack = mq::DecodeConnAck(packet);  // §3.2: the first packet from the server
        if (!ack) {
            Fail(5, "Failed to login AWS (MQTT) broker");
            return;
        }
        if (ack->return_code != 0) {
            port_->Log(spdlog::level::info, "CONNACK refused attempt={} rc={}", attempt_,
                       ack->return_code);
            Fail(5, "Failed to login AWS (MQTT) broker");
            return;
        }
        stage_ = Stage::kOpen;
        port_->Emit(MqttConnected{attempt_});
        if (keep_alive_.count() > 0) {
            ScheduleKeepAlive(keep_alive_);
        }
        return;
    }
    switch (packet.type) {
        case mq::PacketType::kPublish: {
            auto publish = mq::DecodePublish(packet);
            if (!publish) {
                Lost("malformed PUBLISH");
                return;
            }
            if (publish->qos == 1) {
                Send(mq::EncodePubAck(publish->packet_id));
            } else if (publish->qos == 2) {
                // Assumed: a QoS 2 delivery (the module subscribes at QoS 0/1 only) ends the
                // session, as AWS IoT Core does not support QoS 2.
                Lost("QoS 2 PUBLISH");
                return;
            }
            port_->Emit(MqttMessage{attempt_, std::move(publish->topic), std::move(publish->payload)});
            return;
        }
        case mq::PacketType::kSubAck: {
            auto ack = mq::DecodeSubAck(packet);
            if (!ack) {
                Lost("malformed SUBACK");
                return;
            }
            const auto it = subscribes_.find(ack->packet_id);
            if (it == subscribes_.end()) {
                return;
            }
            const std::uint64_t request = it->second;
            subscribes_.erase(it);
            port_->Emit(MqttSubscribeResult{attempt_, request, ack->return_codes.front() != 0x80});
            return;
        }
        case mq::PacketType::kPubAck:
        case mq::PacketType::kUnsubAck:
            return;
        case mq::PacketType::kPingResp:
            ping_outstanding_ = false;
            ping_hold_.reset();
            return;
        default:
            Lost("unexpected packet from the broker");
            return;
    }
}

void Connection::Send(const std::string& bytes) {
    out_ += bytes;
    if (port_->options.timers != nullptr) {
        last_sent_ = port_->options.timers->clock().Now();
    }
    Flush();
}

void Connection::Flush() {
    while (!out_.empty() && stage_ != Stage::kClosed) {
        const int n = SSL_write(ssl_, out_.data(), static_cast<int>(std::min<std::size_t>(out_.size(), INT_MAX)));
        if (n > 0) {
            out_.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_WANT_WRITE) {
            Want(EPOLLIN | EPOLLOUT);
            return;
        }
        if (error == SSL_ERROR_WANT_READ) {
            return;
        }
        Lost(OpenSslError("write failed"));
        return;
    }
    if (stage_ != Stage::kClosed) {
        Want(EPOLLIN);
        if (out_.capacity() > 4096) {
            out_.shrink_to_fit();
        }
    }
}

void Connection::Want(std::uint32_t events) {
    if (events != interest_ && fd_ >= 0) {
        interest_ = events;
        port_->loop.Modify(fd_, id_, events);
    }
}

void Connection::Fail(int hint, const std::string& detail) {
    const Stage stage = stage_;
    Close();
    if (stage == Stage::kClosed) {
        return;
    }
    port_->Log(spdlog::level::info, "connect failed attempt={} hint={}", attempt_, hint);
    port_->Emit(MqttConnectFailed{attempt_, hint, detail});
}

void Connection::Lost(const std::string& cause) {
    switch (stage_) {
        case Stage::kTcp:
            Fail(3, "Failed to reach endpoint");
            return;
        case Stage::kTls:
        case Stage::kConnAck:  // dropped after the handshake, before any CONNACK
            port_->Log(spdlog::level::info, "dropped before CONNACK attempt={}: {}", attempt_, cause);
            Fail(4, "Failed to securely authenticate with AWS");
            return;
        case Stage::kOpen:
            Close();
            port_->Log(spdlog::level::info, "connection lost attempt={}: {}", attempt_, cause);
            port_->Emit(MqttConnectionLost{attempt_, cause});
            return;
        case Stage::kClosed:
            return;
    }
}

void Connection::Close() {
    stage_ = Stage::kClosed;
    if (fd_ >= 0) {
        port_->loop.Remove(fd_, id_);
    }
    if (ssl_ != nullptr) {
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    ctx_.reset();
    ping_hold_.reset();
    subscribes_.clear();
    in_.clear();
    in_.shrink_to_fit();
    out_.clear();
    out_.shrink_to_fit();
}

void Connection::Retire() {
    if (stage_ == Stage::kOpen) {
        Send(mq::EncodeDisconnect());
        if (stage_ == Stage::kOpen) {
            SSL_shutdown(ssl_);  // close_notify, best effort (non-blocking)
            ERR_clear_error();
        }
    }
    Close();
}

void Connection::ScheduleTimeout() {
    Later(std::chrono::duration_cast<std::chrono::milliseconds>(port_->options.connect_timeout),
          [](Connection& self) { self.Timeout(); });
}

void Connection::Timeout() {
    switch (stage_) {
        case Stage::kTcp:
            Fail(3, "Failed to reach endpoint");
            return;
        case Stage::kTls:
            Fail(4, "Failed to securely authenticate with AWS");
            return;
        case Stage::kConnAck:
            // Assumed: TLS done, no CONNACK within the connect timeout: the MQTT login failed.
            Fail(5, "Failed to login AWS (MQTT) broker");
            return;
        case Stage::kOpen:
        case Stage::kClosed:
            return;
    }
}

void Connection::ScheduleKeepAlive(std::chrono::milliseconds after) {
    Later(after, [](Connection& self) { self.KeepAlive(); });
}

// MQTT 3.1.1 §3.1.2.10: a PINGREQ when nothing was sent for a keep-alive interval. The PINGREQ
// holds the clock (kReplyWait): an advance across several intervals reads the PINGRESP before
// it reaches the next deadline, so only a broker that really does not answer loses the
// connection.
// Assumed: a PINGREQ still unanswered one keep-alive interval later (on the module's clock)
// closes the connection: the "reasonable amount of time" of MQTT 3.1.1 §3.1.2.10.
void Connection::KeepAlive() {
    if (stage_ != Stage::kOpen) {
        return;
    }
    if (ping_outstanding_) {
        Lost("keep-alive: no PINGRESP");
        return;
    }
    const auto now = port_->options.timers->clock().Now();
    const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_sent_);
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(keep_alive_);
    if (idle >= interval) {
        ping_hold_ = port_->options.timers->HoldFor(kReplyWait);
        Send(mq::EncodePingReq());
        ping_outstanding_ = stage_ == Stage::kOpen;
        ScheduleKeepAlive(interval);
        return;
    }
    ScheduleKeepAlive(interval - idle);
}

std::uint16_t Connection::NextPacketId() {
    next_packet_id_ = static_cast<std::uint16_t>(next_packet_id_ + 1);
    if (next_packet_id_ == 0) {
        next_packet_id_ = 1;
    }
    return next_packet_id_;
}

void Connection::Publish(const MqttPublish& request) {
    if (stage_ != Stage::kOpen) {
        return;
    }
    auto packet = mq::EncodePublish(request.topic, request.payload, request.qos, request.retain,
                                    request.qos > 0 ? NextPacketId() : 0);
    if (!packet) {
        port_->Log(spdlog::level::warn, "publish refused topic={}: {}", request.topic,
                   packet.error().message);
        return;
    }
    Send(*packet);
}

void Connection::Subscribe(const MqttSubscribe& request) {
    if (stage_ != Stage::kOpen) {
        port_->Emit(MqttSubscribeResult{request.attempt, request.request, false});
        return;
    }
    const std::uint16_t id = NextPacketId();
    auto packet = mq::EncodeSubscribe(id, request.topic, request.qos);
    if (!packet) {
        port_->Emit(MqttSubscribeResult{request.attempt, request.request, false});
        return;
    }
    subscribes_[id] = request.request;
    Send(*packet);
}

void Connection::Unsubscribe(const MqttUnsubscribe& request) {
    if (stage_ != Stage::kOpen) {
        return;
    }
    auto packet = mq::EncodeUnsubscribe(NextPacketId(), request.topic);
    if (packet) {
        Send(*packet);
    }
}

class MqttClientPort final : public MqttPort {
public:
    MqttClientPort(MqttClientOptions options, MqttEventSink sink) :
        core_(std::make_shared<PortCore>()) {
        core_->options = std::move(options);
        core_->sink = std::move(sink);
    }

    // Closes the current connection before returning, so that nothing of this port runs on the
    // loop (or schedules on its TimerService) afterwards.
    ~MqttClientPort() override {
        auto core = core_;
        auto close = [core] {
            if (core->current) {
                core->current->Retire();
                core->current.reset();
            }
        };
        if (core_->loop.InLoop()) {
            close();
            return;
        }
        std::promise<void> done;
        auto finished = done.get_future();
        core_->loop.Post([close, &done] {
            close();
            done.set_value();
        });
        finished.wait();
    }
    MqttClientPort(const MqttClientPort&) = delete;
    MqttClientPort& operator=(const MqttClientPort&) = delete;

    void Connect(const MqttConnect& request) override {
        auto fail = [&](int hint, std::string detail) {
            core_->Emit(MqttConnectFailed{request.attempt, hint, std::move(detail)});
        };
        if (!network_available_.load()) {
            fail(2, "Failed to access network");
            return;
        }
        const auto address = core_->options.resolver
                                 ? core_->options.resolver(request.host, request.port)
                                 : std::nullopt;
        if (!address) {
            fail(3, "Invalid Endpoint? cannot resolve " + request.host);
            return;
        }
        auto context = core_->Context(request);
        if (!context) {
            core_->Log(spdlog::level::warn, "TLS context: {}", context.error().message);
            fail(4, "Failed to securely authenticate with AWS");
            return;
        }
        mq::Connect connect;
        connect.client_id = request.client_id;
        connect.username = request.username;
        connect.keep_alive_seconds =
            static_cast<std::uint16_t>(std::min<std::int64_t>(request.keep_alive.count(), 0xFFFF));
        if (request.will) {
            connect.will = mq::Will{request.will->topic, request.will->payload, request.will->qos,
                                    request.will->retain};
        }
        auto packet = mq::EncodeConnect(connect);
        if (!packet) {
            fail(5, "Failed to login AWS (MQTT) broker");
            return;
        }
        core_->loop.Post([core = core_, request, address = *address, ctx = std::move(*context),
                          bytes = std::move(*packet)]() mutable {
            if (core->current) {
                core->current->Retire();
            }
            core->current = std::make_shared<Connection>(core, request.attempt);
            auto connection = core->current;  // Start may fail and report at once
            connection->Start(request, address, std::move(ctx), std::move(bytes));
        });
    }

    void Disconnect(const MqttDisconnect& request) override {
        core_->loop.Post([core = core_, attempt = request.attempt] {
            if (core->current && core->current->attempt() == attempt) {
                core->current->Retire();
                core->current.reset();
            }
        });
    }

    void Publish(const MqttPublish& request) override {
        core_->loop.Post([core = core_, request] {
            if (core->current && core->current->attempt() == request.attempt) {
                core->current->Publish(request);
            }
        });
    }

    void Subscribe(const MqttSubscribe& request) override {
        core_->loop.Post([core = core_, request] {
            if (core->current && core->current->attempt() == request.attempt) {
                core->current->Subscribe(request);
            } else {
                core->Emit(MqttSubscribeResult{request.attempt, request.request, false});
            }
        });
    }

    void Unsubscribe(const MqttUnsubscribe& request) override {
        core_->loop.Post([core = core_, request] {
            if (core->current && core->current->attempt() == request.attempt) {
                core->current->Unsubscribe(request);
            }
        });
    }

    void SetNetworkAvailable(bool available) override { network_available_.store(available); }

private:
    std::shared_ptr<PortCore> core_;
    std::atomic<bool> network_available_{true};
};

}  // namespace

std::unique_ptr<MqttPort> MakeMqttClientPort(MqttClientOptions options, MqttEventSink sink) {
    return std::make_unique<MqttClientPort>(std::move(options), std::move(sink));
}

MqttClientStats GetMqttClientStats() {
    return MqttClientStats{g_connects.load(), g_contexts.load(), g_stores.load(), g_keys.load()};
}

}  // namespace sim::module
