// SPDX-License-Identifier: Apache-2.0
// libelsim_tls_tap.so: preloaded into mosquitto (LD_PRELOAD) so that mosquitto's calls to
// SSL_read and SSL_get1_peer_certificate reach these interposers first (a preloaded library
// comes first in symbol lookup; `nm -D /usr/sbin/mosquitto` shows both imported from libssl).
// Each forwards to the real function (dlsym(RTLD_NEXT)), then observes. Why a tap at all:
// mosquitto 2.0.11 gives plugins no packet hook, no way to set the keep-alive and no SNI
// (reference/deps.md §2), and AWS IoT applies all three (aws-iot-core.md §5, §8).
//
// Per-connection state is an MqttFramer in the SSL object's ex_data (index allocated once,
// freed by OpenSSL with the SSL): no global map, no lock. mosquitto reads every connection on
// its main thread; "the SSL last asked" is thread_local.

#include "sim/broker/tap/tls_tap.h"

#include <cstdint>
#include <new>
#include <span>

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "sim/broker/tap/mqtt_framer.hpp"

#define ELSIM_TAP_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using sim::broker::tap::MqttFramer;
using sim::broker::tap::RefusalReason;
using SslReadFn = int (*)(SSL*, void*, int);
using SslGetPeerFn = X509* (*)(const SSL*);

thread_local const SSL* last_ssl = nullptr;

void FreeFramer(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                void* /*argp*/) noexcept {
    delete static_cast<MqttFramer*>(ptr);
}

// -1 when OpenSSL could not allocate an index (then nothing is observed).
int FramerIndex() noexcept {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeFramer);
    return index;
}

MqttFramer* FramerOf(const SSL* ssl) noexcept {
    const int index = FramerIndex();
    return index < 0 ? nullptr : static_cast<MqttFramer*>(SSL_get_ex_data(ssl, index));
}

// Feeds the bytes just read to the connection's framer. False when the framer refuses the
// packet being read (MqttFramer::Refused): the read must then fail.
bool Observe(SSL* ssl, void* buffer, int size) noexcept {
    const int index = FramerIndex();
    if (index < 0) {
        return true;
    }
    auto* framer = static_cast<MqttFramer*>(SSL_get_ex_data(ssl, index));
    if (framer == nullptr) {
        framer = new (std::nothrow) MqttFramer();
        if (framer == nullptr) {
            return true;
        }
        if (SSL_set_ex_data(ssl, index, framer) != 1) {
            delete framer;
            return true;
        }
    }
    framer->Feed(std::span<std::uint8_t>(static_cast<std::uint8_t*>(buffer),
                                         static_cast<std::size_t>(size)));
    return !framer->Refused();
}

}  // namespace

ELSIM_TAP_EXPORT int SSL_read(SSL* ssl, void* buf, int num) {
    static const auto real = reinterpret_cast<SslReadFn>(dlsym(RTLD_NEXT, "SSL_read"));
    if (real == nullptr) {
        return -1;
    }
    if (ssl != nullptr) {
        if (const MqttFramer* framer = FramerOf(ssl); framer != nullptr && framer->Refused()) {
            return -1;  // the connection is being closed: nothing more reaches the broker
        }
    }
    const int got = real(ssl, buf, num);
    if (got > 0 && ssl != nullptr && buf != nullptr && !Observe(ssl, buf, got)) {
        // A refused packet (QoS 2, payload over 128 KB): the read fails before the broker has
        // parsed the packet, so it answers nothing and closes the connection. With no OpenSSL
        // error queued and no retry wanted, SSL_get_error reports SSL_ERROR_SYSCALL, which
        // mosquitto treats as a socket error on that client.
        return -1;
    }
    return got;
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
