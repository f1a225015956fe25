// SPDX-License-Identifier: Apache-2.0
#include "sim/testing/mqtt_clients.hpp"

#include <thread>

namespace sim::testing {

using namespace std::chrono_literals;

std::string SslUri(std::uint16_t port) { return "ssl://127.0.0.1:" + std::to_string(port); }

mqtt::ssl_options PahoTls(const std::filesystem::path& server_ca, const CertFiles& cert) {
    return mqtt::ssl_options_builder()
        .trust_store(server_ca.string())
        .key_store(cert.cert.string())
        .private_key(cert.key.string())
        .enable_server_cert_auth(true)
        .verify(true)
        .finalize();
}

mqtt::connect_options PahoConnectOptions(const std::filesystem::path& server_ca,
                                         const CertFiles& cert, int version) {
    auto builder = mqtt::connect_options_builder()
                       .ssl(PahoTls(server_ca, cert))
                       .connect_timeout(5s)
                       .keep_alive_interval(30s)
                       .mqtt_version(version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (version == 5) {
        builder.clean_start(true);
    } else {
        builder.clean_session(true);
    }
    return builder.finalize();
}

std::unique_ptr<mqtt::async_client> PahoClient(std::uint16_t port, const std::string& client_id,
                                               int version) {
    return std::make_unique<mqtt::async_client>(
        SslUri(port), client_id,
        mqtt::create_options(version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1));
}

bool WaitDisconnected(mqtt::async_client& client, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (client.is_connected() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    return !client.is_connected();
}

std::vector<std::string> MosquittoTlsArgs(std::uint16_t port, const std::filesystem::path& cafile,
                                          const std::string& cert, const std::string& key) {
    return {"-h",   "127.0.0.1", "-p",    std::to_string(port), "--cafile", cafile.string(),
            "--cert", cert,      "--key", key};
}

std::unique_ptr<BackgroundCommand> StartMosquittoSub(const std::vector<std::string>& tls_args,
                                                     const std::string& filter,
                                                     const std::string& client_id,
                                                     bool& subscribed) {
    std::vector<std::string> argv = {"stdbuf", "-oL", "mosquitto_sub"};
    argv.insert(argv.end(), tls_args.begin(), tls_args.end());
    argv.insert(argv.end(),
                {"-V", "mqttv311", "-i", client_id, "-t", filter, "-v", "-q", "1", "-d"});
    auto sub = std::make_unique<BackgroundCommand>(argv);
    subscribed = sub->WaitForOutput("SUBACK", 5s);
    return sub;
}

RecordingClient::RecordingClient(std::uint16_t port, const std::filesystem::path& server_ca,
                                 const CertFiles& cert, const std::string& client_id)
    : client_(SslUri(port), client_id, mqtt::create_options(MQTTVERSION_3_1_1)),
      options_(mqtt::connect_options_builder()
                   .mqtt_version(MQTTVERSION_3_1_1)
                   .clean_session(true)
                   .ssl(PahoTls(server_ca, cert))
                   .finalize()) {
    client_.set_message_callback([this](mqtt::const_message_ptr m) {
        std::lock_guard lock(mutex_);
        messages_.emplace_back(m->get_topic(), m->get_payload_str());
    });
}

RecordingClient::~RecordingClient() {
    try {
        if (client_.is_connected()) {
            client_.disconnect()->wait_for(2s);
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch)
    }
}

bool RecordingClient::Connect() { return client_.connect(options_)->wait_for(5s); }

bool RecordingClient::Subscribe(const std::string& filter) {
    return client_.subscribe(filter, 1)->wait_for(5s);
}

bool RecordingClient::Publish(const std::string& topic, const std::string& payload) {
    return client_.publish(topic, payload.data(), payload.size(), 1, false)->wait_for(5s);
}

bool RecordingClient::Disconnect() { return client_.disconnect()->wait_for(5s); }

std::vector<RecordingClient::Message> RecordingClient::WaitFor(std::size_t count,
                                                               std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mutex_);
            if (messages_.size() >= count) {
                break;
            }
        }
        std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mutex_);
    return messages_;
}

RecordingClient::Message RecordingClient::WaitMessage(std::chrono::milliseconds timeout) {
    auto received = WaitFor(1, timeout);
    return received.empty() ? Message{} : received.front();
}

}  // namespace sim::testing
