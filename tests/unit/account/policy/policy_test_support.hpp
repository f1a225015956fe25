// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared fixtures for the policy evaluator tests: a typical ExpressLink module identity.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sim/account/policy.hpp"

namespace sim::account::testing {

inline constexpr std::string_view kRegion = "us-east-1";
inline constexpr std::string_view kAccount = "123456789012";

/// A module whose ThingName is its birth certificate's serial, connected with client ID ==
/// ThingName and attached to its thing (the staging account's auto-thing).
inline ClientIdentity ModuleIdentity() {
    ClientIdentity identity;
    identity.client_id = "0123456789abcdef";
    identity.certificate_id = std::string(64, 'a');
    identity.thing = ThingContext{"0123456789abcdef", "ExpressLink", {{"oem", "acme"}}, true};
    identity.subject.values["CommonName"] = {"0123456789abcdef"};
    identity.subject.values["Organization"] = {"Espressif", "ModuleMaker"};
    identity.subject.values["Country"] = {"US", "DE", "FR"};
    identity.issuer.values["CommonName"] = {"Manufacturer CA"};
    identity.serial_number = "1a2b3c";
    identity.source_ip = "127.0.0.5";
    return identity;
}

inline std::shared_ptr<const PolicyDocument> MustParse(std::string_view json) {
    auto parsed = ParsePolicyDocument(json);
    if (!parsed) {
        throw std::runtime_error("test policy does not parse: " + parsed.error().message);
    }
    return std::make_shared<const PolicyDocument>(std::move(*parsed));
}

inline std::string Arn(std::string_view type, std::string_view name) {
    return IotResourceArn(kRegion, kAccount, type, name);
}

/// The staging account's statements: a module may connect only as its ThingName and use only
/// topics that begin with it (the ThingName is the certificate serial).
inline constexpr std::string_view kStagingStatements = R"(
    {"Effect": "Allow", "Action": "iot:Connect",
     "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive", "iot:RetainPublish"],
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/${iot:Connection.Thing.ThingName}/*"})";

/// A 2012-10-17 policy document with `statements` (comma-separated JSON objects).
inline std::string PolicyJson(std::string_view statements) {
    return R"({"Version": "2012-10-17", "Statement": [)" + std::string(statements) + "]}";
}

}  // namespace sim::account::testing
