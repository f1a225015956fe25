// SPDX-License-Identifier: Apache-2.0
#include "sim/oem_account/oem_account.hpp"

#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "pki/certificate.hpp"

namespace sim::oem_account {

namespace {

using controlplane::AwsClient;
using controlplane::AwsErrorReply;
using nlohmann::json;

constexpr const char* kAlreadyExists = "ResourceAlreadyExistsException";

sim::Error CallError(std::string_view operation, const AwsErrorReply& reply) {
    if (reply.status == 0) {
        return sim::Error{sim::ErrorCode::kUnavailable,
                          std::string(operation) + ": control plane unreachable: " +
                              reply.message};
    }
    return sim::Error{sim::ErrorCode::kFailedPrecondition,
                      std::string(operation) + ": " + reply.type + ": " + reply.message};
}

class Runner {
public:
    Runner(AwsClient& client, const StepSink& sink, SetupReport& report)
        : client_(client), sink_(sink), report_(report) {}

    void Step(std::string operation, std::string outcome, std::string detail) {
        SetupStep step{std::move(operation), std::move(outcome), std::move(detail)};
        if (sink_) {
            sink_(step);
        }
        report_.steps.push_back(std::move(step));
    }

    sim::Result<json, AwsErrorReply> Call(std::string_view method, const std::string& path,
                                          const controlplane::QueryParams& query = {},
                                          const json& body = nullptr) {
        return client_.Call(method, path, query, body);
    }

private:
    AwsClient& client_;
    const StepSink& sink_;
    SetupReport& report_;
};

// Appendix B step 3. A CA already registered in this account (ResourceAlreadyExists) is
// brought to the wanted state: ACTIVE, auto-registration as the variant wants.
sim::Status RegisterCa(Runner& run, const pki::CertificateInfo& ca, bool auto_registration,
                       SetupReport& report) {
    const std::string path = AwsClient::Path({"cacertificate"});
    controlplane::QueryParams query = {{"setAsActive", "true"}};
    if (auto_registration) {
        query.emplace_back("allowAutoRegistration", "true");
    }
    const json body = {{"caCertificate", ca.pem}, {"certificateMode", "SNI_ONLY"}};
    auto reply = run.Call("POST", path, query, body);
    if (reply) {
        report.ca_certificate_id = reply->value("certificateId", ca.certificate_id);
        run.Step("RegisterCACertificate", "created",
                 "caCertificateId=" + report.ca_certificate_id +
                     " certificateMode=SNI_ONLY status=ACTIVE autoRegistration=" +
                     (auto_registration ? "ENABLE" : "DISABLE"));
        return {};
    }
    if (reply.error().type != kAlreadyExists) {
        return sim::Unexpected<sim::Error>(CallError("RegisterCACertificate", reply.error()));
    }
    report.ca_certificate_id = ca.certificate_id;
    const std::string ca_path = AwsClient::Path({"cacertificate", ca.certificate_id});
    auto described = run.Call("GET", ca_path);
    if (!described) {
        return sim::Unexpected<sim::Error>(CallError("DescribeCACertificate", described.error()));
    }
    const json& description = (*described)["certificateDescription"];
    const std::string status = description.value("status", "");
    const std::string auto_status = description.value("autoRegistrationStatus", "");
    const std::string wanted_auto = auto_registration ? "ENABLE" : "DISABLE";
    if (status == "ACTIVE" && auto_status == wanted_auto) {
        run.Step("RegisterCACertificate", "exists",
                 "caCertificateId=" + ca.certificate_id + " status=ACTIVE autoRegistration=" +
                     wanted_auto);
        return {};
    }
    controlplane::QueryParams update = {{"newStatus", "ACTIVE"},
                                        {"newAutoRegistrationStatus", wanted_auto}};
    if (auto updated = run.Call("PUT", ca_path, update, json::object()); !updated) {
        return sim::Unexpected<sim::Error>(CallError("UpdateCACertificate", updated.error()));
    }
    run.Step("UpdateCACertificate", "updated",
             "caCertificateId=" + ca.certificate_id + " status=ACTIVE autoRegistration=" +
                 wanted_auto + " (was " + status + "/" + auto_status + ")");
    return {};
}

// Appendix C steps 11-13. An existing policy with another document gets a new default version.
sim::Status EnsurePolicy(Runner& run, const SetupOptions& options) {
    const std::string document = DevicePolicyDocument(options);
    const std::string path = AwsClient::Path({"policies", options.policy_name});
    auto created = run.Call("POST", path, {}, json{{"policyDocument", document}});
    if (created) {
        run.Step("CreatePolicy", "created", "policyName=" + options.policy_name);
        return {};
    }
    if (created.error().type != kAlreadyExists) {
        return sim::Unexpected<sim::Error>(CallError("CreatePolicy", created.error()));
    }
    auto existing = run.Call("GET", path);
    if (!existing) {
        return sim::Unexpected<sim::Error>(CallError("GetPolicy", existing.error()));
    }
    if (SameJson(existing->value("policyDocument", ""), document)) {
        run.Step("CreatePolicy", "exists", "policyName=" + options.policy_name);
        return {};
    }
    auto version = run.Call("POST", AwsClient::Path({"policies", options.policy_name, "version"}),
                            {{"setAsDefault", "true"}}, json{{"policyDocument", document}});
    if (!version) {
        return sim::Unexpected<sim::Error>(CallError("CreatePolicyVersion", version.error()));
    }
    run.Step("CreatePolicyVersion", "updated",
             "policyName=" + options.policy_name +
                 " policyVersionId=" + version->value("policyVersionId", "?"));
    return {};
}

// Appendix C steps 4-15: a JITP template, active, with the role and the body.
sim::Status EnsureTemplate(Runner& run, const SetupOptions& options) {
    const std::string body = JitpTemplateBody(options);
    const json request = {
        {"templateName", options.template_name},
        {"description", "ExpressLink onboarding-by-claim (OEM guide Appendix C)"},
        {"templateBody", body},
        {"enabled", true},
        {"provisioningRoleArn", ProvisioningRoleArn(options)},
        {"type", "JITP"},
    };
    auto created = run.Call("POST", AwsClient::Path({"provisioning-templates"}), {}, request);
    if (created) {
        run.Step("CreateProvisioningTemplate", "created",
                 "templateName=" + options.template_name + " type=JITP enabled=true");
        return {};
    }
    if (created.error().type != kAlreadyExists) {
        return sim::Unexpected<sim::Error>(
            CallError("CreateProvisioningTemplate", created.error()));
    }
    const std::string path = AwsClient::Path({"provisioning-templates", options.template_name});
    auto existing = run.Call("GET", path);
    if (!existing) {
        return sim::Unexpected<sim::Error>(
            CallError("DescribeProvisioningTemplate", existing.error()));
    }
    if (existing->value("type", "") != "JITP") {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              "CreateProvisioningTemplate: template " + options.template_name +
                                  " exists with type " + existing->value("type", "?") +
                                  ", not JITP");
    }
    bool changed = false;
    if (!SameJson(existing->value("templateBody", ""), body)) {
        auto version = run.Call(
            "POST", AwsClient::Path({"provisioning-templates", options.template_name, "versions"}),
            {{"setAsDefault", "true"}}, json{{"templateBody", body}});
        if (!version) {
            return sim::Unexpected<sim::Error>(
                CallError("CreateProvisioningTemplateVersion", version.error()));
        }
        run.Step("CreateProvisioningTemplateVersion", "updated",
                 "templateName=" + options.template_name);
        changed = true;
    }
    if (!existing->value("enabled", false)) {
        auto enabled = run.Call("PATCH", path, {}, json{{"enabled", true}});
        if (!enabled) {
            return sim::Unexpected<sim::Error>(
                CallError("UpdateProvisioningTemplate", enabled.error()));
        }
        run.Step("UpdateProvisioningTemplate", "updated",
                 "templateName=" + options.template_name + " enabled=true");
        changed = true;
    }
    if (!changed) {
        run.Step("CreateProvisioningTemplate", "exists",
                 "templateName=" + options.template_name + " type=JITP enabled=true");
    }
    return {};
}

// Appendix C steps 8-9: the template is attached to the CA (its registrationConfig).
sim::Status LinkTemplate(Runner& run, const SetupOptions& options, const std::string& ca_id) {
    const std::string path = AwsClient::Path({"cacertificate", ca_id});
    auto described = run.Call("GET", path);
    if (!described) {
        return sim::Unexpected<sim::Error>(CallError("DescribeCACertificate", described.error()));
    }
    const json& config = (*described)["registrationConfig"];
    if (config.is_object() && config.value("templateName", "") == options.template_name) {
        run.Step("UpdateCACertificate", "exists",
                 "caCertificateId=" + ca_id + " registrationConfig.templateName=" +
                     options.template_name);
        return {};
    }
    auto updated = run.Call("PUT", path, {},
                            json{{"registrationConfig", {{"templateName", options.template_name}}}});
    if (!updated) {
        return sim::Unexpected<sim::Error>(CallError("UpdateCACertificate", updated.error()));
    }
    run.Step("UpdateCACertificate", "updated",
             "caCertificateId=" + ca_id + " registrationConfig.templateName=" +
                 options.template_name);
    return {};
}

}  // namespace

sim::Result<SetupReport> ConfigureOemAccount(controlplane::AwsClient& client,
                                             const std::string& manufacturer_ca_pem,
                                             const SetupOptions& options,
                                             const StepSink& on_step) {
    if (auto valid = ValidateSetupOptions(options); !valid) {
        return sim::Unexpected<sim::Error>(valid.error());
    }
    auto ca = pki::ParseCertificatePem(manufacturer_ca_pem);
    if (!ca) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "manufacturer CA: " + ca.error().message);
    }
    if (!ca->is_ca) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "manufacturer CA: not a CA certificate (basicConstraints CA:TRUE)");
    }
    SetupReport report;
    report.policy_name = options.policy_name;
    Runner run(client, on_step, report);
    const bool with_ca = options.variant != SetupVariant::kWithoutCa;
    const bool with_template = options.variant != SetupVariant::kWithoutTemplate;
    if (with_ca) {
        const bool auto_registration = options.variant != SetupVariant::kWithoutAutoRegistration;
        if (auto s = RegisterCa(run, *ca, auto_registration, report); !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
    } else {
        run.Step("RegisterCACertificate", "skipped", "variant=without-ca");
    }
    if (auto s = EnsurePolicy(run, options); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    if (!with_template) {
        // Assumed: the variant leaves any template link made by an earlier complete set-up
        // in place; it is meant for fresh accounts (misrouted-claim row 5).
        run.Step("CreateProvisioningTemplate", "skipped", "variant=without-template");
        return report;
    }
    if (auto s = EnsureTemplate(run, options); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    report.template_name = options.template_name;
    if (with_ca) {
        if (auto s = LinkTemplate(run, options, report.ca_certificate_id); !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
    }
    return report;
}

}  // namespace sim::oem_account
