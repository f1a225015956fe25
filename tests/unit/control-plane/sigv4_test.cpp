// SPDX-License-Identifier: Apache-2.0
// SigV4 against the public AWS SigV4 test suite ("aws-sig-v4-test-suite"), as carried in
// awslabs/aws-c-auth tests/aws-signing-test-suite/v4/<name>/header-signed-request.txt.
// Every vector uses AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1,
// service "service", X-Amz-Date 20150830T123600Z, Host example.amazonaws.com.
#include <gtest/gtest.h>

#include "sim/control_plane/sigv4.hpp"

namespace sim::controlplane {
namespace {

constexpr const char* kAccessKey = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kAmzDate = "20150830T123600Z";

struct Vector {
    std::string name;
    std::string method;
    std::string raw_path;
    std::string raw_query;
    HeaderList extra_headers;  // besides Host (X-Amz-Date is added by the signer)
    std::string session_token;
    std::string signed_headers;
    std::string signature;
};

class SigV4SuiteTest : public testing::TestWithParam<Vector> {};

SignableRequest MakeRequest(const Vector& v) {
    SignableRequest request;
    request.method = v.method;
    request.raw_path = v.raw_path;
    request.raw_query = v.raw_query;
    request.headers.emplace_back("Host", "example.amazonaws.com");
    for (const auto& h : v.extra_headers) {
        request.headers.push_back(h);
    }
    return request;
}

TEST_P(SigV4SuiteTest, SignProducesTheSuiteAuthorization) {
    const Vector& v = GetParam();
    const Credentials credentials{kAccessKey, kSecret, v.session_token};
    const HeaderList added = Sign(MakeRequest(v), credentials, "us-east-1", "service", kAmzDate);
    std::string authorization;
    for (const auto& [name, value] : added) {
        if (name == "Authorization") {
            authorization = value;
        }
    }
    EXPECT_EQ(authorization,
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=" +
                  v.signed_headers + ", Signature=" + v.signature);
}

TEST_P(SigV4SuiteTest, VerifyAcceptsTheRightSecretAndRefusesAWrongOne) {
    const Vector& v = GetParam();
    SignableRequest request = MakeRequest(v);
    request.headers.emplace_back("X-Amz-Date", kAmzDate);
    if (!v.session_token.empty()) {
        request.headers.emplace_back("X-Amz-Security-Token", v.session_token);
    }
    auto auth = ParseAuthorization(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=" +
        v.signed_headers + ", Signature=" + v.signature);
    ASSERT_TRUE(auth) << auth.error().message;
    EXPECT_TRUE(VerifySignature(request, *auth, kSecret));
    auto wrong = VerifySignature(request, *auth, "not-the-secret");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(
    AwsSigV4TestSuite, SigV4SuiteTest,
    testing::Values(
        Vector{"get_vanilla", "GET", "/", "", {}, "", "host;x-amz-date",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        Vector{"post_vanilla", "POST", "/", "", {}, "", "host;x-amz-date",
               "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        Vector{"get_vanilla_query_order_key_case", "GET", "/", "Param2=value2&Param1=value1", {},
               "", "host;x-amz-date",
               "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        Vector{"get_vanilla_query_unreserved", "GET", "/",
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
               "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               {}, "", "host;x-amz-date",
               "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        Vector{"get_utf8", "GET", "/\xe1\x88\xb4", "", {}, "", "host;x-amz-date",
               "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        Vector{"get_header_value_trim", "GET", "/", "",
               {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}, "",
               "host;my-header1;my-header2;x-amz-date",
               "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        Vector{"get_vanilla_with_session_token", "GET", "/", "", {},
               "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
               "host;x-amz-date;x-amz-security-token",
               "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"}),
    [](const testing::TestParamInfo<Vector>& p) { return p.param.name; });

struct AuthCase {
    std::string name;
    std::string header;
    bool ok;
    std::string access_key_id;
    std::string service;
};

class ParseAuthorizationTest : public testing::TestWithParam<AuthCase> {};

TEST_P(ParseAuthorizationTest, ParsesOrRefuses) {
    const AuthCase& c = GetParam();
    auto parsed = ParseAuthorization(c.header);
    ASSERT_EQ(parsed.has_value(), c.ok) << (parsed ? "" : parsed.error().message);
    if (c.ok) {
        EXPECT_EQ(parsed->access_key_id, c.access_key_id);
        EXPECT_EQ(parsed->service, c.service);
    } else {
        EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    }
}

const std::string kSig(64, 'a');

INSTANTIATE_TEST_SUITE_P(
    Headers, ParseAuthorizationTest,
    testing::Values(
        AuthCase{"cli_execute_api",
                 "AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/execute-api/"
                 "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + kSig,
                 true, "123456789012", "execute-api"},
        AuthCase{"no_spaces",
                 "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/iot/aws4_request,"
                 "SignedHeaders=host,Signature=" + kSig,
                 true, "AKID", "iot"},
        AuthCase{"wrong_algorithm", "AWS AKID:abc", false, "", ""},
        AuthCase{"empty", "", false, "", ""},
        AuthCase{"short_scope",
                 "AWS4-HMAC-SHA256 Credential=AKID/20240101/iot, SignedHeaders=host, Signature=" +
                     kSig,
                 false, "", ""},
        AuthCase{"bad_terminator",
                 "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iot/aws5_request, "
                 "SignedHeaders=host, Signature=" + kSig,
                 false, "", ""},
        AuthCase{"short_signature",
                 "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iot/aws4_request, "
                 "SignedHeaders=host, Signature=abc",
                 false, "", ""},
        AuthCase{"no_signed_headers",
                 "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iot/aws4_request, "
                 "Signature=" + kSig,
                 false, "", ""}),
    [](const testing::TestParamInfo<AuthCase>& p) { return p.param.name; });

// botocore (non-S3) signs the already-encoded path and encodes it again (botocore/auth.py).
TEST(CanonicalRequestTest, DoubleEncodesAnAlreadyEncodedLabel) {
    SignableRequest request{"POST", "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Acert%2Fab",
                            "", {{"Host", "h"}}, ""};
    const std::string canonical = CanonicalRequest(request, {"host"});
    EXPECT_NE(canonical.find("/attached-policies/arn%253Aaws%253Aiot%253Aus-east-1%253A1%253Acert%252Fab\n"),
              std::string::npos)
        << canonical;
}

}  // namespace
}  // namespace sim::controlplane
