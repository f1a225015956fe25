// SPDX-License-Identifier: Apache-2.0
// elsim_broker: the mosquitto 2.0 plugin (API version 5) that makes a broker an AWS IoT account
// endpoint. It only translates: mosquitto events -> BrokerCore calls -> MOSQ_ERR_* and effects.
//
// Callbacks (mosquitto 2.0.11 plugin API, version 5):
//   BASIC_AUTH  peer certificate -> certificateId -> BrokerCore::OnConnect. MOSQ_ERR_AUTH gives
//               CONNACK 5/0x87; any other error closes without CONNACK (src/handle_connect.c).
//   ACL_CHECK   READ -> iot:Receive, WRITE -> iot:Publish(+RetainPublish), SUBSCRIBE ->
//               iot:Subscribe, UNSUBSCRIBE -> event only.
//   TICK        kicks (never from ACL_CHECK: it frees the context's id) and account work.
//   DISCONNECT  lifecycle events.
//   MESSAGE     the fleet-provisioning MQTT API (`$aws/certificates/create...`,
//               `$aws/provisioning-templates/.../provision/...`): replies go to the requester only;
//               those computed on AccountHost's workers are published at the next TICK.
// Every callback is noexcept, catches everything and fails closed.
//
// Every refusal is logged with its reason; explain mode adds the keep-alive log line.
// Options (plugin_opt_<name>): mode strict|explain, account_name, account_id, region,
// endpoint, kind (or account_kind) staging|oem, capath, connect_interval_ms (default 1000; 0
// disables the limit), clock_file (the world clock, sim/core/world_clock.hpp; default: the
// system clock), seed (the account's random source; default: from the OS), and to host the
// account (registry + control plane, AccountHost):
// account_dir, control_plane (127.0.0.N:PORT), manufacturer_ca (staging), address, shared_dir,
// lambda_functions (the JSON file of the account's Lambda stand-ins), secret_access_key (the
// control plane then verifies SigV4 signatures).
// Without account_dir the plugin serves an open account (OpenAccountView: benchmarks).
//
// The TLS tap (libelsim_tls_tap.so, LD_PRELOADed into mosquitto by the world and the tests) adds
// what mosquitto does not expose: the client's SSL object (hence its SNI), the CONNECT
// keep-alive it clamped and the filter count of each SUBSCRIBE. Found with dlsym at init;
// without it the plugin works and those three rules are not enforced.
//
// Faults (sim/broker/README.md "Faults"; elsim only): the account's FaultBoard is filled
// through its control plane (/_elsim/faults). The plugin asks it at each TLS accept (through
// the tap's hook), CONNECT, PUBLISH and TICK, and applies what fires: closes connections,
// raises SIGTERM/SIGKILL on its own broker, and tells the tap which packets to hold.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <csignal>
#include <optional>
#include <random>
#include <string>

#include <dirent.h>
#include <dlfcn.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "sim/broker/broker_core.hpp"
#include "sim/broker/tap/tls_tap.h"
#include "sim/control_plane/faults.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/hex.hpp"
#include "sim/core/world_clock.hpp"

#if SIM_BROKER_HOSTS_ACCOUNT
#include "account_host.hpp"
#endif

#define SIM_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace sim::broker {
namespace {

struct X509Deleter {
    void operator()(X509* cert) const noexcept { X509_free(cert); }
};

// The tap's functions, when it is preloaded (tls_tap.h).
struct TapApi {
    elsim_tap_take_last_ssl_fn take_last_ssl = nullptr;
    elsim_tap_last_subscribe_filters_fn last_subscribe_filters = nullptr;
    elsim_tap_keepalive_fn keepalive = nullptr;
    elsim_tap_set_accept_hook_fn set_accept_hook = nullptr;
    elsim_tap_tag_fn tag = nullptr;
    elsim_tap_hold_fn hold = nullptr;
    elsim_tap_hold_client_fn hold_client = nullptr;
    elsim_tap_flush_fn flush = nullptr;
    // Optional (a tap without it verifies client certificates against the system clock).
    elsim_tap_set_verify_time_fn set_verify_time = nullptr;
    elsim_tap_refusal_fn refusal = nullptr;

    bool Present() const { return take_last_ssl != nullptr; }

    static TapApi Find() {
        TapApi api;
        const auto version = reinterpret_cast<elsim_tap_abi_version_fn>(
            dlsym(RTLD_DEFAULT, "elsim_tap_abi_version"));
        if (version == nullptr || version() != ELSIM_TAP_ABI_VERSION) {
            return api;
        }
        api.last_subscribe_filters = reinterpret_cast<elsim_tap_last_subscribe_filters_fn>(
            dlsym(RTLD_DEFAULT, "elsim_tap_last_subscribe_filters"));
        api.keepalive =
            reinterpret_cast<elsim_tap_keepalive_fn>(dlsym(RTLD_DEFAULT, "elsim_tap_keepalive"));
        api.set_accept_hook = reinterpret_cast<elsim_tap_set_accept_hook_fn>(
            dlsym(RTLD_DEFAULT, "elsim_tap_set_accept_hook"));
        api.tag = reinterpret_cast<elsim_tap_tag_fn>(dlsym(RTLD_DEFAULT, "elsim_tap_tag"));
        api.hold = reinterpret_cast<elsim_tap_hold_fn>(dlsym(RTLD_DEFAULT, "elsim_tap_hold"));
        api.hold_client = reinterpret_cast<elsim_tap_hold_client_fn>(
            dlsym(RTLD_DEFAULT, "elsim_tap_hold_client"));
        api.flush = reinterpret_cast<elsim_tap_flush_fn>(dlsym(RTLD_DEFAULT, "elsim_tap_flush"));
        api.refusal =
            reinterpret_cast<elsim_tap_refusal_fn>(dlsym(RTLD_DEFAULT, "elsim_tap_refusal"));
        if (api.last_subscribe_filters != nullptr && api.keepalive != nullptr &&
            api.set_accept_hook != nullptr && api.tag != nullptr && api.hold != nullptr &&
            api.hold_client != nullptr && api.flush != nullptr && api.refusal != nullptr) {
            api.take_last_ssl = reinterpret_cast<elsim_tap_take_last_ssl_fn>(
                dlsym(RTLD_DEFAULT, "elsim_tap_take_last_ssl"));
        }
        api.set_verify_time = reinterpret_cast<elsim_tap_set_verify_time_fn>(
            dlsym(RTLD_DEFAULT, "elsim_tap_set_verify_time"));
        return api;
    }
};

struct Plugin {
    mosquitto_plugin_id_t* id = nullptr;
    TapApi tap;
    std::string account_name = "account";
    bool explain = false;
    std::shared_ptr<const sim::Clock> clock = std::make_shared<sim::SystemClock>();
    sim::SeededRandom random{std::random_device{}()};
#if SIM_BROKER_HOSTS_ACCOUNT
    std::unique_ptr<AccountHost> host;  // declared before core: the core refers to its view
#endif
    std::unique_ptr<AccountView> view;
    std::unique_ptr<BrokerCore> core;
    std::mutex mutex;  // the core is driven by the broker thread; the lock guards future users
    /// The account's faults (the host's, reachable through its control plane; else its own).
    std::shared_ptr<sim::faults::FaultBoard> faults = std::make_shared<sim::faults::FaultBoard>();
    bool backlog_raised = false;  // RaiseListenBacklogs ran (first tick)
};

sim::TimePoint Now(const Plugin& plugin) { return plugin.clock->Now(); }

// The world clock the TLS tap asks at each handshake (one plugin per broker process).
// Owned by the Plugin (Plugin::clock); set at init, cleared at cleanup.
std::atomic<const sim::WorldClock*> g_world_clock{nullptr};

// The tap's verify time: the world time in epoch seconds, or -1 while the world runs on wall
// time (OpenSSL then uses the system clock, as without a world clock).
long long VerifyTime() noexcept {
    const sim::WorldClock* clock = g_world_clock.load();
    if (clock == nullptr) {
        return -1;
    }
    const sim::ClockReading reading = clock->Read();
    if (reading.mode == sim::ClockMode::kWall) {
        return -1;
    }
    const auto now = sim::TimeAt(reading, std::chrono::system_clock::now());
    return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

// Fault windows are a network condition, not an AWS rule: the monotonic clock (the control
// plane measures them the same way).
sim::faults::Millis FaultNow() {
    return std::chrono::duration_cast<sim::faults::Millis>(
        std::chrono::steady_clock::now().time_since_epoch());
}

constexpr unsigned kConnackBit = 1U << 2;
constexpr unsigned kPublishBit = 1U << 3;
constexpr unsigned kPubackBit = 1U << 4;
constexpr unsigned kEveryPacket = 0xFFFFU;

// Logs every fault that fired since the last call (the runner copies "elsim" lines into the
// scenario's timeline).
void LogFired(const Plugin& plugin) {
    const auto fired = plugin.faults->With([](sim::faults::FaultTable& t) { return t.TakeFired(); });
    for (const auto& line : fired) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "elsim[%s]: fault fired %s",
                             plugin.account_name.c_str(), line.c_str());
    }
}

// The broker takes itself down: SIGTERM (mosquitto stops cleanly, the account's state is
// saved) or SIGKILL (nothing runs after it).
void Crash(const Plugin& plugin, sim::faults::Kind kind) {
    LogFired(plugin);
    const bool kill = kind == sim::faults::Kind::kKill;
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "elsim[%s]: fault %s: broker going down",
                         plugin.account_name.c_str(), kill ? "kill (SIGKILL)" : "restart (SIGTERM)");
    std::raise(kill ? SIGKILL : SIGTERM);
}

// The tap's accept hook: does a refuse-tls fault take this handshake?
int RefuseHandshake(void* context) noexcept {
    try {
        auto& plugin = *static_cast<Plugin*>(context);
        const bool refuse = plugin.faults->With(
            [](sim::faults::FaultTable& t) { return t.TakeTlsRefusal(FaultNow()); });
        if (refuse) {
            LogFired(plugin);
        }
        return refuse ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

// Connection faults for an accepted CONNECT on `ssl`, handed to the tap.
void HoldConnection(const Plugin& plugin, SSL* ssl, const sim::faults::ConnectionFaults& faults) {
    if (ssl == nullptr || plugin.tap.hold == nullptr) {
        return;
    }
    if (faults.withhold_connack) {
        plugin.tap.hold(ssl, kConnackBit, -1, -1, 0);
    } else if (faults.connack_delay.count() > 0) {
        plugin.tap.hold(ssl, kConnackBit, static_cast<int>(faults.connack_delay.count()), -1, 0);
    }
    if (faults.puback_delay.count() > 0) {
        plugin.tap.hold(ssl, kPubackBit, static_cast<int>(faults.puback_delay.count()), -1, 0);
    }
    if (faults.publish_delay.count() > 0) {
        plugin.tap.hold(ssl, kPublishBit, static_cast<int>(faults.publish_delay.count()), -1, 0);
    }
    if (faults.blackhole.count() > 0) {
        plugin.tap.hold(ssl, kEveryPacket, -1, faults.blackhole.count(), 1);
    }
}

void Publish(const std::vector<EventMessage>& messages) {
    for (const auto& message : messages) {
        const int rc = mosquitto_broker_publish_copy(nullptr, message.topic.c_str(),
                                                     static_cast<int>(message.payload.size()),
                                                     message.payload.data(), 0, false, nullptr);
        if (rc != MOSQ_ERR_SUCCESS) {
            mosquitto_log_printf(MOSQ_LOG_WARNING, "elsim: publish %s failed: %s",
                                 message.topic.c_str(), mosquitto_strerror(rc));
        }
    }
}

// Reads the leaf certificate the TLS layer verified. False when there is none. With the tap,
// `ssl` receives the client's SSL object (mosquitto_client_certificate calls
// SSL_get1_peer_certificate, which the tap records); nullptr otherwise.
bool ReadPeerCertificate(const TapApi& tap, mosquitto* client, PeerCertificate& out, SSL*& ssl) {
    ssl = nullptr;
    if (tap.Present()) {
        tap.take_last_ssl();  // forget one a previous caller left behind
    }
    std::unique_ptr<X509, X509Deleter> cert(
        static_cast<X509*>(mosquitto_client_certificate(client)));
    if (tap.Present()) {
        ssl = tap.take_last_ssl();
    }
    if (!cert) {
        return false;
    }
    unsigned char* der = nullptr;
    const int size = i2d_X509(cert.get(), &der);
    if (size <= 0 || der == nullptr) {
        return false;
    }
    out.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
    OPENSSL_free(der);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    if (EVP_Digest(out.der.data(), out.der.size(), digest.data(), &digest_size, EVP_sha256(),
                   nullptr) != 1) {
        return false;
    }
    out.certificate_id = sim::HexEncode(std::span<const std::uint8_t>(digest.data(), digest_size));
    out.tls_decoded = std::shared_ptr<void>(cert.release(), [](void* decoded) noexcept {
        X509_free(static_cast<X509*>(decoded));
    });
    return true;
}

const char* Safe(const char* text) { return text != nullptr ? text : ""; }

// The SSL object of `client` (through the tap), or nullptr.
SSL* ClientSsl(const TapApi& tap, mosquitto* client) {
    if (!tap.Present()) {
        return nullptr;
    }
    tap.take_last_ssl();
    std::unique_ptr<X509, X509Deleter> cert(
        static_cast<X509*>(mosquitto_client_certificate(client)));
    return tap.take_last_ssl();
}

// Filters in the SUBSCRIBE being checked (the tap has read the whole packet: mosquitto checks
// ACLs after reading it). 0 when unknown. Asked per SUBSCRIBE filter rather than cached per
// client: one refcount up/down on the certificate, and no SSL pointer outlives its connection.

std::size_t SubscribeFilters(const TapApi& tap, mosquitto* client) {
    const SSL* ssl = ClientSsl(tap, client);
    const int filters = ssl != nullptr ? tap.last_subscribe_filters(ssl) : -1;
    return filters > 0 ? static_cast<std::size_t>(filters) : 0;
}

// Why the tap closed this client's connection before mosquitto parsed a packet (QoS 2, payload
// over 128 KB), or nullptr. Asked while the connection's SSL object still exists: mosquitto
// calls the DISCONNECT event before it closes the socket.
const char* TapRefusal(const TapApi& tap, mosquitto* client) {
    const SSL* ssl = ClientSsl(tap, client);
    return ssl != nullptr ? tap.refusal(ssl) : nullptr;
}

// Explain mode: one line when the tap clamped the CONNECT keep-alive (AWS IoT Core quotas).
void LogKeepAlive(const Plugin& plugin, const SSL* ssl, int protocol_version,
                  const std::string& client_id) {
    unsigned requested = 0;
    unsigned parsed = 0;
    if (ssl == nullptr || plugin.tap.keepalive(ssl, &requested, &parsed) != 1) {
        return;
    }
    // MQTT 5 with 0 or > 1200 s: mosquitto's max_keepalive grants 1200 s after this callback.
    const auto granted =
        protocol_version == 5
            ? static_cast<unsigned>(ClampKeepAlive(std::chrono::seconds{requested}).count())
            : parsed;
    if (granted != requested) {
        mosquitto_log_printf(MOSQ_LOG_INFO,
                             "elsim[%s]: keepalive requested=%u granted=%u client_id=%s",
                             plugin.account_name.c_str(), requested, granted, client_id.c_str());
    }
}

int OnBasicAuth(int /*event*/, void* event_data, void* user_data) noexcept {
    try {
        auto& plugin = *static_cast<Plugin*>(user_data);
        auto& event = *static_cast<mosquitto_evt_basic_auth*>(event_data);
        ConnectInput input;
        input.session_key = reinterpret_cast<std::uintptr_t>(event.client);
        input.client_id = Safe(mosquitto_client_id(event.client));
        input.username = Safe(event.username);  // copied: set_username below frees it
        input.source_ip = Safe(mosquitto_client_address(event.client));
        input.protocol_version = mosquitto_client_protocol_version(event.client);
        SSL* ssl = nullptr;
        input.has_certificate =
            ReadPeerCertificate(plugin.tap, event.client, input.certificate, ssl);
        if (ssl != nullptr) {
            input.server_name = Safe(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
        }

        if (plugin.faults->With([&](sim::faults::FaultTable& t) {
                return t.TakeDropOnConnect(input.client_id, FaultNow());
            })) {
            LogFired(plugin);
            mosquitto_log_printf(MOSQ_LOG_NOTICE,
                                 "elsim[%s]: fault drop action=connect client_id=%s",
                                 plugin.account_name.c_str(), input.client_id.c_str());
            return MOSQ_ERR_UNKNOWN;  // closed without CONNACK
        }

        std::lock_guard lock(plugin.mutex);
        const ConnectResult result = plugin.core->OnConnect(input, Now(plugin));
        Publish(plugin.core->TakeEffects(false).publishes);
        if (const auto crash = plugin.faults->With([&](sim::faults::FaultTable& t) {
                return t.TakeCrash(input.client_id, result.auto_registered, FaultNow());
            })) {
            Crash(plugin, *crash);
        }
        if (result.action == ConnectAction::kAccept) {
            if (ssl != nullptr && plugin.tap.tag != nullptr) {
                plugin.tap.tag(ssl, input.client_id.c_str());
            }
            HoldConnection(plugin, ssl, plugin.faults->With([&](sim::faults::FaultTable& t) {
                return t.OnConnect(input.client_id, FaultNow());
            }));
            LogFired(plugin);
            if (plugin.explain) {
                LogKeepAlive(plugin, ssl, input.protocol_version, input.client_id);
            }
#if SIM_BROKER_HOSTS_ACCOUNT
            if (plugin.host) {
                plugin.host->OnAccepted(input.client_id, result.certificate_id);
            }
#endif
            // The session's username becomes the certificateId (handy in broker logs and for
            // kick-by-username); what the client sent is ignored, as AWS ignores it.
            mosquitto_set_username(event.client, result.certificate_id.c_str());
            mosquitto_log_printf(MOSQ_LOG_INFO,
                                 "elsim[%s]: decision=allow action=connect cert_id=%s client_id=%s",
                                 plugin.account_name.c_str(), result.certificate_id.c_str(),
                                 input.client_id.c_str());
            return MOSQ_ERR_SUCCESS;
        }
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "elsim[%s]: decision=deny action=connect reason=%s cert_id=%s "
                             "client_id=%s%s%s",
                             plugin.account_name.c_str(),
                             result.reason.c_str(), result.certificate_id.c_str(),
                             input.client_id.c_str(), input.server_name ? " sni=" : "",
                             input.server_name ? input.server_name->c_str() : "");
        return result.action == ConnectAction::kRefuseWithConnack ? MOSQ_ERR_AUTH
                                                                  : MOSQ_ERR_UNKNOWN;
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: basic_auth: %s", e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: basic_auth: unknown exception");
    }
    return MOSQ_ERR_UNKNOWN;  // fail closed: no CONNACK
}

int OnAclCheck(int /*event*/, void* event_data, void* user_data) noexcept {
    try {
        auto& plugin = *static_cast<Plugin*>(user_data);
        auto& event = *static_cast<mosquitto_evt_acl_check*>(event_data);
        const std::string client_id = Safe(mosquitto_client_id(event.client));
        const std::string_view topic = Safe(event.topic);
        std::lock_guard lock(plugin.mutex);
        AclResult result;
        const char* action = "receive";
        switch (event.access) {
            case MOSQ_ACL_READ:
#if SIM_BROKER_HOSTS_ACCOUNT
                // Assumed: a fleet-provisioning request is consumed by the service, never
                // delivered to subscribers of its topic.
                if (plugin.host && sim::account::ParseFleetTopic(topic)) {
                    return MOSQ_ERR_ACL_DENIED;
                }
#endif
                result = plugin.core->OnReceive(client_id, topic);
                break;
            case MOSQ_ACL_WRITE:
                action = "publish";
                if (plugin.faults->With([&](sim::faults::FaultTable& t) {
                        return t.TakeDropOnPublish(client_id, FaultNow());
                    })) {
                    // Nothing of this publish is processed or answered; the connection is
                    // closed at the next TICK.
                    LogFired(plugin);
                    if (SSL* ssl = ClientSsl(plugin.tap, event.client);
                        ssl != nullptr && plugin.tap.hold != nullptr) {
                        plugin.tap.hold(ssl, kEveryPacket, -1, -1, 1);
                    }
                    plugin.core->Kick(client_id, DisconnectReason::kServerInitiatedDisconnect);
                    result = {false, "fault: drop on publish", true};
                    break;
                }
                result = plugin.core->OnPublish(client_id, topic, event.qos, event.retain);
#if SIM_BROKER_HOSTS_ACCOUNT
                if (result.allowed && plugin.host) {
                    std::string reason;
                    const std::string_view payload(static_cast<const char*>(event.payload),
                                                   event.payload != nullptr ? event.payloadlen : 0);
                    if (plugin.host->CheckClaim(client_id, topic, payload, event.retain, reason) ==
                        AccountHost::ClaimCheck::kRefused) {
                        // sim/staging README row 9: not delivered, the claim-thing is closed.
                        plugin.core->Kick(client_id, DisconnectReason::kAuthError);
                        result = {false, reason, true};
                    }
                }
#endif
                break;
            case MOSQ_ACL_SUBSCRIBE:
                action = "subscribe";
                result = plugin.core->OnSubscribe(client_id, topic, event.qos, Now(plugin),
                                                  SubscribeFilters(plugin.tap, event.client));
                break;
            case MOSQ_ACL_UNSUBSCRIBE:
                plugin.core->OnUnsubscribe(client_id, topic, Now(plugin));
                result.allowed = true;
                break;
            default:
                result.reason = "unknown access";
                break;
        }
        Publish(plugin.core->TakeEffects(false).publishes);
        if (result.allowed) {
            return MOSQ_ERR_SUCCESS;
        }
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "elsim[%s]: decision=deny action=%s reason=%s cert_id=%s "
                             "client_id=%s topic=%s%s",
                             plugin.account_name.c_str(), action,
                             result.reason.c_str(), plugin.core->CertificateOf(client_id).c_str(), client_id.c_str(),
                             std::string(topic).c_str(), result.kick ? " kick=next_tick" : "");
        return MOSQ_ERR_ACL_DENIED;
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: acl_check: %s", e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: acl_check: unknown exception");
    }
    return MOSQ_ERR_ACL_DENIED;
}

#if SIM_BROKER_HOSTS_ACCOUNT
void PublishFleetReply(const Plugin& plugin, const FleetAnswer& answer);
#endif
// Faults added since the last TICK that act at once or on open connections.
void ApplyNewFaults(Plugin& plugin) {
    using sim::faults::Kind;
    const auto standing =
        plugin.faults->With([](sim::faults::FaultTable& t) { return t.TakeNew(FaultNow()); });
    LogFired(plugin);
    for (const auto& fault : standing) {
        const auto& rule = fault.rule;
        const char* client = rule.client_id.empty() ? nullptr : rule.client_id.c_str();
        switch (rule.kind) {
            case Kind::kDrop:
                // NULL kicks every client.
                mosquitto_kick_client_by_clientid(client, false);
                break;
            case Kind::kRestart:
            case Kind::kKill:
                Crash(plugin, rule.kind);
                break;
            case Kind::kDelayPuback:
            case Kind::kDelayPublish:
            case Kind::kBlackhole:
                // Open connections too, for a fault with a window (one with a count applies
                // to the next connections only).
                if (rule.window.count() > 0 && plugin.tap.hold_client != nullptr) {
                    const unsigned mask = rule.kind == Kind::kDelayPuback    ? kPubackBit
                                          : rule.kind == Kind::kDelayPublish ? kPublishBit
                                                                             : kEveryPacket;
                    const int delay = rule.kind == Kind::kBlackhole
                                          ? -1
                                          : static_cast<int>(rule.delay.count());
                    plugin.tap.hold_client(client, mask, delay, rule.window.count(),
                                           rule.kind == Kind::kBlackhole ? 1 : 0);
                }
                break;
            default:
                break;
        }
    }
}

// mosquitto 2.0.11 listens with a backlog of 100 connections (src/net.c). When more devices
// connect at once (hundreds of modules onboarding), the kernel drops the SYNs that overflow
// it and each such client waits for its 1 s SYN retransmission: latency an AWS endpoint does
// not add. Linux sets a new backlog when listen() is called again on a listening socket, so
// the plugin raises every listening TCP socket of its process to the system maximum
// (net.core.somaxconn) once the listeners are open: at its first tick. Returns how many.
int RaiseListenBacklogs() noexcept {
    int raised = 0;
    DIR* fds = ::opendir("/proc/self/fd");
    if (fds == nullptr) {
        return 0;
    }
    while (const dirent* entry = ::readdir(fds)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == ::dirfd(fds)) {
            continue;
        }
        int accepting = 0;
        int type = 0;
        socklen_t size = sizeof(int);
        if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) !=
                0 ||
            accepting != 1) {
            continue;
        }
        size = sizeof(int);
        if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &size) == 0 &&
            type == SOCK_STREAM && ::listen(static_cast<int>(fd), SOMAXCONN) == 0) {
            ++raised;
        }
    }
    ::closedir(fds);
    return raised;
}

int OnTick(int /*event*/, void* /*event_data*/, void* user_data) noexcept {
    try {
        auto& plugin = *static_cast<Plugin*>(user_data);
        if (!plugin.backlog_raised) {
            plugin.backlog_raised = true;
            mosquitto_log_printf(MOSQ_LOG_INFO,
                                 "elsim[%s]: listen backlog raised to %d on %d socket(s)",
                                 plugin.account_name.c_str(), SOMAXCONN, RaiseListenBacklogs());
        }
        if (plugin.tap.flush != nullptr) {
            plugin.tap.flush();
        }
        ApplyNewFaults(plugin);
        BrokerEffects effects;
        {
            // Released before kicking: a kick runs our DISCONNECT callback synchronously,
            // which takes the same lock.
            std::lock_guard lock(plugin.mutex);
            plugin.core->OnTick();
            effects = plugin.core->TakeEffects(true);
        }
        Publish(effects.publishes);
#if SIM_BROKER_HOSTS_ACCOUNT
        if (plugin.host) {
            // Replies the fleet workers finished (keys generated, hooks answered).
            for (const auto& answer : plugin.host->TakeFleetAnswers()) {
                PublishFleetReply(plugin, answer);
            }
        }
#endif
        for (const auto& client_id : effects.kicks) {
            mosquitto_kick_client_by_clientid(client_id.c_str(), false);
        }
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: tick: %s", e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: tick: unknown exception");
    }
    return MOSQ_ERR_SUCCESS;
}

DisconnectCause CauseOf(int reason) {
    switch (reason) {
        case MOSQ_ERR_SUCCESS:
            return DisconnectCause::kClientDisconnect;
        case MOSQ_ERR_CONN_LOST:
            return DisconnectCause::kConnectionLost;
        case MOSQ_ERR_KEEPALIVE:
            return DisconnectCause::kKeepAliveTimeout;
        case MOSQ_ERR_PROTOCOL:
        case MOSQ_ERR_MALFORMED_PACKET:
        case MOSQ_ERR_DUPLICATE_PROPERTY:
        case MOSQ_ERR_QOS_NOT_SUPPORTED:
        case MOSQ_ERR_OVERSIZE_PACKET:
            return DisconnectCause::kProtocolError;
        case MOSQ_ERR_ADMINISTRATIVE_ACTION:
            return DisconnectCause::kAdministrative;
        case -1:
            return DisconnectCause::kUnknown;  // what 2.0.11 always passes
        default:
            return DisconnectCause::kOther;
    }
}

int OnDisconnect(int /*event*/, void* event_data, void* user_data) noexcept {
    try {
        auto& plugin = *static_cast<Plugin*>(user_data);
        auto& event = *static_cast<mosquitto_evt_disconnect*>(event_data);
        const char* client_id = mosquitto_client_id(event.client);
        if (client_id == nullptr) {
            return MOSQ_ERR_SUCCESS;  // a TLS failure: the client never identified itself
        }
        mosquitto_log_printf(MOSQ_LOG_DEBUG, "elsim[%s]: disconnect client_id=%s reason=%d",
                             plugin.account_name.c_str(), client_id, event.reason);
        DisconnectCause cause = CauseOf(event.reason);
        if (const char* refusal = TapRefusal(plugin.tap, event.client); refusal != nullptr) {
            // "MQTT message payload" (AWS IoT Core Developer Guide): an oversized message ends
            // in a CLIENT_ERROR; 'MQTT' (differences from the specifications) for QoS 2.
            cause = DisconnectCause::kProtocolError;
            mosquitto_log_printf(MOSQ_LOG_NOTICE,
                                 "elsim[%s]: decision=deny action=close reason=%s client_id=%s "
                                 "(closed before the broker answered)",
                                 plugin.account_name.c_str(), refusal, client_id);
        }
        std::lock_guard lock(plugin.mutex);
        plugin.core->OnDisconnect(reinterpret_cast<std::uintptr_t>(event.client), client_id,
                                  cause, Now(plugin));
#if SIM_BROKER_HOSTS_ACCOUNT
        if (plugin.host) {
            plugin.host->OnDisconnected(client_id);
        }
#endif
        Publish(plugin.core->TakeEffects(false).publishes);
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: disconnect: %s", e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: disconnect: unknown exception");
    }
    return MOSQ_ERR_SUCCESS;
}

#if SIM_BROKER_HOSTS_ACCOUNT
// "Fleet Provisioning returns the device provisioning MQTT API results through the same MQTT
// connection used to publish the API request" (Device provisioning MQTT API): published to
// this client id only. Broker thread only.
void PublishFleetReply(const Plugin& plugin, const FleetAnswer& answer) {
    const auto& reply = answer.reply;
    const int rc = mosquitto_broker_publish_copy(
        answer.client_id.c_str(), reply.topic.c_str(), static_cast<int>(reply.payload.size()),
        reply.payload.data(), 0, false, nullptr);
    mosquitto_log_printf(
        MOSQ_LOG_INFO, "elsim[%s]: fleet topic=%s decision=%s%s%s%s%s cert_id=%s client_id=%s%s",
        plugin.account_name.c_str(), answer.request_topic.c_str(),
        reply.accepted ? "accepted" : "rejected", reply.accepted ? "" : " error=",
        reply.error_code.c_str(), reply.thing_name.empty() ? "" : " thing=",
        reply.thing_name.c_str(), answer.certificate_id.c_str(), answer.client_id.c_str(),
        rc == MOSQ_ERR_SUCCESS ? "" : " reply_not_sent=1");
    if (!reply.accepted && plugin.explain) {
        mosquitto_log_printf(MOSQ_LOG_INFO, "elsim[%s]: fleet reason=%s",
                             plugin.account_name.c_str(), reply.error_message.c_str());
    }
}
#endif

int OnMessage(int /*event*/, void* event_data, void* user_data) noexcept {
#if SIM_BROKER_HOSTS_ACCOUNT
    try {
        auto& plugin = *static_cast<Plugin*>(user_data);
        auto& event = *static_cast<mosquitto_evt_message*>(event_data);
        if (!plugin.host) {
            return MOSQ_ERR_SUCCESS;
        }
        FleetAnswer answer;
        answer.client_id = Safe(mosquitto_client_id(event.client));
        answer.request_topic = Safe(event.topic);
        {
            std::lock_guard lock(plugin.mutex);
            answer.certificate_id = plugin.core->CertificateOf(answer.client_id);
        }
        const std::string_view payload(static_cast<const char*>(event.payload),
                                       event.payload != nullptr ? event.payloadlen : 0);
        auto reply = plugin.host->HandleFleetRequest(answer.client_id, answer.certificate_id,
                                                     answer.request_topic, payload);
        if (!reply) {
            return MOSQ_ERR_SUCCESS;  // not a fleet request, or answered at a later TICK
        }
        answer.reply = std::move(*reply);
        PublishFleetReply(plugin, answer);
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: message: %s", e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: message: unknown exception");
    }
#else
    (void)event_data;
    (void)user_data;
#endif
    return MOSQ_ERR_SUCCESS;  // the request itself is never delivered (ACL_CHECK READ)
}

constexpr std::array<int, 5> kEvents = {MOSQ_EVT_BASIC_AUTH, MOSQ_EVT_ACL_CHECK, MOSQ_EVT_TICK,
                                        MOSQ_EVT_DISCONNECT, MOSQ_EVT_MESSAGE};

MOSQ_FUNC_generic_callback CallbackFor(int event) {
    switch (event) {
        case MOSQ_EVT_BASIC_AUTH:
            return OnBasicAuth;
        case MOSQ_EVT_ACL_CHECK:
            return OnAclCheck;
        case MOSQ_EVT_TICK:
            return OnTick;
        case MOSQ_EVT_DISCONNECT:
            return OnDisconnect;
        default:
            return OnMessage;
    }
}

}  // namespace
}  // namespace sim::broker

SIM_PLUGIN_EXPORT int mosquitto_plugin_version(int supported_version_count,
                                               const int* supported_versions) {
    for (int i = 0; i < supported_version_count; ++i) {
        if (supported_versions[i] == 5) {
            return 5;
        }
    }
    return -1;
}

SIM_PLUGIN_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                                            mosquitto_opt* options, int option_count) {
    using namespace sim::broker;
    try {
        auto plugin = std::make_unique<Plugin>();
        plugin->id = identifier;
        BrokerSettings settings;
        std::optional<std::uint64_t> seed;
#if SIM_BROKER_HOSTS_ACCOUNT
        AccountHostOptions host_options;
#endif
        for (int i = 0; i < option_count; ++i) {
            const std::string key = Safe(options[i].key);
            const std::string value = Safe(options[i].value);
            if (key == "mode") {
                if (value != "strict" && value != "explain") {
                    mosquitto_log_printf(
                        MOSQ_LOG_ERR, "elsim: plugin_opt_mode must be strict or explain, not '%s'",
                        value.c_str());
                    return MOSQ_ERR_INVAL;
                }
                plugin->explain = value == "explain";
            } else if (key == "account_name") {
                plugin->account_name = value;
            } else if (key == "endpoint") {
                settings.endpoint = value;
#if SIM_BROKER_HOSTS_ACCOUNT
                host_options.endpoint = value;
#endif
            } else if (key == "clock_file") {
                auto clock = sim::WorldClock::Open(value);
                if (!clock) {
                    mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: plugin_opt_clock_file: %s",
                                         clock.error().message.c_str());
                    return MOSQ_ERR_INVAL;
                }
                g_world_clock.store(clock->get());
                plugin->clock = std::move(*clock);
            } else if (key == "seed") {
                try {
                    seed = std::stoull(value);
                } catch (const std::exception&) {
                    mosquitto_log_printf(MOSQ_LOG_ERR,
                                         "elsim: plugin_opt_seed must be a number, not '%s'",
                                         value.c_str());
                    return MOSQ_ERR_INVAL;
                }
            } else if (key == "connect_interval_ms") {
                settings.connect_interval = std::chrono::milliseconds{std::stol(value)};
            } else if (key == "kind" || key == "account_kind") {
                if (value != "staging" && value != "oem") {
                    mosquitto_log_printf(MOSQ_LOG_ERR,
                                         "elsim: plugin_opt_%s must be staging or oem, not '%s'",
                                         key.c_str(), value.c_str());
                    return MOSQ_ERR_INVAL;
                }
#if SIM_BROKER_HOSTS_ACCOUNT
                host_options.staging = value == "staging";
#endif
            }
#if SIM_BROKER_HOSTS_ACCOUNT
            else if (key == "account_dir") {
                host_options.account_dir = value;
            } else if (key == "account_id") {
                host_options.account_id = value;
            } else if (key == "region") {
                host_options.region = value;
            } else if (key == "control_plane") {
                host_options.control_plane = value;
            } else if (key == "capath") {
                host_options.capath = value;
            } else if (key == "manufacturer_ca") {
                host_options.manufacturer_ca = value;
            } else if (key == "address") {
                host_options.address = value;
            } else if (key == "shared_dir") {  // the world's DEFAULT-mode CA slots
                host_options.shared_dir = value;
            } else if (key == "lambda_functions") {  // pre-provisioning hooks' functions
                host_options.lambda_functions = value;
            } else if (key == "secret_access_key") {  // SigV4 verification on
                host_options.secret_access_key = value;
            }
#endif
        }
        settings.explain = plugin->explain;
        if (seed) {
            plugin->random = sim::SeededRandom(*seed);
        }
        plugin->tap = TapApi::Find();
        if (plugin->tap.set_verify_time != nullptr) {
            plugin->tap.set_verify_time(&VerifyTime);
        }
        if (!plugin->tap.Present()) {
            mosquitto_log_printf(MOSQ_LOG_WARNING,
                                 "elsim: TLS tap not preloaded; keep-alive clamp, 8-filter limit, "
                                 "SNI rule, QoS 2 and 128 KB payload closes not enforced");
        }
#if SIM_BROKER_HOSTS_ACCOUNT
        if (!host_options.account_dir.empty()) {
            host_options.account_name = plugin->account_name;
            host_options.clock = plugin->clock;
            if (seed) {
                // The account's own stream (ids, tokens), apart from the broker core's.
                host_options.seed = *seed ^ 0x5bd1e9955bd1e995ULL;
            }
            auto host = AccountHost::Start(host_options);
            if (!host) {
                mosquitto_log_printf(MOSQ_LOG_ERR, "elsim[%s]: %s", plugin->account_name.c_str(),
                                     host.error().message.c_str());
                return MOSQ_ERR_INVAL;
            }
            plugin->host = std::move(*host);
            plugin->faults = plugin->host->faults();
            mosquitto_log_printf(MOSQ_LOG_INFO, "elsim[%s]: account %s control plane %s",
                                 plugin->account_name.c_str(), host_options.account_id.c_str(),
                                 plugin->host->ControlPlaneUrl().c_str());
        }
        AccountView* view = nullptr;
        if (plugin->host) {
            view = &plugin->host->view();
        } else {
            plugin->view = std::make_unique<OpenAccountView>();
            view = plugin->view.get();
        }
        plugin->core = std::make_unique<BrokerCore>(settings, *view, plugin->random);
#else
        // Built without the account model: every TLS-verified certificate is ACTIVE and every
        // action allowed (Not emulated: registry, JITP/JITR, policies).
        plugin->view = std::make_unique<OpenAccountView>();
        plugin->core = std::make_unique<BrokerCore>(settings, *plugin->view, plugin->random);
#endif
        for (const int event : kEvents) {
            const int rc = mosquitto_callback_register(identifier, event, CallbackFor(event),
                                                       nullptr, plugin.get());
            if (rc != MOSQ_ERR_SUCCESS) {
                mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: cannot register event %d: %s", event,
                                     mosquitto_strerror(rc));
                return rc;
            }
        }
        if (plugin->tap.Present()) {
            plugin->tap.set_accept_hook(&RefuseHandshake, plugin.get());
        }
        mosquitto_log_printf(MOSQ_LOG_INFO, "elsim[%s]: plugin ready mode=%s tls_tap=%s clock=%s",
                             plugin->account_name.c_str(), plugin->explain ? "explain" : "strict",
                             plugin->tap.Present() ? "yes" : "no",
                             g_world_clock.load() != nullptr
                                 ? g_world_clock.load()->path().c_str()
                                 : "system");
        *userdata = plugin.release();
        return MOSQ_ERR_SUCCESS;
    } catch (const std::exception& e) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: init: %s", e.what());
    } catch (...) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "elsim: init: unknown exception");
    }
    return MOSQ_ERR_UNKNOWN;
}

SIM_PLUGIN_EXPORT int mosquitto_plugin_cleanup(void* userdata, mosquitto_opt* /*options*/,
                                               int /*option_count*/) {
    using namespace sim::broker;
    std::unique_ptr<Plugin> plugin(static_cast<Plugin*>(userdata));
    if (!plugin) {
        return MOSQ_ERR_SUCCESS;
    }
    if (plugin->tap.set_verify_time != nullptr) {
        plugin->tap.set_verify_time(nullptr);
    }
    g_world_clock.store(nullptr);
    try {
        if (plugin->tap.Present()) {
            plugin->tap.set_accept_hook(nullptr, nullptr);
        }
        for (const int event : kEvents) {
            mosquitto_callback_unregister(plugin->id, event, CallbackFor(event), nullptr);
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may cross into mosquitto
    }
    return MOSQ_ERR_SUCCESS;
}
