// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the IoT policy document parser and evaluator (CreatePolicy bodies come
// from API callers). Input: a policy document. Properties: no crash or sanitizer report; a
// parsed document evaluates every action against a few resources without failing, and an
// explicit deny never reads as allowed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/account/policy.hpp"

namespace {

using sim::account::Action;

sim::account::ClientIdentity Identity() {
    sim::account::ClientIdentity client;
    client.client_id = "device-1";
    client.certificate_id = "abc";
    client.thing = sim::account::ThingContext{"device-1", "sensor", {{"room", "a"}}, true};
    client.subject = sim::account::CertificateFieldsFromEntries({{"CN", "device-1"}, {"O", "Acme"}});
    client.issuer = sim::account::CertificateFieldsFromEntries({{"CN", "Acme CA"}});
    client.serial_number = "01ab";
    client.source_ip = "127.0.0.1";
    client.domain_name = "abc-ats.iot.us-east-1.elsim.test";
    return client;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    (void)sim::account::ValidatePolicyDocumentSize(json);
    auto parsed = sim::account::ParsePolicyDocument(json);
    if (!parsed) {
        if (parsed.error().message.empty()) {
            std::abort();
        }
        return 0;
    }
    static const sim::account::ClientIdentity client = Identity();
    std::vector<sim::account::NamedPolicy> effective{
        {"fuzz", std::make_shared<const sim::account::PolicyDocument>(std::move(*parsed))}};
    const std::string region = "us-east-1";
    const std::string account = "123456789012";
    const std::vector<std::pair<Action, std::string>> requests = {
        {Action::kConnect, sim::account::ClientArn(region, account, "device-1")},
        {Action::kPublish, sim::account::TopicArn(region, account, "dt/device-1/x")},
        {Action::kReceive, sim::account::TopicArn(region, account, "cmd/device-1/y")},
        {Action::kSubscribe, sim::account::TopicFilterArn(region, account, "cmd/device-1/#")},
        {Action::kRetainPublish, sim::account::TopicArn(region, account, "$aws/things/a")},
        {Action::kOther, sim::account::IotResourceArn(region, account, "thing", "device-1")},
    };
    for (const auto& [action, resource] : requests) {
        for (const auto explain : {sim::account::Explain::kNo, sim::account::Explain::kYes}) {
            sim::account::AuthzRequest request;
            request.action = action;
            request.action_name = "iot:UpdateThingShadow";
            request.resource = resource;
            request.client = &client;
            const auto decision = sim::account::Evaluate(effective, request, explain);
            if (decision.allowed != (decision.basis == sim::account::Decision::Basis::kAllowed)) {
                std::abort();
            }
        }
    }
    return 0;
}
