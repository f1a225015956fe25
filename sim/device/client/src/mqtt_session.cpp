// SPDX-License-Identifier: Apache-2.0
// libmosquitto 2.0 as a blocking client: the calling thread runs mosquitto_loop until the
// reply it waits for arrives. Without a loop thread libmosquitto writes each packet as it is
// queued and calls the callbacks below from mosquitto_loop, on this thread.
#include "mqtt_session.hpp"

#include <mutex>

#include <mosquitto.h>
#include <openssl/err.h>

#include "sim/core/posix_io.hpp"

namespace sim::device::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

void InitialiseOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        mosquitto_lib_init();
        // A TLS write to a connection the broker has just closed must fail with EPIPE, not
        // end the process.
        sim::IgnoreSigpipe();
    });
}

}  // namespace

sim::Result<std::pair<std::string, int>> SplitUri(const std::string& uri) {
    const auto scheme = uri.find("://");
    const std::string rest = scheme == std::string::npos ? uri : uri.substr(scheme + 3);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
        return sim::MakeError(ErrorCode::kInvalidArgument, "'" + uri + "' is not host:port");
    }
    std::string host = rest.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    int port = 0;
    for (const char c : rest.substr(colon + 1)) {
        if (c < '0' || c > '9' || port > 65535) {
            return sim::MakeError(ErrorCode::kInvalidArgument, "'" + uri + "' has a bad port");
        }
        port = port * 10 + (c - '0');
    }
    if (port == 0 || port > 65535) {
        return sim::MakeError(ErrorCode::kInvalidArgument, "'" + uri + "' has a bad port");
    }
    return std::pair{std::move(host), port};
}

MqttSession::MqttSession(std::string host, int port, const std::string& client_id,
                         std::shared_ptr<const TlsIdentity> tls, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), tls_(std::move(tls)), timeout_(timeout) {
    InitialiseOnce();
    mosq_ = mosquitto_new(client_id.c_str(), true, this);
    if (mosq_ == nullptr) {
        return;
    }
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // Nagle's algorithm would hold each small packet for the previous one's ACK.
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    // The identity's context as it is: its trust, its certificate, its server-name check.
    mosquitto_int_option(mosq_, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
    mosquitto_void_option(mosq_, MOSQ_OPT_SSL_CTX, tls_->context());
    mosquitto_connect_callback_set(mosq_, &MqttSession::OnConnect);
    mosquitto_disconnect_callback_set(mosq_, &MqttSession::OnDisconnect);
    mosquitto_subscribe_callback_set(mosq_, &MqttSession::OnSubscribe);
    mosquitto_publish_callback_set(mosq_, &MqttSession::OnPublish);
    mosquitto_message_callback_set(mosq_, &MqttSession::OnMessage);
}

MqttSession::~MqttSession() {
    if (mosq_ != nullptr) {
        Disconnect();
        mosquitto_destroy(mosq_);
    }
}

std::string MqttSession::Timeout(const char* what) const {
    return std::string("no ") + what + " within " + std::to_string(timeout_.count()) + " ms";
}

bool MqttSession::RunUntil(const std::function<bool()>& done) {
    const auto deadline = SteadyClock::now() + timeout_;
    while (!done()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        if (left.count() <= 0) {
            return false;
        }
        const int rc = mosquitto_loop(mosq_, static_cast<int>(left.count()), 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            ERR_clear_error();  // a failed TLS read leaves its reasons on this thread's queue
        }
        if (rc != MOSQ_ERR_SUCCESS && !lost_) {
            lost_ = true;
            lost_cause_ = rc == MOSQ_ERR_ERRNO ? std::string("connection refused or reset")
                                               : std::string(mosquitto_strerror(rc));
        }
        if (lost_) {
            return done();
        }
    }
    return true;
}

std::string MqttSession::Connect() {
    if (mosq_ == nullptr) {
        return "connection refused or closed (no MQTT client: out of memory)";
    }
    const int rc = mosquitto_connect(mosq_, host_.c_str(), port_, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        ERR_clear_error();
        return std::string("connection refused or closed (") +
               (rc == MOSQ_ERR_ERRNO ? "connection refused" : mosquitto_strerror(rc)) + ")";
    }
    if (!RunUntil([this] { return connack_ || lost_; })) {
        return Timeout("CONNACK");
    }
    if (connack_ && connack_code_ == 0) {
        return {};
    }
    if (connack_ && connack_code_ == 5) {
        return "CONNACK 5 (not authorized)";
    }
    if (connack_) {
        return "CONNACK " + std::to_string(connack_code_) + " (" +
               mosquitto_connack_string(connack_code_) + ")";
    }
    return "connection refused or closed (" + lost_cause_ + ")";
}

std::string MqttSession::Subscribe(const std::vector<std::string>& filters) {
    std::vector<char*> topics;
    topics.reserve(filters.size());
    for (const auto& filter : filters) {
        topics.push_back(const_cast<char*>(filter.c_str()));
    }
    granted_.clear();
    int mid = 0;
    const int rc = mosquitto_subscribe_multiple(mosq_, &mid, static_cast<int>(topics.size()),
                                                topics.data(), 1, 0, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
        return std::string("subscription refused (") + mosquitto_strerror(rc) + ")";
    }
    suback_mid_ = mid;
    if (!RunUntil([this] { return suback_mid_ < 0 || lost_; })) {
        return Timeout("SUBACK");
    }
    if (suback_mid_ >= 0) {
        return "subscription refused (connection closed by the broker: " + lost_cause_ + ")";
    }
    // MQTT 3.1.1: a refused filter has return code 0x80 in the SUBACK.
    for (std::size_t i = 0; i < granted_.size() && i < filters.size(); ++i) {
        if (granted_[i] >= 0x80) {
            return "subscription refused (SUBACK 0x80) filter=" + filters[i];
        }
    }
    return {};
}

std::string MqttSession::Publish(const std::string& topic, const std::string& payload) {
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                     payload.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        return std::string("publish failed (") + mosquitto_strerror(rc) + ")";
    }
    if (!RunUntil([this, mid] { return acknowledged_.count(mid) != 0 || lost_; })) {
        return Timeout("PUBACK");
    }
    if (acknowledged_.erase(mid) == 0) {
        return "publish failed (connection closed by the broker: " + lost_cause_ + ")";
    }
    return {};
}

sim::Result<std::pair<std::string, std::string>> MqttSession::Await(const std::string& accepted,
                                                                    const std::string& rejected) {
    auto matching = [&] {
        while (!messages_.empty()) {
            const auto& topic = messages_.front().first;
            if (topic == accepted || topic == rejected) {
                return true;
            }
            messages_.pop_front();
        }
        return false;
    };
    if (!RunUntil([&] { return matching() || lost_; })) {
        return sim::MakeError(ErrorCode::kUnavailable,
                              "no reply on " + accepted + " or /rejected within " +
                                  std::to_string(timeout_.count()) + " ms");
    }
    if (!matching()) {
        return sim::MakeError(ErrorCode::kUnavailable,
                              "connection closed by the broker (" + lost_cause_ + ")");
    }
    auto message = std::move(messages_.front());
    messages_.pop_front();
    return message;
}

void MqttSession::Disconnect() {
    if (mosq_ != nullptr && connected_ && !lost_) {
        // Not in a callback and without a loop thread, DISCONNECT is written at once and
        // the socket closed after it.
        mosquitto_disconnect(mosq_);
    }
    connected_ = false;
}

void MqttSession::OnConnect(mosquitto* /*mosq*/, void* self, int rc) {
    auto* session = static_cast<MqttSession*>(self);
    session->connack_ = true;
    session->connack_code_ = rc;
    session->connected_ = rc == 0;
}

void MqttSession::OnDisconnect(mosquitto* /*mosq*/, void* self, int rc) {
    auto* session = static_cast<MqttSession*>(self);
    session->connected_ = false;
    if (rc != 0 && !session->lost_) {
        session->lost_ = true;
        session->lost_cause_ = rc == MOSQ_ERR_ERRNO ? std::string("connection reset")
                                                    : std::string(mosquitto_strerror(rc));
    }
}

void MqttSession::OnSubscribe(mosquitto* /*mosq*/, void* self, int mid, int count,
                              const int* granted) {
    auto* session = static_cast<MqttSession*>(self);
    if (mid != session->suback_mid_) {
        return;
    }
    session->granted_.assign(granted, granted + count);
    session->suback_mid_ = -1;
}

void MqttSession::OnPublish(mosquitto* /*mosq*/, void* self, int mid) {
    static_cast<MqttSession*>(self)->acknowledged_.insert(mid);
}

void MqttSession::OnMessage(mosquitto* /*mosq*/, void* self, const mosquitto_message* message) {
    auto* session = static_cast<MqttSession*>(self);
    const auto* bytes = static_cast<const char*>(message->payload);
    session->messages_.emplace_back(
        message->topic != nullptr ? message->topic : "",
        std::string(bytes != nullptr ? bytes : "", static_cast<std::size_t>(message->payloadlen)));
}

}  // namespace sim::device::detail
