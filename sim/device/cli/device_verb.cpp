// SPDX-License-Identifier: Apache-2.0
// `elsim device provision`: a software device that runs fleet provisioning by claim
// (sim/device/README.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/device/provision.hpp"
#include "verbs.hpp"

namespace elsim {

namespace {

struct ProvisionArgs {
    sim::device::ProvisionOptions options;
    std::vector<std::string> parameters;  // K=V
    bool csr = false;
    std::string key_type = "ec";
    std::string format = "json";
    int timeout_s = 10;
};

void RunProvisionVerb(ProvisionArgs& args, VerbContext& context) {
    auto& options = args.options;
    for (const auto& text : args.parameters) {
        auto parameter = sim::device::ParseParameter(text);
        if (!parameter) {
            std::fprintf(stderr, "elsim device provision: %s\n",
                         parameter.error().message.c_str());
            context.exit_code = kExitBadInput;
            return;
        }
        options.parameters[parameter->first] = parameter->second;
    }
    options.key_source = args.csr ? sim::device::KeySource::kCreateCertificateFromCsr
                                  : sim::device::KeySource::kCreateKeysAndCertificate;
    options.csr_key_type =
        args.key_type == "rsa" ? sim::device::CsrKeyType::kRsa2048 : sim::device::CsrKeyType::kEcP256;
    options.format =
        args.format == "cbor" ? sim::device::PayloadFormat::kCbor : sim::device::PayloadFormat::kJson;
    options.timeout = std::chrono::seconds{args.timeout_s};
    const auto report = sim::device::RunProvision(options, [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
    });
    if (report.outcome != sim::device::ProvisionReport::Outcome::kProvisioned) {
        std::fprintf(stderr, "elsim device provision: %s\n", report.error.c_str());
    } else {
        std::printf("provisioned: thingName=%s certificateId=%s out=%s\n",
                    report.thing_name.c_str(), report.certificate_id.c_str(),
                    options.out.string().c_str());
    }
    std::fflush(stdout);
    context.exit_code = sim::device::ExitCodeOf(report);
}

}  // namespace

void AddDeviceVerb(CLI::App& app, VerbContext& context) {
    auto* device = app.add_subcommand("device", "Software devices that use an account's device APIs");
    device->require_subcommand(1);
    auto args = std::make_shared<ProvisionArgs>();
    auto* provision = device->add_subcommand(
        "provision",
        "Fleet provisioning by claim, as a device does it: connect with the claim certificate\n"
        "(mTLS, MQTT 3.1.1), CreateKeysAndCertificate (or, with --csr, CreateCertificateFromCsr\n"
        "with a key made here that is never sent), RegisterThing with --template and\n"
        "--parameter K=V, write cert.pem, key.pem (0600) and identity.json to --out (all at\n"
        "once, only after RegisterThing is accepted), reconnect with the new certificate\n"
        "(client id = thingName) and publish one message. Prints one line per step.\n"
        "Exit 0 provisioned, 1 a step failed (named, with a rejection's errorCode), 2 bad input.");
    auto& options = args->options;
    provision->add_option("--endpoint", options.endpoint,
                          "Account ATS endpoint host[:port] (port 8883 by default). Names under "
                          ".elsim.test are looked up in DIR/world.json; others are host names")
        ->required();
    provision->add_option("--world", options.world,
                          "World directory (world.json: endpoints map and serverCaFile)");
    provision->add_option("--root-ca", options.root_ca,
                          "CA file to verify the endpoint (default: serverCaFile of --world)");
    provision->add_option("--claim-cert", options.claim_cert, "Claim certificate (PEM)")
        ->required();
    provision->add_option("--claim-key", options.claim_key, "Claim certificate's private key (PEM)")
        ->required();
    provision->add_option("--template", options.template_name,
                          "Fleet provisioning template name")
        ->required();
    provision->add_option("--parameter", args->parameters,
                          "RegisterThing parameter KEY=VALUE (repeatable), e.g. SerialNumber=0001");
    provision->add_option("--out", options.out,
                          "Directory for the new identity (must not exist, or be empty)")
        ->required();
    provision->add_flag("--csr", args->csr,
                        "CreateCertificateFromCsr with a locally generated key instead of "
                        "CreateKeysAndCertificate");
    provision->add_option("--key-type", args->key_type, "Key for --csr: ec (P-256) or rsa (2048)")
        ->check(CLI::IsMember({"ec", "rsa"}))
        ->capture_default_str();
    provision->add_option("--format", args->format, "Payload format of the MQTT API: json or cbor")
        ->check(CLI::IsMember({"json", "cbor"}))
        ->capture_default_str();
    provision->add_option("--client-id", options.client_id,
                          "Client id of the claim connection (default: elsim-device-<random>)");
    provision->add_option("--topic", options.topic,
                          "Topic of the message published after reconnecting "
                          "(default: <thingName>/provisioned)");
    provision->add_option("--message", options.message,
                          "That message (default: {\"thingName\": ...})");
    provision->add_option("--timeout", args->timeout_s, "Seconds per MQTT operation")
        ->check(CLI::Range(1, 600))
        ->capture_default_str();
    provision->callback([args, &context] { RunProvisionVerb(*args, context); });
}

}  // namespace elsim
