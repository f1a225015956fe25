// SPDX-License-Identifier: Apache-2.0
#pragma once
// The C ABI of libelsim_tls_tap.so, the TLS read tap preloaded (LD_PRELOAD) into a mosquitto
// that loads elsim_broker. See sim/broker/README.md "The TLS tap".
//
// What the tap does in the broker process:
// - interposes SSL_read: the bytes mosquitto receives go through one MqttFramer per SSL object
//   (kept in the SSL's ex_data, freed with the SSL): the CONNECT keep-alive is clamped in the
//   buffer before mosquitto parses it, and the filters of each SUBSCRIBE are counted;
// - interposes SSL_new: with a verify-time source set (elsim_tap_set_verify_time), the new SSL
//   object verifies the client certificate at the world's time, not the system's;
// - interposes SSL_get1_peer_certificate: remembers, per thread, the SSL object last asked.
//   mosquitto_client_certificate(client) calls it, which lets the plugin map a mosquitto client
//   to its SSL object;
// - fails the SSL_read that brings a packet AWS IoT refuses before answering (a QoS 2 PUBLISH or
//   SUBSCRIBE, a PUBLISH payload over 128 KB), and every later read of that SSL: mosquitto then
//   closes the connection without having parsed the packet, so it sends no PUBREC/SUBACK/PUBACK.
// Every interposer forwards to the real OpenSSL function (dlsym(RTLD_NEXT, ...)) first.
//
// The plugin looks these functions up with dlsym(RTLD_DEFAULT, ...): when the tap is not
// preloaded they are absent, and the plugin runs without the three rules (fail safe).
// Threading: all functions may be called from any thread; the per-SSL queries must come from
// the thread that reads that SSL (mosquitto's main thread), as the framer is not locked.

#include <openssl/ssl.h>

#ifdef __cplusplus
extern "C" {
#endif

/// ABI version of the functions below (bumped on incompatible change).
#define ELSIM_TAP_ABI_VERSION 2
int elsim_tap_abi_version(void);

/// The SSL object of the most recent SSL_get1_peer_certificate call on this thread, or NULL;
/// clears it (a second call returns NULL).
SSL* elsim_tap_take_last_ssl(void);

/// Topic filters in the most recent complete SUBSCRIBE received on `ssl`; -1 when none was seen
/// or the connection's framing was lost.
int elsim_tap_last_subscribe_filters(const SSL* ssl);

/// The CONNECT keep-alive of `ssl` in seconds: what the client asked for and what mosquitto
/// parsed after the tap's clamp. Returns 1 when known, 0 otherwise (outputs untouched).
int elsim_tap_keepalive(const SSL* ssl, unsigned* requested, unsigned* granted);

/// Faults (sim/broker/README.md "Faults"). Called by the plugin on mosquitto's main thread.
///
/// `hook(context)` is asked at each new TLS connection (mosquitto's SSL_accept): non-zero
/// refuses it (the socket is shut down before the handshake, so the client sees the
/// connection closed during TLS). NULL removes the hook.
typedef int (*elsim_tap_accept_hook)(void* context);
void elsim_tap_set_accept_hook(elsim_tap_accept_hook hook, void* context);

/// Tags `ssl` with its MQTT client id (so that elsim_tap_hold_client finds it).
void elsim_tap_tag(SSL* ssl, const char* client_id);

/// Holds what mosquitto writes on `ssl` for MQTT packets whose type bit (1 << type) is in
/// `packet_mask`: delayed by `delay_ms` (> 0; sent by elsim_tap_flush) or discarded
/// (`delay_ms` < 0), for writes made in the next `for_ms` ms (< 0: for the connection's
/// life). `discard_reads` also discards what the client sends in that time. Once one write is
/// held, later writes on the connection queue behind it (order is kept). Returns 1, or 0 when
/// the connection is unknown to the tap.
int elsim_tap_hold(SSL* ssl, unsigned packet_mask, int delay_ms, long long for_ms,
                   int discard_reads);
/// The same for every connection tagged `client_id` (NULL: every connection), open now or
/// opened within `for_ms` (which must be > 0).
void elsim_tap_hold_client(const char* client_id, unsigned packet_mask, int delay_ms,
                           long long for_ms, int discard_reads);
/// Writes the held bytes that are due. Call often (the plugin calls it at every TICK).
void elsim_tap_flush(void);
/// Why the tap closed `ssl` ("qos2_not_supported", "payload_too_large"), or NULL when it did
/// not. The string is static.
const char* elsim_tap_refusal(const SSL* ssl);

typedef int (*elsim_tap_abi_version_fn)(void);
typedef void (*elsim_tap_set_accept_hook_fn)(elsim_tap_accept_hook, void*);
typedef void (*elsim_tap_tag_fn)(SSL*, const char*);
typedef int (*elsim_tap_hold_fn)(SSL*, unsigned, int, long long, int);
typedef void (*elsim_tap_hold_client_fn)(const char*, unsigned, int, long long, int);
typedef void (*elsim_tap_flush_fn)(void);

/// Where the world's time comes from for verifying client certificates: `source` returns epoch
/// seconds, or -1 for the system clock. Each SSL object mosquitto creates from then on
/// (SSL_new, interposed) verifies its peer's notBefore/notAfter at that time
/// (X509_VERIFY_PARAM_set_time). NULL restores the system clock. Optional: looked up apart
/// from the ABI version.
void elsim_tap_set_verify_time(long long (*source)(void));

typedef void (*elsim_tap_set_verify_time_fn)(long long (*)(void));
typedef SSL* (*elsim_tap_take_last_ssl_fn)(void);
typedef int (*elsim_tap_last_subscribe_filters_fn)(const SSL*);
typedef int (*elsim_tap_keepalive_fn)(const SSL*, unsigned*, unsigned*);
typedef const char* (*elsim_tap_refusal_fn)(const SSL*);

#ifdef __cplusplus
}
#endif
