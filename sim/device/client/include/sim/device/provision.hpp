// SPDX-License-Identifier: Apache-2.0
#pragma once
// A software device that runs fleet provisioning by claim (adapter; AWS IoT Core Developer
// Guide, "Provisioning by claim" and "Device provisioning MQTT API"): connect with the claim
// certificate (mTLS, libmosquitto, MQTT 3.1.1), obtain a certificate with
// CreateKeysAndCertificate or CreateCertificateFromCsr (the key made on the device with pki,
// never sent), RegisterThing with a template and parameters, then disconnect, reconnect with
// the new certificate and publish one message.
//
// Works against a world's account (endpoint names under .elsim.test are looked up in the
// world's endpoints map) and, unchanged, against any MQTT endpoint serving that API.
//
// Identity files: written to `out` only once RegisterThing is accepted (the certificate is then
// registered and, per the template, active), all at once: cert.pem, key.pem (0600) and
// identity.json are written into a fresh sibling directory that is renamed onto `out`. A
// failure before that leaves `out` untouched; a failure of the reconnect leaves the whole
// identity (the account knows it).
//
// Blocking: RunProvision returns within about 6 × timeout, on the calling thread (the MQTT
// connections have no threads of their own). Thread-safety: RunProvision may run on many
// threads at once (they share at most a claim_identity, which is immutable). Never throws.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/device/tls_identity.hpp"

namespace sim::device {

enum class PayloadFormat { kJson, kCbor };
enum class KeySource {
    kCreateKeysAndCertificate,  ///< The account makes the key pair and sends the private key.
    kCreateCertificateFromCsr,  ///< The device makes the key and sends a CSR.
};
enum class CsrKeyType { kEcP256, kRsa2048 };

struct ProvisionOptions {
    std::string endpoint;                  ///< host[:port] (8883 by default).
    std::filesystem::path world;           ///< World directory (world.json); may be empty.
    std::filesystem::path root_ca;         ///< Empty: world.json's serverCaFile.
    std::filesystem::path claim_cert;      ///< Claim certificate (PEM, leaf or chain).
    std::filesystem::path claim_key;       ///< Its private key (PEM).
    /// The claim certificate, key and root CA already decoded (TlsIdentity::Load), shared by
    /// the devices of one fleet; empty: read from claim_cert, claim_key and the root CA.
    std::shared_ptr<const TlsIdentity> claim_identity;
    std::string template_name;             ///< The FLEET_PROVISIONING template.
    std::map<std::string, std::string> parameters;  ///< RegisterThing "parameters".
    KeySource key_source = KeySource::kCreateKeysAndCertificate;
    CsrKeyType csr_key_type = CsrKeyType::kEcP256;
    PayloadFormat format = PayloadFormat::kJson;
    std::string client_id;                 ///< Claim connection's client id (empty: random).
    std::filesystem::path out;             ///< Identity directory: absent, or empty.
    std::string topic;                     ///< After reconnecting; empty: "<thingName>/provisioned".
    std::string message;                   ///< Empty: {"thingName": ...}.
    std::chrono::milliseconds timeout{10'000};  ///< Per MQTT operation.
};

/// One step of the flow, in order.
enum class Step {
    kConnectClaim,       ///< Connect with the claim certificate.
    kSubscribe,          ///< Subscribe to the accepted/rejected topics.
    kCreateCertificate,  ///< CreateKeysAndCertificate or CreateCertificateFromCsr.
    kRegisterThing,
    kWriteIdentity,
    kReconnect,          ///< Connect with the new certificate (client id = thingName).
    kPublish,
};
const char* ToString(Step step);

struct ProvisionReport {
    enum class Outcome { kProvisioned, kFailed, kBadInput };
    Outcome outcome = Outcome::kBadInput;
    Step failed_step = Step::kConnectClaim;  ///< kFailed only.
    std::string error;                       ///< kFailed / kBadInput: one line.
    std::string error_code;                  ///< A rejected reply's errorCode.
    std::vector<std::string> lines;          ///< One line per step done.
    std::string certificate_id;
    std::string thing_name;
    std::string certificate_pem;
    std::string private_key_pem;
    std::string device_configuration;  ///< RegisterThing's deviceConfiguration as JSON text.
    bool identity_written = false;
    std::string uri;
};

/// What RunProvision connects to: validated options, no network. Errors: kInvalidArgument
/// naming the option ("--template: ...", "--out: ... exists and is not empty", ...).
struct ProvisionTarget {
    std::string uri;
    std::filesystem::path root_ca;
};
sim::Result<ProvisionTarget> PrepareProvision(const ProvisionOptions& options);

/// Runs the flow (file comment). `on_step` (may be empty) gets each line as the step is done.
ProvisionReport RunProvision(const ProvisionOptions& options,
                             const std::function<void(const std::string&)>& on_step = {});

/// "K=V" → (K, V). Errors: kInvalidArgument for an empty key or a missing '='.
sim::Result<std::pair<std::string, std::string>> ParseParameter(const std::string& text);

/// Exit status for `elsim device provision`: 0 provisioned, 1 failed, 2 bad input.
int ExitCodeOf(const ProvisionReport& report);

}  // namespace sim::device
