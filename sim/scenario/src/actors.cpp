// SPDX-License-Identifier: Apache-2.0
#include "actors.hpp"

#include <thread>

#include "pki/certificate.hpp"
#include "sim/core/adapters.hpp"
#include "sim/module/interpreter.hpp"

namespace sim::scenario {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

sim::Unexpected<std::string> Fail(std::string reason) {
    return sim::Unexpected<std::string>(std::move(reason));
}

// One line for the timeline: control characters shown as escapes, long payloads cut.
std::string OneLine(const std::string& text, std::size_t limit = 300) {
    std::string out;
    for (const char c : text) {
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += '?';
        } else {
            out += c;
        }
        if (out.size() >= limit) {
            out += "...";
            break;
        }
    }
    return out;
}

}  // namespace

// ---- Recorder ---------------------------------------------------------------------------------

Recorder::Recorder(Timeline& timeline, std::function<void(const TimelineEntry&)> sink)
    : timeline_(timeline), sink_(std::move(sink)), start_(SteadyClock::now()) {}

std::chrono::milliseconds Recorder::Elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start_);
}

void Recorder::Add(const std::string& participant, EntryKind kind, std::string text) {
    TimelineEntry entry{Elapsed(), participant, kind, OneLine(text, 2000)};
    if (sink_) {
        std::lock_guard<std::mutex> lock(sink_mutex_);
        sink_(entry);
    }
    timeline_.Add(std::move(entry));
}

// ---- Certificates -----------------------------------------------------------------------------

sim::Result<CertificateFiles> LoadCertificateFiles(const fs::path& certificate,
                                                   const fs::path& key) {
    auto pem = sim::ReadFile(certificate);
    if (!pem) {
        return sim::Unexpected<sim::Error>(pem.error());
    }
    auto info = pki::ParseCertificatePem(*pem);
    if (!info) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              certificate.string() + ": " + info.error().message);
    }
    CertificateFiles files;
    files.certificate = certificate;
    files.key = key;
    files.certificate_pem = info->pem;
    files.certificate_id = info->certificate_id;
    files.serial = info->serial_hex;
    files.common_name = info->subject.Get("CN").value_or("");
    return files;
}

// ---- Modules ----------------------------------------------------------------------------------

ModuleRuntime::ModuleRuntime(std::string name, module::FleetOptions options,
                             fs::path identity_dir, CertificateFiles certificate,
                             Recorder& recorder)
    : name_(std::move(name)),
      options_(std::move(options)),
      identity_dir_(std::move(identity_dir)),
      certificate_(std::move(certificate)),
      recorder_(recorder) {}

ModuleRuntime::~ModuleRuntime() { Stop(); }

sim::Status ModuleRuntime::Start() {
    std::unique_ptr<module::Fleet> fleet;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fleet_) {
            return {};
        }
    }
    auto started = module::Fleet::Start(options_, {identity_dir_});
    if (!started) {
        return sim::Unexpected<sim::Error>(started.error());
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        fleet_ = std::move(*started);
        module_ = fleet_->modules().front();
    }
    recorder_.Add(name_, EntryKind::kNote, "powered on");
    return {};
}

void ModuleRuntime::Stop() {
    std::unique_ptr<module::Fleet> fleet;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        module_.reset();
        fleet = std::move(fleet_);
    }
    if (fleet) {
        fleet.reset();  // Disconnects and joins the module's threads, outside our lock.
        unmatched_.clear();
        recorder_.Add(name_, EntryKind::kNote, "powered off");
    }
}

bool ModuleRuntime::Running() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fleet_ != nullptr;
}

std::optional<sim::TimePoint> ModuleRuntime::NextDue() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fleet_ ? fleet_->timers().NextDue() : std::nullopt;
}

bool ModuleRuntime::SettleTimers(std::chrono::milliseconds timeout) {
    std::lock_guard<std::mutex> lock(mutex_);
    return !fleet_ || fleet_->timers().Settle(timeout);
}

std::vector<std::string> ModuleRuntime::At(const std::string& line,
                                           std::chrono::milliseconds timeout) {
    std::shared_ptr<module::SoftwareModule> module;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        module = module_;
    }
    recorder_.Add(name_, EntryKind::kAtSend, line);
    if (!module) {
        recorder_.Add(name_, EntryKind::kNote, "no answer: the module is powered off");
        return {};
    }
    auto lines = module->Command(line, timeout);
    if (lines.empty()) {
        recorder_.Add(name_, EntryKind::kAtAnswer,
                      "(no answer within " + std::to_string(timeout.count()) + " ms)");
    }
    for (const auto& answer : lines) {
        recorder_.Add(name_, EntryKind::kAtAnswer, answer);
    }
    return lines;
}

std::optional<std::string> ModuleRuntime::PollEvent() {
    std::shared_ptr<module::SoftwareModule> module;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        module = module_;
    }
    if (!module) {
        return std::nullopt;
    }
    // Polled quietly: only events go to the timeline, not every empty AT+EVENT?.
    auto lines = module->Command("AT+EVENT?", 5s);
    if (lines.empty()) {
        return std::nullopt;
    }
    if (lines.front() == "OK") {
        return std::string();
    }
    recorder_.Add(name_, EntryKind::kEvent, lines.front());
    return lines.front();
}

// ---- MQTT clients -----------------------------------------------------------------------------

ClientRuntime::ClientRuntime(std::string name, std::string client_id, Endpoint endpoint,
                             CertificateFiles certificate, Recorder& recorder)
    : name_(std::move(name)),
      endpoint_(std::move(endpoint)),
      certificate_(std::move(certificate)),
      recorder_(recorder),
      client_("ssl://" + endpoint_.address + ":" + std::to_string(endpoint_.port), client_id,
              mqtt::create_options(MQTTVERSION_3_1_1)) {
    client_.set_message_callback([this](mqtt::const_message_ptr message) {
        const std::string topic = message->get_topic();
        const std::string payload = message->to_string();
        recorder_.Add(name_, EntryKind::kMqtt, "message on " + topic + ": " + payload);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            messages_.emplace_back(topic, payload);
        }
        arrived_.notify_all();
    });
    client_.set_connection_lost_handler([this](const std::string& cause) {
        recorder_.Add(name_, EntryKind::kMqtt,
                      "connection to " + endpoint_.account + " lost" +
                          (cause.empty() ? std::string() : ": " + cause));
        arrived_.notify_all();
    });
}

ClientRuntime::~ClientRuntime() {
    client_.set_message_callback(nullptr);
    client_.set_connection_lost_handler(nullptr);
    try {
        if (client_.is_connected()) {
            client_.disconnect()->wait_for(2s);
        }
    } catch (const mqtt::exception&) {
        // Tearing down: a failed DISCONNECT changes nothing.
    }
}

bool ClientRuntime::Connected() const { return client_.is_connected(); }

sim::Result<void, std::string> ClientRuntime::Connect(std::chrono::milliseconds timeout) {
    auto tls = mqtt::ssl_options_builder()
                   .trust_store(endpoint_.server_ca.string())
                   .key_store(certificate_.certificate.string())
                   .private_key(certificate_.key.string())
                   .enable_server_cert_auth(true)
                   .verify(true)
                   .finalize();
    auto options = mqtt::connect_options_builder()
                       .ssl(std::move(tls))
                       .connect_timeout(std::chrono::duration_cast<std::chrono::seconds>(
                           std::max(timeout, std::chrono::milliseconds{1000})))
                       .keep_alive_interval(30s)
                       .mqtt_version(MQTTVERSION_3_1_1)
                       .clean_session(true)
                       .finalize();
    recorder_.Add(name_, EntryKind::kMqtt,
                  "CONNECT to " + endpoint_.account + " (" + endpoint_.address + ":" +
                      std::to_string(endpoint_.port) + ") as " + client_.get_client_id());
    try {
        auto token = client_.connect(options);
        if (!token->wait_for(timeout)) {
            recorder_.Add(name_, EntryKind::kMqtt, "no CONNACK within the timeout");
            return Fail("no CONNACK within " + std::to_string(timeout.count()) + " ms");
        }
    } catch (const mqtt::exception& e) {
        const std::string reason = e.get_return_code() == 5
                                       ? "CONNACK 5 (not authorized)"
                                       : "connection closed before CONNACK (" +
                                             std::string(e.what()) + ")";
        recorder_.Add(name_, EntryKind::kMqtt, "refused: " + reason);
        return Fail(reason);
    }
    recorder_.Add(name_, EntryKind::kMqtt, "CONNACK 0 (connected)");
    return {};
}

sim::Result<void, std::string> ClientRuntime::Disconnect(std::chrono::milliseconds timeout) {
    recorder_.Add(name_, EntryKind::kMqtt, "DISCONNECT");
    try {
        if (client_.is_connected()) {
            client_.disconnect()->wait_for(timeout);
        }
    } catch (const mqtt::exception& e) {
        return Fail(std::string("DISCONNECT failed: ") + e.what());
    }
    return {};
}

sim::Result<void, std::string> ClientRuntime::Subscribe(const std::string& filter,
                                                        std::chrono::milliseconds timeout) {
    recorder_.Add(name_, EntryKind::kMqtt, "SUBSCRIBE " + filter);
    if (!client_.is_connected()) {
        return Fail("not connected");
    }
    try {
        auto token = client_.subscribe(filter, 1);
        if (!token->wait_for(timeout)) {
            return Fail("no SUBACK within " + std::to_string(timeout.count()) + " ms");
        }
        // MQTT 3.1.1 §3.9.3: 0x80 in the SUBACK is a refusal.
        const mqtt::subscribe_response response = token->get_subscribe_response();
        const std::vector<mqtt::ReasonCode> codes = response.get_reason_codes();
        for (const auto code : codes) {
            if (code >= 0x80) {
                recorder_.Add(name_, EntryKind::kMqtt, "SUBACK 0x80 (refused)");
                return Fail("SUBACK 0x80 (refused)");
            }
        }
    } catch (const mqtt::exception& e) {
        const std::string reason =
            e.get_return_code() == 0x80 ? "SUBACK 0x80 (refused)"
                                        : std::string("subscription failed: ") + e.what();
        recorder_.Add(name_, EntryKind::kMqtt, reason);
        return Fail(reason);
    }
    // AWS IoT (and the emulator, at its next TICK) closes an MQTT 3.1.1 connection whose
    // subscription its policy denies, possibly after a SUBACK: watch briefly.
    std::this_thread::sleep_for(250ms);
    if (!client_.is_connected()) {
        return Fail("connection closed after SUBSCRIBE");
    }
    recorder_.Add(name_, EntryKind::kMqtt, "SUBACK (granted)");
    return {};
}

sim::Result<void, std::string> ClientRuntime::Publish(const std::string& topic,
                                                      const std::string& payload, int qos,
                                                      int repeat, std::chrono::milliseconds timeout,
                                                      std::chrono::milliseconds settle) {
    recorder_.Add(name_, EntryKind::kMqtt,
                  "PUBLISH " + topic + " (QoS " + std::to_string(qos) + ")" +
                      (repeat > 1 ? " x" + std::to_string(repeat) : std::string()) + ": " +
                      payload);
    if (!client_.is_connected()) {
        return Fail("not connected");
    }
    try {
        std::vector<mqtt::delivery_token_ptr> tokens;
        for (int i = 0; i < repeat; ++i) {
            tokens.push_back(client_.publish(topic, payload.data(), payload.size(), qos, false));
        }
        for (auto& token : tokens) {
            if (!token->wait_for(timeout)) {
                return Fail("no PUBACK within " + std::to_string(timeout.count()) + " ms");
            }
        }
    } catch (const mqtt::exception& e) {
        return Fail(std::string("publish failed: ") + e.what());
    }
    // A QoS 1 publish that the policy denies is acknowledged on MQTT 3.1.1 and then the
    // connection is closed (AWS IoT Core developer guide, "MQTT": an authorization failure
    // disconnects an MQTT 3.1.1 client), so delivery means: still connected a moment later.
    std::this_thread::sleep_for(settle);
    if (!client_.is_connected()) {
        return Fail("connection closed after PUBLISH");
    }
    recorder_.Add(name_, EntryKind::kMqtt, qos == 1 ? "PUBACK, still connected" : "still connected");
    return {};
}

std::optional<std::pair<std::string, std::string>> ClientRuntime::WaitMessage(
    const std::string& filter,
    const std::function<bool(const std::string&, const std::string&)>& accept,
    std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
        for (auto it = messages_.begin(); it != messages_.end(); ++it) {
            if (module::TopicMatches(filter, it->first) && accept(it->first, it->second)) {
                auto found = *it;
                messages_.erase(it);
                return found;
            }
        }
        if (arrived_.wait_until(lock, deadline) == std::cv_status::timeout) {
            for (auto it = messages_.begin(); it != messages_.end(); ++it) {
                if (module::TopicMatches(filter, it->first) && accept(it->first, it->second)) {
                    auto found = *it;
                    messages_.erase(it);
                    return found;
                }
            }
            return std::nullopt;
        }
    }
}

}  // namespace sim::scenario
