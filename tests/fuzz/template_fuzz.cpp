// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the provisioning-template checker and evaluator (CreateProvisioningTemplate
// bodies come from API callers; RegisterThing parameters from devices). Input: a template body.
// Properties: no crash or sanitizer report; every refusal has an error type and a message; a
// body that evaluates also passes ValidateTemplateBody.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "sim/account/template.hpp"

namespace {

void CheckError(const sim::account::AwsError& error) {
    if (error.type.empty() || error.message.empty()) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto valid = sim::account::ValidateTemplateBody(body);
    if (!valid) {
        CheckError(valid.error());
    }
    static const std::map<std::string, std::string> parameters = {
        {"SerialNumber", "SN-0001"},
        {"ThingName", "device-1"},
        {"AWS::IoT::Certificate::Id", "0123456789abcdef"},
        {"AWS::IoT::Certificate::CommonName", "device-1"},
        {"AWS::IoT::Certificate::Country", "DE"},
    };
    const auto plan = sim::account::EvaluateTemplate(body, parameters);
    if (!plan) {
        CheckError(plan.error());
    } else if (!valid) {
        std::abort();  // evaluated, yet refused as a template body
    }
    return 0;
}
