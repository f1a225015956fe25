// SPDX-License-Identifier: Apache-2.0
#include "fleet_device.hpp"

#include <algorithm>

#include "sim/device/provision.hpp"

namespace sim::scenario {

sim::Result<void, std::string> RunFleetDevice(FleetDeviceRuntime& device, const ProvisionStep& step,
                                              Duration within, Recorder& recorder) {
    using Fail = sim::Unexpected<std::string>;
    sim::device::ProvisionOptions options;
    options.endpoint = device.endpoint;
    options.world = device.world_dir;
    options.root_ca = device.root_ca;
    options.claim_cert = device.claim.certificate;
    options.claim_key = device.claim.key;
    options.template_name = device.spec.template_name;
    options.parameters = device.parameters;
    options.key_source = device.spec.csr ? sim::device::KeySource::kCreateCertificateFromCsr
                                         : sim::device::KeySource::kCreateKeysAndCertificate;
    options.format =
        device.spec.cbor ? sim::device::PayloadFormat::kCbor : sim::device::PayloadFormat::kJson;
    options.client_id = device.name;
    options.out = device.out_dir / ("run-" + std::to_string(++device.runs));
    // The flow makes about six MQTT operations in turn; each gets a share of the step's time
    // (a pre-provisioning hook may take its 5 s inside RegisterThing).
    options.timeout = std::max(Duration(6'000), within / 6);
    std::error_code ec;
    std::filesystem::create_directories(device.out_dir, ec);

    const auto report = sim::device::RunProvision(options, [&](const std::string& line) {
        recorder.Add(device.name, EntryKind::kMqtt, line);
    });
    if (!report.certificate_id.empty()) {
        device.certificate_id = report.certificate_id;
    }
    using Outcome = sim::device::ProvisionReport::Outcome;
    if (report.outcome == Outcome::kBadInput) {
        return Fail("device " + device.name + ": " + report.error);
    }
    if (report.outcome == Outcome::kProvisioned) {
        device.thing_name = report.thing_name;
        if (!step.expect_provisioned) {
            return Fail("expected a refusal, but " + device.name + " was provisioned as " +
                        report.thing_name);
        }
        return {};
    }
    const std::string failed = sim::device::ToString(report.failed_step);
    recorder.Add(device.name, EntryKind::kRefusal, failed + ": " + report.error);
    if (step.expect_provisioned) {
        return Fail(device.name + " failed at " + failed + ": " + report.error);
    }
    if (!step.failed_step.empty() && step.failed_step != failed) {
        return Fail("expected a refusal at " + step.failed_step + ", but " + device.name +
                    " failed at " + failed + ": " + report.error);
    }
    if (!step.error_code.empty() && step.error_code != report.error_code) {
        return Fail("expected errorCode " + step.error_code + ", but " + device.name +
                    " failed at " + failed + " with " +
                    (report.error_code.empty() ? "no errorCode" : report.error_code) + ": " +
                    report.error);
    }
    return {};
}

}  // namespace sim::scenario
