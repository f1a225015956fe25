// SPDX-License-Identifier: Apache-2.0
// libelsim_tls_tap.so: preloaded into mosquitto (LD_PRELOAD) so that mosquitto's calls to
// SSL_read and SSL_get1_peer_certificate reach these interposers first (a preloaded library
// comes first in symbol lookup; `nm -D /usr/sbin/mosquitto` shows both imported from libssl).
// Each forwards to the real function (dlsym(RTLD_NEXT)), then observes. Why a tap at all:
// mosquitto 2.0.11 gives plugins no packet hook, no way to set the keep-alive and no SNI
// (`mosquitto_plugin.h` of 2.0.11), and AWS IoT applies all three (AWS IoT Core Developer
// Guide, 'Transport security in AWS IoT Core'; AWS IoT Core endpoints and quotas).
//
// Per-connection state (an MqttFramer, and the faults held on it) is in the SSL object's
// ex_data (index allocated once, freed by OpenSSL with the SSL). mosquitto reads and writes
// every connection on its main thread; "the SSL last asked" is thread_local. Faults
// (sim/broker/README.md "Faults") also interpose SSL_accept (refuse a handshake), SSL_write
// (hold or discard packets) and SSL_get_error (a blackholed read looks like "no data yet").

#include "sim/broker/tap/tls_tap.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <ctime>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dlfcn.h>
#include <sys/socket.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "sim/broker/tap/mqtt_framer.hpp"

#define ELSIM_TAP_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using sim::broker::tap::MqttFramer;
using sim::broker::tap::RefusalReason;
using SslReadFn = int (*)(SSL*, void*, int);
using SslWriteFn = int (*)(SSL*, const void*, int);
using SslAcceptFn = int (*)(SSL*);
using SslGetErrorFn = int (*)(const SSL*, int);
using SslGetPeerFn = X509* (*)(const SSL*);
using SslNewFn = SSL* (*)(SSL_CTX*);
using VerifyTimeFn = long long (*)();

thread_local const SSL* last_ssl = nullptr;
// An SSL_read whose bytes a blackhole discarded returns -1; mosquitto then asks SSL_get_error,
// which answers SSL_ERROR_WANT_READ for this SSL once.
thread_local const SSL* discarded_read = nullptr;
std::atomic<VerifyTimeFn> verify_time_source{nullptr};

// Network faults are a network condition, not an AWS rule: the monotonic clock.
long long NowMs() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

struct Hold {
    unsigned mask = 0;
    int delay_ms = 0;  // < 0: discard
    long long until_ms = 0;  // LLONG_MAX: for the connection's life
    bool discard_reads = false;
};

struct ClientHold {
    std::string client_id;  // empty: every connection
    Hold hold;
};

struct Pending {
    std::vector<std::uint8_t> bytes;
    long long due_ms = 0;
};

// Per-connection state, in the SSL's ex_data.
struct Conn {
    MqttFramer framer;
    std::string client_id;
    std::vector<Hold> holds;
    std::deque<Pending> queue;
    bool accept_seen = false;
    bool connect_checked = false;  // the first bytes read were checked for a blackholed CONNECT
};

struct Globals {
    std::mutex mutex;
    elsim_tap_accept_hook hook = nullptr;
    void* hook_context = nullptr;
    std::vector<ClientHold> client_holds;
    // client_holds is not empty: SSL_write takes the mutex only then.
    std::atomic<bool> any_client_hold{false};
    std::vector<SSL*> with_queue;  // connections whose queue is not empty
};

Globals& G() {
    static Globals* globals = new Globals();  // never destroyed: used until exit
    return *globals;
}

void FreeConn(void* parent, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
              void* /*argp*/) noexcept {
    auto* conn = static_cast<Conn*>(ptr);
    if (conn != nullptr && !conn->queue.empty()) {
        std::lock_guard lock(G().mutex);
        std::erase(G().with_queue, static_cast<SSL*>(parent));
    }
    delete conn;
}

// -1 when OpenSSL could not allocate an index (then nothing is observed).
int ConnIndex() noexcept {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeConn);
    return index;
}

Conn* ConnOf(const SSL* ssl) noexcept {
    const int index = ConnIndex();
    return index < 0 || ssl == nullptr ? nullptr : static_cast<Conn*>(SSL_get_ex_data(ssl, index));
}

Conn* MakeConn(SSL* ssl) noexcept {
    if (Conn* conn = ConnOf(ssl)) {
        return conn;
    }
    const int index = ConnIndex();
    if (index < 0 || ssl == nullptr) {
        return nullptr;
    }
    auto* conn = new (std::nothrow) Conn();
    if (conn == nullptr) {
        return nullptr;
    }
    if (SSL_set_ex_data(ssl, index, conn) != 1) {
        delete conn;
        return nullptr;
    }
    return conn;
}

const MqttFramer* FramerOf(const SSL* ssl) noexcept {
    const Conn* conn = ConnOf(ssl);
    return conn == nullptr ? nullptr : &conn->framer;
}

// Feeds the bytes just read to the connection's framer. False when the framer refuses the
// packet being read (MqttFramer::Refused): the read must then fail.
bool Observe(SSL* ssl, void* buffer, int size) noexcept {
    Conn* conn = MakeConn(ssl);
    if (conn == nullptr) {
        return true;
    }
    conn->framer.Feed(std::span<std::uint8_t>(static_cast<std::uint8_t*>(buffer),
                                              static_cast<std::size_t>(size)));
    return !conn->framer.Refused();
}

// The hold that applies to a packet of `type` on `conn` now, if any (client holds included).
std::optional<Hold> HoldFor(const Conn& conn, int type, bool reads, long long now) {
    auto applies = [&](const Hold& hold) {
        return now < hold.until_ms &&
               (reads ? hold.discard_reads : (hold.mask & (1U << type)) != 0);
    };
    for (const auto& hold : conn.holds) {
        if (applies(hold)) {
            return hold;
        }
    }
    if (!G().any_client_hold.load(std::memory_order_acquire)) {
        return std::nullopt;
    }
    std::lock_guard lock(G().mutex);
    std::erase_if(G().client_holds,
                  [&](const ClientHold& client) { return client.hold.until_ms <= now; });
    if (G().client_holds.empty()) {
        G().any_client_hold.store(false, std::memory_order_release);
        return std::nullopt;
    }
    for (const auto& client : G().client_holds) {
        if ((client.client_id.empty() || client.client_id == conn.client_id) &&
            !conn.client_id.empty() && applies(client.hold)) {
            return client.hold;
        }
    }
    return std::nullopt;
}

SslWriteFn RealWrite() {
    static const auto real = reinterpret_cast<SslWriteFn>(dlsym(RTLD_NEXT, "SSL_write"));
    return real;
}

SslGetErrorFn RealGetError() {
    static const auto real = reinterpret_cast<SslGetErrorFn>(dlsym(RTLD_NEXT, "SSL_get_error"));
    return real;
}

SslReadFn RealRead() {
    static const auto real = reinterpret_cast<SslReadFn>(dlsym(RTLD_NEXT, "SSL_read"));
    return real;
}

// The end of the latest blackhole in force for `client_id` (an empty id: for every client
// only), or 0 when there is none.
long long BlackholeUntil(std::string_view client_id, long long now) {
    std::lock_guard lock(G().mutex);
    long long until = 0;
    for (const auto& client : G().client_holds) {
        if (client.hold.discard_reads && now < client.hold.until_ms &&
            (client.client_id.empty() || client.client_id == client_id) &&
            client.hold.until_ms > until) {
            until = client.hold.until_ms;
        }
    }
    return until;
}

bool AnyBlackhole(long long now) {
    std::lock_guard lock(G().mutex);
    for (const auto& client : G().client_holds) {
        if (client.hold.discard_reads && now < client.hold.until_ms) {
            return true;
        }
    }
    return false;
}

// From now until `until`, nothing of this connection reaches the broker or the client.
void Swallow(Conn& conn, long long until) {
    Hold hold;
    hold.mask = 0xFFFFU;
    hold.delay_ms = -1;
    hold.until_ms = until;
    hold.discard_reads = true;
    conn.holds.push_back(hold);
}

// Reads and drops what the peer sent, below TLS. False when the peer has closed the
// connection (or it failed): OpenSSL must then see the end.
bool DrainSocket(int fd) {
    char scratch[4096];
    for (;;) {
        const ssize_t got = ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (got > 0 || (got < 0 && errno == EINTR)) {
            continue;
        }
        return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

// A connection accepted while a blackhole for every client is in force: its TLS handshake
// bytes are dropped before OpenSSL reads them, so the client's handshake gets no answer. True
// when this call's bytes were dropped (SSL_get_error then says "no data yet").
bool DropHandshakeBytes(SSL* ssl, const Conn& conn) {
    if (conn.holds.empty() || SSL_is_init_finished(ssl) || !HoldFor(conn, 0, true, NowMs())) {
        return false;
    }
    if (!DrainSocket(SSL_get_fd(ssl))) {
        return false;
    }
    discarded_read = ssl;
    return true;
}

// The first bytes a connection reads are its CONNECT, which names the client. When a blackhole
// is in force for that client (or for every client), the CONNECT is swallowed before the broker
// parses it, so the account never sees it, and so is everything else for the rest of the hole.
// `read` holds what this SSL_read took (mosquitto reads a packet's first byte alone); the rest
// of the TLS record is peeked at. True when the bytes were swallowed.
// Not emulated: a black hole for one client is on that client's own network path, from its first
// packet; here the client is known only from its CONNECT, so its TCP and TLS handshakes complete
// and the CONNECT is the first thing lost (the client then waits for a CONNACK).
bool SwallowConnect(SSL* ssl, Conn& conn, const void* read, int got) {
    if (conn.connect_checked) {
        return false;
    }
    conn.connect_checked = true;
    const long long now = NowMs();
    if (!AnyBlackhole(now)) {
        return false;
    }
    std::uint8_t bytes[2048];
    std::size_t have = std::min(static_cast<std::size_t>(got), sizeof bytes);
    std::memcpy(bytes, read, have);
    const int pending = SSL_pending(ssl);
    if (pending > 0 && have < sizeof bytes) {
        const int peeked = SSL_peek(ssl, bytes + have,
                                    std::min(pending, static_cast<int>(sizeof bytes - have)));
        if (peeked > 0) {
            have += static_cast<std::size_t>(peeked);
        }
    }
    const auto client_id = sim::broker::tap::ConnectClientId({bytes, have});
    if (!client_id) {
        return false;  // not readable here: the plugin applies the blackhole at the CONNECT
    }
    const long long until = BlackholeUntil(*client_id, now);
    if (until == 0) {
        return false;
    }
    conn.client_id.assign(client_id->begin(), client_id->end());
    Swallow(conn, until);
    const auto real = RealRead();
    while (real != nullptr && SSL_pending(ssl) > 0) {
        if (real(ssl, bytes, static_cast<int>(sizeof bytes)) <= 0) {
            break;
        }
    }
    discarded_read = ssl;
    return true;
}

}  // namespace

ELSIM_TAP_EXPORT int SSL_read(SSL* ssl, void* buf, int num) {
    const auto real = RealRead();
    if (real == nullptr) {
        return -1;
    }
    if (ssl != nullptr) {
        if (const MqttFramer* framer = FramerOf(ssl); framer != nullptr && framer->Refused()) {
            return -1;  // the connection is being closed: nothing more reaches the broker
        }
        if (const Conn* conn = ConnOf(ssl); conn != nullptr && DropHandshakeBytes(ssl, *conn)) {
            return -1;
        }
    }
    const int got = real(ssl, buf, num);
    if (got > 0 && ssl != nullptr && buf != nullptr) {
        Conn* conn = ConnOf(ssl);
        if (conn != nullptr && HoldFor(*conn, 0, true, NowMs())) {
            discarded_read = ssl;  // a blackhole: the bytes are gone
            return -1;
        }
        if (conn != nullptr && SwallowConnect(ssl, *conn, buf, got)) {
            return -1;
        }
        if (!Observe(ssl, buf, got)) {
            // A refused packet (QoS 2, payload over 128 KB): the read fails before the broker
            // has parsed the packet, so it answers nothing and closes the connection. With no
            // OpenSSL error queued and no retry wanted, SSL_get_error reports
            // SSL_ERROR_SYSCALL, which mosquitto treats as a socket error on that client.
            return -1;
        }
    }
    return got;
}

ELSIM_TAP_EXPORT int SSL_get_error(const SSL* ssl, int ret) {
    if (ssl != nullptr && ssl == discarded_read) {
        discarded_read = nullptr;
        return SSL_ERROR_WANT_READ;
    }
    const auto real = RealGetError();
    return real == nullptr ? SSL_ERROR_SSL : real(ssl, ret);
}

ELSIM_TAP_EXPORT int SSL_write(SSL* ssl, const void* buf, int num) {
    const auto real = RealWrite();
    if (real == nullptr) {
        return -1;
    }
    Conn* conn = ConnOf(ssl);
    if (conn == nullptr || buf == nullptr || num <= 0) {
        return real(ssl, buf, num);
    }
    // mosquitto writes one packet (or the rest of one) per call: its first byte names it.
    const int type = static_cast<const std::uint8_t*>(buf)[0] >> 4;
    const long long now = NowMs();
    const auto hold = HoldFor(*conn, type, false, now);
    if (conn->queue.empty() && !hold) {
        return real(ssl, buf, num);
    }
    if (hold && hold->delay_ms < 0) {
        return num;  // discarded; mosquitto believes it was sent
    }
    Pending pending;
    const auto* bytes = static_cast<const std::uint8_t*>(buf);
    pending.bytes.assign(bytes, bytes + num);
    pending.due_ms = hold ? now + hold->delay_ms : now;
    if (!conn->queue.empty() && conn->queue.back().due_ms > pending.due_ms) {
        pending.due_ms = conn->queue.back().due_ms;  // behind what is held already
    }
    if (conn->queue.empty()) {
        std::lock_guard lock(G().mutex);
        G().with_queue.push_back(ssl);
    }
    conn->queue.push_back(std::move(pending));
    return num;
}

ELSIM_TAP_EXPORT int SSL_accept(SSL* ssl) {
    static const auto real = reinterpret_cast<SslAcceptFn>(dlsym(RTLD_NEXT, "SSL_accept"));
    if (real == nullptr) {
        return -1;
    }
    Conn* conn = MakeConn(ssl);
    if (conn != nullptr && !conn->accept_seen) {
        conn->accept_seen = true;
        elsim_tap_accept_hook hook = nullptr;
        void* context = nullptr;
        {
            std::lock_guard lock(G().mutex);
            hook = G().hook;
            context = G().hook_context;
        }
        if (hook != nullptr && hook(context) != 0) {
            // The handshake then fails at once (end of stream), as a refused TLS connection.
            ::shutdown(SSL_get_fd(ssl), SHUT_RDWR);
        } else if (const long long until = BlackholeUntil({}, NowMs()); until > 0) {
            // A blackhole for every client: the handshake goes nowhere.
            // Not emulated: a black hole also swallows the TCP handshake (the client then fails
            // to reach the endpoint at all); the kernel has accepted the TCP connection before
            // the broker sees it, so here the client's TLS handshake is what gets no answer.
            Swallow(*conn, until);
        }
    }
    if (conn != nullptr && DropHandshakeBytes(ssl, *conn)) {
        // The handshake goes on in SSL_read, as after any accept that wants to read; what the
        // client sent before the hole ended is gone, so it gets no answer.
        SSL_set_accept_state(ssl);
        return -1;
    }
    return real(ssl);
}

// mosquitto makes one SSL object per accepted TLS connection (SSL_new, then SSL_accept): the
// handshake that follows checks the client certificate's validity at the time set here, and
// issues no stateless session tickets.
// Assumed: the world time taken when the connection is accepted holds for its handshake (a
// handshake takes milliseconds; an advance during one applies from the next connection).
ELSIM_TAP_EXPORT SSL* SSL_new(SSL_CTX* ctx) {
    static const auto real = reinterpret_cast<SslNewFn>(dlsym(RTLD_NEXT, "SSL_new"));
    if (real == nullptr) {
        return nullptr;
    }
    SSL* ssl = real(ctx);
    if (ssl != nullptr) {
        // Assumed: AWS IoT documents no TLS session resumption. A client that resumes does so
        // by session ID from this broker's cache (TLS 1.2, and TLS 1.3 stateful tickets): no
        // stateless tickets, which OpenSSL 3.0 builds by encoding the session, decoding it
        // again (the client certificate and its key included) and re-encoding it, for every
        // ticket of every handshake, on mosquitto's only thread.
        SSL_set_options(ssl, SSL_OP_NO_TICKET);
    }
    const VerifyTimeFn source = verify_time_source.load();
    if (ssl != nullptr && source != nullptr) {
        const long long now = source();
        if (now >= 0) {
            X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl), static_cast<time_t>(now));
        }
    }
    return ssl;
}

ELSIM_TAP_EXPORT void elsim_tap_set_verify_time(long long (*source)(void)) {
    verify_time_source.store(source);
}

ELSIM_TAP_EXPORT X509* SSL_get1_peer_certificate(const SSL* ssl) {
    static const auto real =
        reinterpret_cast<SslGetPeerFn>(dlsym(RTLD_NEXT, "SSL_get1_peer_certificate"));
    if (real == nullptr) {
        return nullptr;
    }
    last_ssl = ssl;
    return real(ssl);
}

ELSIM_TAP_EXPORT void elsim_tap_set_accept_hook(elsim_tap_accept_hook hook, void* context) {
    std::lock_guard lock(G().mutex);
    G().hook = hook;
    G().hook_context = context;
}

ELSIM_TAP_EXPORT void elsim_tap_tag(SSL* ssl, const char* client_id) {
    if (Conn* conn = MakeConn(ssl); conn != nullptr && client_id != nullptr) {
        conn->client_id = client_id;
    }
}

namespace {
Hold MakeHold(unsigned mask, int delay_ms, long long for_ms, int discard_reads, long long now) {
    Hold hold;
    hold.mask = mask;
    hold.delay_ms = delay_ms;
    hold.until_ms = for_ms < 0 ? std::numeric_limits<long long>::max() : now + for_ms;
    hold.discard_reads = discard_reads != 0;
    return hold;
}
}  // namespace

ELSIM_TAP_EXPORT int elsim_tap_hold(SSL* ssl, unsigned packet_mask, int delay_ms,
                                    long long for_ms, int discard_reads) {
    Conn* conn = MakeConn(ssl);
    if (conn == nullptr) {
        return 0;
    }
    conn->holds.push_back(MakeHold(packet_mask, delay_ms, for_ms, discard_reads, NowMs()));
    return 1;
}

ELSIM_TAP_EXPORT void elsim_tap_hold_client(const char* client_id, unsigned packet_mask,
                                            int delay_ms, long long for_ms, int discard_reads) {
    const long long now = NowMs();
    std::lock_guard lock(G().mutex);
    std::erase_if(G().client_holds,
                  [&](const ClientHold& client) { return client.hold.until_ms <= now; });
    G().client_holds.push_back(
        {client_id != nullptr ? client_id : "",
         MakeHold(packet_mask, delay_ms, for_ms > 0 ? for_ms : 0, discard_reads, now)});
    G().any_client_hold.store(true, std::memory_order_release);
}

ELSIM_TAP_EXPORT void elsim_tap_flush(void) {
    const auto real = RealWrite();
    const auto get_error = RealGetError();
    if (real == nullptr || get_error == nullptr) {
        return;
    }
    std::vector<SSL*> connections;
    {
        std::lock_guard lock(G().mutex);
        connections = G().with_queue;
    }
    const long long now = NowMs();
    for (SSL* ssl : connections) {
        Conn* conn = ConnOf(ssl);
        if (conn == nullptr) {
            continue;
        }
        while (!conn->queue.empty() && conn->queue.front().due_ms <= now) {
            auto& front = conn->queue.front();
            const int wrote = real(ssl, front.bytes.data(), static_cast<int>(front.bytes.size()));
            if (wrote > 0) {
                conn->queue.pop_front();
                continue;
            }
            const int error = get_error(ssl, wrote);
            if (error != SSL_ERROR_WANT_WRITE && error != SSL_ERROR_WANT_READ) {
                conn->queue.clear();  // the connection failed: mosquitto will notice on read
            }
            break;
        }
        if (conn->queue.empty()) {
            std::lock_guard lock(G().mutex);
            std::erase(G().with_queue, ssl);
        }
    }
}

ELSIM_TAP_EXPORT int elsim_tap_abi_version(void) { return ELSIM_TAP_ABI_VERSION; }

ELSIM_TAP_EXPORT SSL* elsim_tap_take_last_ssl(void) {
    const SSL* ssl = last_ssl;
    last_ssl = nullptr;
    return const_cast<SSL*>(ssl);  // NOLINT(cppcoreguidelines-pro-type-const-cast): C ABI
}

ELSIM_TAP_EXPORT int elsim_tap_last_subscribe_filters(const SSL* ssl) {
    const MqttFramer* framer = ssl != nullptr ? FramerOf(ssl) : nullptr;
    return framer == nullptr || framer->Broken() ? -1 : framer->LastSubscribeFilters();
}

ELSIM_TAP_EXPORT const char* elsim_tap_refusal(const SSL* ssl) {
    const MqttFramer* framer = ssl != nullptr ? FramerOf(ssl) : nullptr;
    return framer == nullptr || !framer->Refused() ? nullptr
                                                   : RefusalReason(framer->GetRefusal());
}

ELSIM_TAP_EXPORT int elsim_tap_keepalive(const SSL* ssl, unsigned* requested, unsigned* granted) {
    const MqttFramer* framer = ssl != nullptr ? FramerOf(ssl) : nullptr;
    if (framer == nullptr || !framer->HasKeepAlive()) {
        return 0;
    }
    if (requested != nullptr) {
        *requested = framer->RequestedKeepAlive();
    }
    if (granted != nullptr) {
        *granted = framer->GrantedKeepAlive();
    }
    return 1;
}
