// SPDX-License-Identifier: Apache-2.0
// The fleet-provisioning device over Paho MQTT C++ 1.2 (reference/deps.md §4 for how failures
// surface). Topics and payloads: AWS IoT Core Developer Guide, "Device provisioning MQTT API".
#include "sim/device/provision.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "sim/core/adapters.hpp"
#include "sim/staging/claim_client.hpp"

namespace sim::device {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

sim::Unexpected<Error> Bad(std::string message) {
    return sim::MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// Template names: 1-36 characters of [0-9A-Za-z_-] (CreateProvisioningTemplate's templateName
// pattern; FP_TEMPLATENAME_MAX_LENGTH in AWS's Fleet Provisioning library).
bool IsTemplateName(std::string_view name) {
    return !name.empty() && name.size() <= 36 &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
           });
}

bool IsClientId(std::string_view id) {
    return !id.empty() && id.size() <= 128 &&
           std::none_of(id.begin(), id.end(), [](char c) {
               return c == '+' || c == '#' || c == '/' ||
                      std::isspace(static_cast<unsigned char>(c)) != 0 ||
                      std::iscntrl(static_cast<unsigned char>(c)) != 0;
           });
}

// A topic name (no wildcards) to publish on after reconnecting.
bool IsTopicName(std::string_view topic) {
    return !topic.empty() && topic.size() <= 256 &&
           topic.find_first_of("+#") == std::string_view::npos;
}

std::string Encode(const json& value, PayloadFormat format) {
    if (format == PayloadFormat::kJson) {
        return value.dump();
    }
    const auto bytes = json::to_cbor(value);
    return {bytes.begin(), bytes.end()};
}

std::optional<json> Decode(const std::string& payload, PayloadFormat format) {
    try {
        json value = format == PayloadFormat::kJson ? json::parse(payload) : json::from_cbor(payload);
        if (value.is_object()) {
            return value;
        }
    } catch (const json::exception&) {  // NOLINT(bugprone-empty-catch): nullopt below.
    }
    return std::nullopt;
}

std::string Member(const json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Replies on the subscribed accepted/rejected topics, in arrival order.
struct Inbox {
    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<std::pair<std::string, std::string>> messages;
    bool lost = false;
    std::string lost_cause;
};

// One MQTT 3.1.1 connection over mTLS. Connect/Subscribe/Publish/Await block up to `timeout`
// and never throw (the constructor throws for a URI Paho refuses; the caller catches).
class Connection {
public:
    Connection(const std::string& uri, const std::string& client_id, const fs::path& root_ca,
               const fs::path& cert, const fs::path& key, std::chrono::milliseconds timeout)
        : client_(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1)), timeout_(timeout) {
        auto inbox = inbox_;
        client_.set_connection_lost_handler([inbox](const std::string& cause) {
            std::lock_guard lock(inbox->mutex);
            inbox->lost = true;
            inbox->lost_cause = cause.empty() ? "connection lost" : cause;
            inbox->arrived.notify_all();
        });
        client_.set_message_callback([inbox](mqtt::const_message_ptr message) {
            std::lock_guard lock(inbox->mutex);
            inbox->messages.emplace_back(message->get_topic(), message->to_string());
            inbox->arrived.notify_all();
        });
        // No ssl error_handler: Paho C++ 1.2 crashes in it (see sim/module paho_mqtt_port).
        auto ssl = mqtt::ssl_options_builder()
                       .trust_store(root_ca.string())
                       .key_store(cert.string())
                       .private_key(key.string())
                       .enable_server_cert_auth(true)
                       .verify(true)
                       .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                       .finalize();
        options_ = mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_3_1_1)
                       .clean_session(true)
                       .keep_alive_interval(std::chrono::seconds{30})
                       .connect_timeout(std::max(std::chrono::seconds{1},
                                                 std::chrono::duration_cast<std::chrono::seconds>(
                                                     timeout)))
                       .automatic_reconnect(false)
                       .ssl(std::move(ssl))
                       .finalize();
    }
    ~Connection() { Disconnect(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // "" when connected; else why not.
    std::string Connect() {
        try {
            if (!client_.connect(options_)->wait_for(timeout_)) {
                return "no CONNACK within " + std::to_string(timeout_.count()) + " ms";
            }
            return {};
        } catch (const mqtt::exception& e) {
            if (e.get_return_code() == 5) {
                return "CONNACK 5 (not authorized)";
            }
            return std::string("connection refused or closed (") + e.what() + ")";
        }
    }

    // "" when every filter was granted (QoS 1).
    std::string Subscribe(const std::vector<std::string>& filters) {
        try {
            auto token = client_.subscribe(mqtt::string_collection::create(filters),
                                           std::vector<int>(filters.size(), 1));
            if (!token->wait_for(timeout_)) {
                return "no SUBACK within " + std::to_string(timeout_.count()) + " ms";
            }
            // MQTT 3.1.1: a refused filter has return code 0x80 in the SUBACK. Paho throws
            // when every filter was refused; with several, the codes tell which.
            const auto codes = token->get_subscribe_response().get_reason_codes();
            for (std::size_t i = 0; i < codes.size() && i < filters.size(); ++i) {
                if (static_cast<int>(codes[i]) >= 0x80) {
                    return "subscription refused (SUBACK 0x80) filter=" + filters[i];
                }
            }
            return {};
        } catch (const mqtt::exception& e) {
            return std::string("subscription refused (") + e.what() + ")";
        }
    }

    // QoS 1; "" on PUBACK.
    std::string Publish(const std::string& topic, const std::string& payload) {
        try {
            auto token = client_.publish(topic, payload.data(), payload.size(), 1, false);
            if (!token->wait_for(timeout_)) {
                return "no PUBACK within " + std::to_string(timeout_.count()) + " ms";
            }
            return {};
        } catch (const mqtt::exception& e) {
            return std::string("publish failed (") + e.what() + ")";
        }
    }

    // The next message on `accepted` or `rejected` (others are dropped), or why none came.
    sim::Result<std::pair<std::string, std::string>> Await(const std::string& accepted,
                                                           const std::string& rejected) {
        std::unique_lock lock(inbox_->mutex);
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        while (true) {
            while (!inbox_->messages.empty()) {
                auto message = std::move(inbox_->messages.front());
                inbox_->messages.pop_front();
                if (message.first == accepted || message.first == rejected) {
                    return message;
                }
            }
            if (inbox_->lost) {
                return sim::MakeError(ErrorCode::kUnavailable,
                                      "connection closed by the broker (" + inbox_->lost_cause +
                                          ")");
            }
            if (inbox_->arrived.wait_until(lock, deadline) == std::cv_status::timeout &&
                inbox_->messages.empty()) {
                return sim::MakeError(ErrorCode::kUnavailable,
                                      "no reply on " + accepted + " or /rejected within " +
                                          std::to_string(timeout_.count()) + " ms");
            }
        }
    }

    void Disconnect() {
        try {
            if (client_.is_connected()) {
                client_.disconnect()->wait_for(timeout_);
            }
        } catch (...) {  // NOLINT(bugprone-empty-catch): best effort.
        }
    }

private:
    std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
    mqtt::async_client client_;
    std::chrono::milliseconds timeout_;
    mqtt::connect_options options_;
};

// The identity directory, written next to `out` and renamed onto it (see the header).
sim::Status WriteIdentity(const fs::path& out, const ProvisionReport& report) {
    const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    std::string pattern = (parent / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return sim::MakeError(ErrorCode::kIo, "cannot create a directory next to " + out.string());
    }
    const fs::path staging = pattern;
    auto fail = [&](const std::string& why) -> sim::Status {
        std::error_code ec;
        fs::remove_all(staging, ec);
        return sim::MakeError(ErrorCode::kIo, why);
    };
    using fs::perms;
    const json identity = {{"thingName", report.thing_name},
                           {"certificateId", report.certificate_id},
                           {"deviceConfiguration", json::parse(report.device_configuration)}};
    for (const auto& [name, text, mode] :
         {std::tuple{"cert.pem", report.certificate_pem,
                     perms::owner_read | perms::owner_write | perms::group_read |
                         perms::others_read},
          std::tuple{"key.pem", report.private_key_pem, perms::owner_read | perms::owner_write},
          std::tuple{"identity.json", identity.dump(2) + "\n",
                     perms::owner_read | perms::owner_write | perms::group_read |
                         perms::others_read}}) {
        if (auto written = sim::WriteFileAtomically(staging / name, text, mode); !written) {
            return fail(written.error().message);
        }
    }
    std::error_code ec;
    // rename(2) replaces an empty directory atomically; PrepareProvision refused a full one.
    fs::rename(staging, out, ec);
    if (ec) {
        return fail("cannot rename " + staging.string() + " to " + out.string() + ": " +
                    ec.message());
    }
    return {};
}

const char* OperationName(KeySource source) {
    return source == KeySource::kCreateKeysAndCertificate ? "CreateKeysAndCertificate"
                                                          : "CreateCertificateFromCsr";
}

std::string Rejection(const json& body) {
    std::ostringstream out;
    out << "statusCode=" << (body.contains("statusCode") ? body["statusCode"].dump() : "?")
        << " errorCode=" << Member(body, "errorCode")
        << " errorMessage=" << json(Member(body, "errorMessage")).dump();
    return out.str();
}

}  // namespace

const char* ToString(Step step) {
    switch (step) {
        case Step::kConnectClaim: return "connect-claim";
        case Step::kSubscribe: return "subscribe";
        case Step::kCreateCertificate: return "create-certificate";
        case Step::kRegisterThing: return "register-thing";
        case Step::kWriteIdentity: return "write-identity";
        case Step::kReconnect: return "reconnect";
        case Step::kPublish: return "publish";
    }
    return "?";
}

sim::Result<std::pair<std::string, std::string>> ParseParameter(const std::string& text) {
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
        return Bad("--parameter: '" + text + "' is not KEY=VALUE");
    }
    return std::pair{text.substr(0, equals), text.substr(equals + 1)};
}

sim::Result<ProvisionTarget> PrepareProvision(const ProvisionOptions& options) {
    if (!IsTemplateName(options.template_name)) {
        return Bad("--template: '" + options.template_name +
                   "' is not a template name ([0-9A-Za-z_-]{1,36})");
    }
    if (!options.client_id.empty() && !IsClientId(options.client_id)) {
        return Bad("--client-id: '" + options.client_id +
                   "' is not usable as an MQTT client id (1-128 characters, no + # / or spaces)");
    }
    if (!options.topic.empty() && !IsTopicName(options.topic)) {
        return Bad("--topic: '" + options.topic + "' is not a topic name (no + or #)");
    }
    if (options.out.empty()) {
        return Bad("--out: required");
    }
    std::error_code ec;
    if (fs::exists(options.out, ec)) {
        if (!fs::is_directory(options.out, ec) || !fs::is_empty(options.out, ec)) {
            return Bad("--out: '" + options.out.string() +
                       "' exists and is not an empty directory (an identity is never overwritten)");
        }
    } else {
        const fs::path parent =
            options.out.parent_path().empty() ? fs::path(".") : options.out.parent_path();
        if (!fs::is_directory(parent, ec)) {
            return Bad("--out: parent directory '" + parent.string() + "' does not exist");
        }
    }
    auto endpoint = sim::staging::ResolveMqttEndpoint("--endpoint", options.endpoint,
                                                      options.world, options.root_ca);
    if (!endpoint) {
        return sim::Unexpected<Error>(endpoint.error());
    }
    for (const auto& [path, option] : {std::pair{options.claim_cert, "--claim-cert"},
                                       std::pair{options.claim_key, "--claim-key"}}) {
        if (path.empty() || !fs::is_regular_file(path, ec)) {
            return Bad(std::string(option) + ": '" + path.string() + "' is not a readable file");
        }
    }
    return ProvisionTarget{endpoint->uri, endpoint->root_ca};
}

int ExitCodeOf(const ProvisionReport& report) {
    switch (report.outcome) {
        case ProvisionReport::Outcome::kProvisioned: return 0;
        case ProvisionReport::Outcome::kFailed: return 1;
        case ProvisionReport::Outcome::kBadInput: return 2;
    }
    return 1;
}

ProvisionReport RunProvision(const ProvisionOptions& options,
                             const std::function<void(const std::string&)>& on_step) {
    ProvisionReport report;
    auto target = PrepareProvision(options);
    if (!target) {
        report.error = target.error().message;
        return report;
    }
    report.uri = target->uri;
    report.outcome = ProvisionReport::Outcome::kFailed;
    auto done = [&](std::string line) {
        if (on_step) {
            on_step(line);
        }
        report.lines.push_back(std::move(line));
    };
    auto failed = [&](Step step, std::string why) {
        report.failed_step = step;
        report.error = std::string(ToString(step)) + " failed: " + std::move(why);
        return report;
    };

    const std::string fmt = options.format == PayloadFormat::kJson ? "json" : "cbor";
    const std::string create_topic =
        options.key_source == KeySource::kCreateKeysAndCertificate
            ? "$aws/certificates/create/" + fmt
            : "$aws/certificates/create-from-csr/" + fmt;
    const std::string provision_topic =
        "$aws/provisioning-templates/" + options.template_name + "/provision/" + fmt;

    // The key of a CSR is made before any connection: it never leaves this process.
    std::optional<pki::Key> device_key;
    std::string csr_pem;
    sim::OsRandom random;
    const std::string client_id =
        options.client_id.empty() ? "elsim-device-" + random.Hex(8) : options.client_id;
    if (options.key_source == KeySource::kCreateCertificateFromCsr) {
        auto key = pki::Key::Generate(options.csr_key_type == CsrKeyType::kEcP256
                                          ? pki::KeyType::kEcP256
                                          : pki::KeyType::kRsa2048);
        if (!key) {
            return failed(Step::kCreateCertificate, "key generation: " + key.error().message);
        }
        auto csr = pki::CreateCsrPem(*key, pki::DistinguishedName{{{"CN", client_id}}});
        if (!csr) {
            return failed(Step::kCreateCertificate, "CSR: " + csr.error().message);
        }
        device_key = std::move(*key);
        csr_pem = std::move(*csr);
    }

    try {
        Connection claim(target->uri, client_id, target->root_ca, options.claim_cert,
                         options.claim_key, options.timeout);
        if (auto error = claim.Connect(); !error.empty()) {
            return failed(Step::kConnectClaim, error + " uri=" + target->uri);
        }
        done("connected with the claim certificate: uri=" + target->uri +
             " client_id=" + client_id);
        // AWS: subscribe to the accepted and rejected topics before publishing the request.
        if (auto error = claim.Subscribe({create_topic + "/accepted", create_topic + "/rejected",
                                          provision_topic + "/accepted",
                                          provision_topic + "/rejected"});
            !error.empty()) {
            return failed(Step::kSubscribe, error);
        }
        done("subscribed: " + create_topic + "/+ " + provision_topic + "/+");

        // CreateKeysAndCertificate: the SDKs publish an empty object; CSR: the PEM.
        const json create_request =
            device_key ? json{{"certificateSigningRequest", csr_pem}} : json::object();
        if (auto error = claim.Publish(create_topic, Encode(create_request, options.format));
            !error.empty()) {
            return failed(Step::kCreateCertificate, error + " topic=" + create_topic);
        }
        auto created = claim.Await(create_topic + "/accepted", create_topic + "/rejected");
        if (!created) {
            return failed(Step::kCreateCertificate, created.error().message);
        }
        const auto created_body = Decode(created->second, options.format);
        if (!created_body) {
            return failed(Step::kCreateCertificate, "undecodable reply on " + created->first);
        }
        if (created->first != create_topic + "/accepted") {
            report.error_code = Member(*created_body, "errorCode");
            return failed(Step::kCreateCertificate, std::string(OperationName(options.key_source)) +
                                                        " rejected: " + Rejection(*created_body));
        }
        report.certificate_id = Member(*created_body, "certificateId");
        report.certificate_pem = Member(*created_body, "certificatePem");
        report.private_key_pem =
            device_key ? device_key->PrivatePem() : Member(*created_body, "privateKey");
        const std::string token = Member(*created_body, "certificateOwnershipToken");
        if (report.certificate_id.empty() || report.certificate_pem.empty() ||
            report.private_key_pem.empty() || token.empty()) {
            return failed(Step::kCreateCertificate,
                          "accepted reply lacks certificateId, certificatePem, " +
                              std::string(device_key ? "" : "privateKey, ") +
                              "or certificateOwnershipToken");
        }
        done(std::string(OperationName(options.key_source)) +
             " accepted: certificateId=" + report.certificate_id);

        json parameters = json::object();
        for (const auto& [name, value] : options.parameters) {
            parameters[name] = value;
        }
        const json register_request = {{"certificateOwnershipToken", token},
                                       {"parameters", parameters}};
        if (auto error =
                claim.Publish(provision_topic, Encode(register_request, options.format));
            !error.empty()) {
            return failed(Step::kRegisterThing, error + " topic=" + provision_topic);
        }
        auto registered =
            claim.Await(provision_topic + "/accepted", provision_topic + "/rejected");
        if (!registered) {
            return failed(Step::kRegisterThing, registered.error().message);
        }
        const auto registered_body = Decode(registered->second, options.format);
        if (!registered_body) {
            return failed(Step::kRegisterThing, "undecodable reply on " + registered->first);
        }
        if (registered->first != provision_topic + "/accepted") {
            report.error_code = Member(*registered_body, "errorCode");
            return failed(Step::kRegisterThing,
                          "RegisterThing rejected: " + Rejection(*registered_body));
        }
        report.thing_name = Member(*registered_body, "thingName");
        const auto configuration = registered_body->find("deviceConfiguration");
        report.device_configuration =
            configuration != registered_body->end() ? configuration->dump() : "{}";
        if (report.thing_name.empty()) {
            return failed(Step::kRegisterThing, "accepted reply lacks thingName");
        }
        done("RegisterThing accepted: thingName=" + report.thing_name +
             " deviceConfiguration=" + report.device_configuration);
        // AWS: the device disconnects the claim session and reconnects with its certificate.
        claim.Disconnect();
    } catch (const std::exception& e) {
        return failed(Step::kConnectClaim, e.what());
    }

    if (auto written = WriteIdentity(options.out, report); !written) {
        return failed(Step::kWriteIdentity, written.error().message);
    }
    report.identity_written = true;
    done("identity written: " + (options.out / "cert.pem").string() + " " +
         (options.out / "key.pem").string() + " (0600) " +
         (options.out / "identity.json").string());

    try {
        Connection device(target->uri, report.thing_name, target->root_ca,
                          options.out / "cert.pem", options.out / "key.pem", options.timeout);
        if (auto error = device.Connect(); !error.empty()) {
            return failed(Step::kReconnect, error + " (the identity in " + options.out.string() +
                                                " is registered)");
        }
        done("reconnected with the new certificate: client_id=" + report.thing_name);
        const std::string topic =
            options.topic.empty() ? report.thing_name + "/provisioned" : options.topic;
        const std::string message = options.message.empty()
                                        ? json{{"thingName", report.thing_name}}.dump()
                                        : options.message;
        if (auto error = device.Publish(topic, message); !error.empty()) {
            return failed(Step::kPublish, error + " topic=" + topic);
        }
        done("published: topic=" + topic + " (PUBACK)");
    } catch (const std::exception& e) {
        return failed(Step::kReconnect, e.what());
    }
    report.outcome = ProvisionReport::Outcome::kProvisioned;
    return report;
}

}  // namespace sim::device
