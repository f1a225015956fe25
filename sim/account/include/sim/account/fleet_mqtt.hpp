// SPDX-License-Identifier: Apache-2.0
#pragma once
// The fleet-provisioning MQTT API (AWS IoT Core Developer Guide, "Device provisioning MQTT API"):
// topic + payload in, one reply (topic + payload) out, over the account registry.
//
// Contract
//  - Pure: no I/O, clock or randomness of its own. Certificates are issued by the injected
//    FleetIssuer port (the adapter signs with the account's AWS IoT CA); time and tokens come
//    from the registry's Clock and Random.
//  - Payloads are JSON or CBOR by the topic's `<fmt>` (nlohmann::json); replies use the same
//    format. Member names are AWS's.
//  - Rejected replies are {statusCode, errorCode, errorMessage}. A rejected request has
//    changed nothing in the registry.
//  - Not thread-safe: the caller holds the account's exclusive lock around
//    ExecuteFleetRequest (ParseFleetRequest touches no registry).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "pki/certificate.hpp"
#include "sim/account/registry.hpp"
#include "sim/account/types.hpp"

namespace sim::account {

enum class FleetOperation { kCreateKeysAndCertificate, kCreateCertificateFromCsr, kRegisterThing };
enum class PayloadFormat { kJson, kCbor };

/// A request topic: `$aws/certificates/create/<fmt>`, `$aws/certificates/create-from-csr/<fmt>`
/// or `$aws/provisioning-templates/<templateName>/provision/<fmt>`, `<fmt>` json|cbor.
struct FleetTopic {
    FleetOperation operation = FleetOperation::kCreateKeysAndCertificate;
    PayloadFormat format = PayloadFormat::kJson;
    std::string template_name;  ///< RegisterThing only.
    /// The request topic; replies go to `<topic>/accepted` and `<topic>/rejected`.
    std::string topic;
};

/// The request topic, or nullopt for any other topic (including the accepted/rejected ones and
/// an unknown `<fmt>`).
std::optional<FleetTopic> ParseFleetTopic(std::string_view topic);

/// The connection that published the request.
struct FleetCaller {
    std::string certificate_id;  ///< The claim (or other) certificate of the connection.
    std::string client_id;
};

/// A decoded request.
struct FleetRequest {
    FleetTopic topic;
    std::string certificate_signing_request;  ///< CreateCertificateFromCsr.
    std::string certificate_ownership_token;  ///< RegisterThing.
    std::map<std::string, std::string> parameters;  ///< RegisterThing.
};

/// What the broker publishes back, to the requesting connection only.
struct FleetReply {
    std::string topic;    ///< `<request topic>/accepted` or `/rejected`.
    std::string payload;  ///< JSON text or CBOR bytes.
    bool accepted = false;
    std::string error_code;     ///< Rejected: the errorCode.
    std::string error_message;  ///< Rejected: the errorMessage.
    std::string certificate_id;  ///< Accepted Create*: the new certificate.
    std::string thing_name;      ///< Accepted RegisterThing.
};

/// The port that issues certificates signed by the account's AWS IoT CA.
class FleetIssuer {
public:
    virtual ~FleetIssuer() = default;
    struct Keys {
        pki::CertificateInfo certificate;
        std::string private_key_pem;
    };
    /// A new key pair and its certificate (CreateKeysAndCertificate).
    virtual AwsResult<Keys> CreateKeysAndCertificate() = 0;
    /// A certificate for the CSR's key. InvalidRequestException for a bad CSR.
    virtual AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(std::string_view csr_pem) = 0;
};

/// Decodes a request. A rejected reply (InvalidPayload) for a payload that is not a JSON/CBOR
/// object of the documented members; nullopt-free: every request topic gets an answer.
std::variant<FleetRequest, FleetReply> ParseFleetRequest(const FleetTopic& topic,
                                                         std::string_view payload);

/// Runs a decoded request against the registry. `parameter_overrides` are the
/// pre-provisioning hook's (RegisterThing; merged over the request's parameters).
FleetReply ExecuteFleetRequest(Registry& registry, FleetIssuer& issuer,
                               const FleetRequest& request, const FleetCaller& caller,
                               const std::map<std::string, std::string>& parameter_overrides = {});

/// A rejected reply for `topic` (any failure an adapter detects itself, e.g. the hook).
FleetReply RejectFleetRequest(const FleetTopic& topic, int status_code, std::string error_code,
                              std::string error_message);

/// Parse + execute, for adapters without a pre-provisioning hook.
FleetReply HandleFleetRequest(Registry& registry, FleetIssuer& issuer, std::string_view topic,
                              std::string_view payload, const FleetCaller& caller);

// ---- The pre-provisioning hook (AWS IoT Core Developer Guide, 'Pre-provisioning hooks') -------

/// A call of the template's hook: its target and AWS's input payload (claimCertificateId,
/// certificateId, certificatePem, templateArn, clientId, parameters).
struct PreProvisioningHookCall {
    PreProvisioningHook hook;
    nlohmann::json input;
};

/// The hook call a RegisterThing request needs before ExecuteFleetRequest; nullopt when the
/// template has no hook or the request cannot reach it (not RegisterThing, unknown/expired
/// token, unknown or disabled template: ExecuteFleetRequest rejects those itself).
std::optional<PreProvisioningHookCall> PreProvisioningHookFor(const Registry& registry,
                                                               const FleetRequest& request,
                                                               const FleetCaller& caller);

/// The hook's verdict from its output: allowProvisioning true → the overrides; anything else
/// (false, missing, malformed, non-string override values) → nullopt (refused).
std::optional<std::map<std::string, std::string>> ParsePreProvisioningHookOutput(
    std::string_view output);

/// The reply when the hook refused, failed or timed out.
FleetReply RejectByHook(const FleetTopic& topic, std::string_view why);

/// The serialization of `value` in `format` (JSON text or CBOR bytes).
std::string EncodePayload(const nlohmann::json& value, PayloadFormat format);

}  // namespace sim::account
