// SPDX-License-Identifier: Apache-2.0
// The fleet-provisioning device over libmosquitto, one blocking MQTT session at a time
// (mqtt_session.hpp). Topics and payloads: AWS IoT Core Developer Guide, "Device provisioning
// MQTT API".
#include "sim/device/provision.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "sim/core/adapters.hpp"
#include "sim/staging/claim_client.hpp"
#include "mqtt_session.hpp"

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

    auto address = detail::SplitUri(target->uri);
    if (!address) {
        return failed(Step::kConnectClaim, address.error().message);
    }
    // The claim identity: decoded once by the caller for many devices, or read here.
    std::shared_ptr<const TlsIdentity> claim_tls = options.claim_identity;
    if (!claim_tls) {
        auto loaded = TlsIdentity::Load(target->root_ca, options.claim_cert, options.claim_key);
        if (!loaded) {
            return failed(Step::kConnectClaim, loaded.error().message);
        }
        claim_tls = std::move(*loaded);
    }
    {
        detail::MqttSession claim(address->first, address->second, client_id, claim_tls,
                                  options.timeout);
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
    }

    if (auto written = WriteIdentity(options.out, report); !written) {
        return failed(Step::kWriteIdentity, written.error().message);
    }
    report.identity_written = true;
    done("identity written: " + (options.out / "cert.pem").string() + " " +
         (options.out / "key.pem").string() + " (0600) " +
         (options.out / "identity.json").string());

    // The new identity as written, from memory: the key the device holds, the certificate
    // it was sent, the root CA it already trusts.
    pki::Key new_key = device_key ? *device_key : pki::Key::PublicOnly(nullptr);
    if (!device_key) {
        auto key = pki::Key::FromPrivatePem(report.private_key_pem);
        if (!key) {
            return failed(Step::kReconnect, "the private key received: " + key.error().message);
        }
        new_key = std::move(*key);
    }
    auto device_tls = claim_tls->WithCertificate(report.certificate_pem, new_key);
    if (!device_tls) {
        return failed(Step::kReconnect, device_tls.error().message);
    }
    {
        detail::MqttSession device(address->first, address->second, report.thing_name,
                                   std::move(*device_tls), options.timeout);
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
    }
    report.outcome = ProvisionReport::Outcome::kProvisioned;
    return report;
}

}  // namespace sim::device
