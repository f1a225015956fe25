// SPDX-License-Identifier: Apache-2.0
// The pure router over a real registry (manual clock, seeded random): requests in, AWS status
// and error type out; a refused request leaves the registry unchanged.
#include <gtest/gtest.h>

#include "pki/profiles.hpp"
#include "sim/control_plane/router.hpp"

namespace sim::controlplane {
namespace {

using nlohmann::json;

// The CertificateIssuer port with real pki issuance, in memory.
class TestIssuer final : public CertificateIssuer {
public:
    explicit TestIssuer(TimePoint now) : now_(now) {
        auto key = pki::Key::Generate(pki::KeyType::kEcP256);
        auto ca = pki::CertificateAuthority::CreateRoot(
            pki::RootCaSpec(pki::AwsRootCaSubject(), now, pki::Days{365}), *key);
        ca_ = std::make_unique<pki::CertificateAuthority>(std::move(*ca));
    }
    account::AwsResult<KeysAndCertificate> CreateKeysAndCertificate() override {
        auto issued = pki::IssueAwsDeviceCertificate(*ca_, now_);
        auto info = pki::ParseCertificatePem(issued->certificate.pem);
        return KeysAndCertificate{*info, issued->public_key_pem, issued->private_key_pem};
    }
    account::AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(
        std::string_view csr_pem) override {
        pki::CsrIssueOptions options;
        options.not_before = now_;
        options.not_after = pki::kAwsIssuedNotAfter;
        auto issued = ca_->IssueFromCsr(csr_pem, options);
        if (!issued) {
            return account::Fail(account::error_type::kInvalidRequest, issued.error().message);
        }
        return *pki::ParseCertificatePem(issued->pem);
    }

private:
    TimePoint now_;
    std::unique_ptr<pki::CertificateAuthority> ca_;
};

struct Case {
    std::string name;
    std::string method;
    std::string target;  // path?query
    std::string body;
    HeaderList headers;
    int status;
    std::string error_type;  // empty on success
    std::string body_contains;
};

class RouterTest : public testing::TestWithParam<Case> {
protected:
    RouterTest()
        : registry_({"123456789012", "us-east-1", "abcdefghijklmn", "elsim.test"}, clock_,
                    random_),
          issuer_(clock_.Now()) {}

    HttpResponse Send(const std::string& method, const std::string& target,
                      const std::string& body = "", const HeaderList& headers = {}) {
        HttpRequest request;
        request.method = method;
        std::tie(request.raw_path, request.raw_query) = SplitTarget(target);
        request.body = body;
        request.headers = headers;
        return Handle(request, registry_, issuer_, "request-1");
    }

    void SetUp() override {
        ASSERT_EQ(Send("POST", "/things/t1", "{}").status, 200);
        ASSERT_EQ(Send("POST", "/policies/p1",
                       R"({"policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"*\"}]}"})")
                      .status,
                  200);
        registry_.TakeChanges();
    }

    ManualClock clock_;
    SeededRandom random_{4};
    account::Registry registry_;
    TestIssuer issuer_;
};

TEST_P(RouterTest, AnswersWithTheAwsStatusAndErrorType) {
    const Case& c = GetParam();
    const auto before = registry_.Snapshot();
    HttpResponse response = Send(c.method, c.target, c.body, c.headers);
    EXPECT_EQ(response.status, c.status) << response.body;
    EXPECT_EQ(response.Header("x-amzn-RequestId").value_or(""), "request-1");
    EXPECT_EQ(response.Header("Content-Type").value_or(""), "application/json");
    auto body = json::parse(response.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << response.body;
    if (c.error_type.empty()) {
        EXPECT_FALSE(response.Header("x-amzn-ErrorType").has_value());
    } else {
        EXPECT_EQ(response.Header("x-amzn-ErrorType").value_or(""), c.error_type);
        EXPECT_EQ(body.value("__type", ""), c.error_type);
        EXPECT_FALSE(body.value("message", "").empty());
        EXPECT_EQ(registry_.Snapshot(), before) << "a refused request changed the registry";
    }
    if (!c.body_contains.empty()) {
        EXPECT_NE(response.body.find(c.body_contains), std::string::npos) << response.body;
    }
}

const std::string kInvalid = "InvalidRequestException";
const std::string kNotFound = "ResourceNotFoundException";
const std::string kArn = "arn:aws:iot:us-east-1:123456789012:cert/" + std::string(64, 'a');

INSTANTIATE_TEST_SUITE_P(
    Requests, RouterTest,
    testing::Values(
        Case{"registration_code", "GET", "/registrationcode", "", {}, 200, "", "registrationCode"},
        Case{"describe_thing", "GET", "/things/t1", "", {}, 200, "", "\"defaultClientId\":\"t1\""},
        Case{"create_thing_empty_body", "POST", "/things/t2", "", {}, 200, "", "thingId"},
        Case{"create_thing_braces", "POST", "/things/t3", "{}", {}, 200, "", "thingArn"},
        Case{"create_thing_with_attributes", "POST", "/things/t4",
             R"({"attributePayload":{"attributes":{"model":"x"}}})", {}, 200, "", "t4"},
        Case{"encoded_label", "GET", "/things/t%31", "", {}, 200, "", "\"thingName\":\"t1\""},
        Case{"list_things", "GET", "/things?maxResults=10", "", {}, 200, "", "\"things\""},
        Case{"describe_endpoint_ats", "GET", "/endpoint?endpointType=iot%3AData-ATS", "", {}, 200,
             "", "abcdefghijklmn-ats.iot.us-east-1.elsim.test"},
        Case{"list_attached_policies_encoded_arn", "POST",
             "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2F" +
                 std::string(64, 'a'),
             "", {}, 404, kNotFound, ""},
        Case{"get_policy", "GET", "/policies/p1", "", {}, 200, "", "\"defaultVersionId\":\"1\""},
        Case{"create_keys_and_certificate", "POST", "/keys-and-certificate?setAsActive=true", "",
             {}, 200, "", "BEGIN RSA PRIVATE KEY"},
        Case{"event_configurations", "GET", "/event-configurations", "", {}, 200, "",
             "eventConfigurations"},
        // Refusals.
        Case{"unknown_path", "GET", "/nothing-here", "", {}, 404, "UnknownOperationException", ""},
        Case{"wrong_method", "PUT", "/things", "", {}, 405, "MethodNotAllowedException",
             "PUT is not allowed on /things"},
        Case{"malformed_json", "POST", "/things/t9", "{\"attributePayload\":", {}, 400, kInvalid,
             ""},
        Case{"json_not_object", "POST", "/things/t9", "[1,2]", {}, 400, kInvalid, ""},
        Case{"wrong_member_type", "POST", "/policies/p2", R"({"policyDocument":5})", {}, 400,
             kInvalid, ""},
        Case{"missing_required_member", "POST", "/policies/p2", "{}", {}, 400, kInvalid, ""},
        Case{"attributes_not_strings", "POST", "/things/t9",
             R"({"attributePayload":{"attributes":{"a":1}}})", {}, 400, kInvalid, ""},
        Case{"csr_over_limit", "POST", "/certificates",
             json{{"certificateSigningRequest", std::string(4097, 'A')}}.dump(), {}, 400,
             kInvalid, ""},
        Case{"garbled_csr", "POST", "/certificates",
             R"({"certificateSigningRequest":"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n"})",
             {}, 400, kInvalid, ""},
        Case{"body_over_limit", "POST", "/things/t9",
             "{\"x\":\"" + std::string(kMaxBodyBytes, 'x') + "\"}", {}, 400, kInvalid, ""},
        Case{"bad_path_escape", "GET", "/things/%ZZ", "", {}, 400, kInvalid, ""},
        Case{"bad_query_escape", "GET", "/things?nextToken=%G", "", {}, 400, kInvalid, ""},
        Case{"bad_query_boolean", "POST", "/keys-and-certificate?setAsActive=yes", "", {}, 400,
             kInvalid, ""},
        Case{"page_size_zero", "GET", "/certificates?pageSize=0", "", {}, 400, kInvalid, ""},
        Case{"page_size_not_number", "GET", "/certificates?pageSize=ten", "", {}, 400, kInvalid,
             ""},
        Case{"page_size_trailing_text", "GET", "/certificates?pageSize=10x", "", {}, 400,
             kInvalid, "at 'pageSize' failed to satisfy constraint: Member must be an integer"},
        Case{"page_size_past_int64", "GET", "/certificates?pageSize=9999999999999999999", "", {},
             400, kInvalid, "at 'pageSize' failed to satisfy constraint: Member must be an integer"},
        Case{"unknown_thing", "GET", "/things/nope", "", {}, 404, kNotFound, ""},
        Case{"unknown_certificate", "GET", "/certificates/" + std::string(64, 'b'), "", {}, 404,
             kNotFound, ""},
        Case{"update_certificate_without_status", "PUT", "/certificates/" + std::string(64, 'b'),
             "", {}, 400, kInvalid, ""},
        Case{"garbled_pem", "POST", "/certificate/register-no-ca",
             R"({"certificatePem":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"})",
             {}, 400, "CertificateValidationException", ""},
        Case{"attach_thing_principal_without_header", "PUT", "/things/t1/principals", "", {},
             400, kInvalid, ""},
        Case{"attach_unknown_principal", "PUT", "/things/t1/principals", "",
             {{"x-amzn-principal", kArn}}, 404, kNotFound, ""},
        Case{"unknown_template_claim", "POST", "/provisioning-templates/none/provisioning-claim",
             "", {}, 404, kNotFound, ""},
        Case{"template_version_not_number", "GET", "/provisioning-templates/x/versions/abc", "",
             {}, 400, kInvalid, ""},
        Case{"delete_unknown_ca", "DELETE", "/cacertificate/" + std::string(64, 'c'), "", {},
             404, kNotFound, ""}),
    [](const testing::TestParamInfo<Case>& p) { return p.param.name; });

class RouterMethodTest : public RouterTest {};

TEST_F(RouterMethodTest, WrongMethodNamesTheAllowedOnes) {
    const HttpResponse response = Send("DELETE", "/things");
    EXPECT_EQ(response.status, 405);
    const std::string allow = response.Header("Allow").value_or("");
    EXPECT_NE(allow.find("GET"), std::string::npos) << allow;  // ListThings
    EXPECT_EQ(allow.find("DELETE"), std::string::npos) << allow;
    const HttpResponse thing = Send("POST", "/things/t1/principals");
    EXPECT_EQ(thing.status, 405);
    EXPECT_NE(thing.Header("Allow").value_or("").find("PUT"), std::string::npos);
}

TEST_F(RouterMethodTest, InvalidMembersChangeNothing) {
    const auto before = registry_.Snapshot();
    const HttpResponse response =
        Send("POST", "/things/t5", R"({"attributePayload":{"attributes":{"a":{"b":"c"}}}})");
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.Header("x-amzn-ErrorType").value_or(""), "InvalidRequestException");
    EXPECT_NE(response.body.find("at 'attributePayload.attributes.a'"), std::string::npos)
        << response.body;
    EXPECT_EQ(registry_.Snapshot(), before);
}

TEST(RouterOperationsTest, ServesEveryOperationOfTheIssue) {
    const auto operations = ListOperations();
    for (const char* name :
         {"GetRegistrationCode", "DeleteRegistrationCode", "RegisterCACertificate",
          "DescribeCACertificate", "UpdateCACertificate", "ListCACertificates",
          "DeleteCACertificate", "RegisterCertificate", "RegisterCertificateWithoutCA",
          "DescribeCertificate", "UpdateCertificate", "ListCertificates", "ListCertificatesByCA",
          "DeleteCertificate", "CreateKeysAndCertificate", "CreateCertificateFromCsr",
          "CreateThing", "DescribeThing", "ListThings", "DeleteThing", "AttachThingPrincipal",
          "DetachThingPrincipal", "ListThingPrincipals", "ListPrincipalThings", "CreatePolicy",
          "GetPolicy", "DeletePolicy", "AttachPolicy", "DetachPolicy", "ListAttachedPolicies",
          "CreateProvisioningTemplate", "DescribeProvisioningTemplate",
          "ListProvisioningTemplates", "UpdateProvisioningTemplate", "DeleteProvisioningTemplate",
          "DescribeEndpoint", "CreateProvisioningTemplateVersion",
          "ListProvisioningTemplateVersions", "DescribeProvisioningTemplateVersion",
          "CreateProvisioningClaim", "RegisterThing", "UpdateThing", "CreatePolicyVersion",
          "ListTargetsForPolicy", "GetEffectivePolicies", "UpdateEventConfigurations",
          "DescribeEventConfigurations"}) {
        const bool found = std::any_of(operations.begin(), operations.end(), [&](const auto& op) {
            return op.rfind(std::string(name) + " ", 0) == 0;
        });
        EXPECT_TRUE(found) << name;
    }
}

}  // namespace
}  // namespace sim::controlplane
