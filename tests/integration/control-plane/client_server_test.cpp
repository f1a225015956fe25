// SPDX-License-Identifier: Apache-2.0
// The project's SigV4 client against the real HTTP server on loopback: signature verification
// (right and wrong secret, labels with ':' that botocore-style canonicalisation double-encodes),
// account selection by access key id, token pagination, durable group commit under concurrent
// writers, a reopened store that has everything, and operations called by name with their
// request members (CallOperation: path labels, query flags, a header, a JSON body).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "pki/profiles.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/control_plane/issuer.hpp"
#include "sim/control_plane/server.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/hex.hpp"

namespace sim::controlplane {
namespace {

namespace fs = std::filesystem;

class ClientServerTest : public testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("elsim-cp-it-" + std::to_string(::getpid()) + "-" +
                testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        issuer_ = *PkiCertificateIssuer::LoadOrCreate(dir_ / "aws-iot-ca", clock_);
        StartServer();
    }
    void TearDown() override {
        server_.reset();
        account_.reset();
        fs::remove_all(dir_);
    }

    void StartServer() {
        HostedAccount::Options options;
        options.settings = {"123456789012", "us-east-1", "abcdefghijklmn", "elsim.test"};
        options.database = dir_ / "123456789012" / "registry.sqlite";
        options.secret_access_key = "s3cret";
        auto account = HostedAccount::Open(options, clock_, random_, nullptr);
        ASSERT_TRUE(account) << account.error().message;
        account_ = *account;
        ServerOptions server_options;
        server_options.verify_signatures = true;
        auto server = ControlPlaneServer::Start(server_options, {account_}, issuer_, random_);
        ASSERT_TRUE(server) << server.error().message;
        server_ = std::move(*server);
    }
    void StopServer() {
        server_.reset();
        account_.reset();
    }

    std::unique_ptr<AwsClient> Client(const std::string& akid, const std::string& secret) {
        ClientConfig config;
        config.endpoint = server_->endpoint();
        config.credentials = {akid, secret, ""};
        config.timeout = std::chrono::seconds{10};
        return std::make_unique<AwsClient>(config, clock_);
    }

    fs::path dir_;
    std::shared_ptr<SystemClock> clock_ = std::make_shared<SystemClock>();
    std::shared_ptr<OsRandom> random_ = std::make_shared<OsRandom>();
    std::shared_ptr<PkiCertificateIssuer> issuer_;
    std::shared_ptr<HostedAccount> account_;
    std::unique_ptr<ControlPlaneServer> server_;
};

TEST_F(ClientServerTest, RightSecretPassesWrongSecretIsRefused) {
    auto good = Client("123456789012", "s3cret");
    auto created = good->Call("POST", AwsClient::Path({"things", "maker:device_1"}), {},
                              nlohmann::json::object());
    ASSERT_TRUE(created) << created.error().type << ": " << created.error().message;
    EXPECT_EQ((*created)["thingName"], "maker:device_1");
    auto described = good->Call("GET", AwsClient::Path({"things", "maker:device_1"}));
    ASSERT_TRUE(described) << described.error().message;
    EXPECT_EQ((*described)["defaultClientId"], "maker:device_1");

    auto bad = Client("123456789012", "not-the-secret");
    auto refused = bad->Call("GET", AwsClient::Path({"things", "maker:device_1"}));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().status, 403);
    EXPECT_EQ(refused.error().type, "InvalidSignatureException");
    EXPECT_FALSE(refused.error().request_id.empty());

    auto stranger = Client("999999999999", "s3cret");
    auto unknown = stranger->Call("GET", "/things");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().status, 403);
    EXPECT_EQ(unknown.error().type, "UnrecognizedClientException");
}

TEST_F(ClientServerTest, OperationsByNamePlaceTheirMembersWhereTheModelBindsThem) {
    auto client = Client("123456789012", "s3cret");
    const auto ok = [](const Result<nlohmann::json, AwsErrorReply>& reply) {
        return reply ? testing::AssertionSuccess()
                     : testing::AssertionFailure()
                           << reply.error().type << ": " << reply.error().message;
    };

    // Path label (with ':') and JSON body.
    auto created = client->CallOperation(
        "CreateThing", {{"thingName", "maker:device_1"},
                        {"attributePayload", {{"attributes", {{"color", "red"}}}}}});
    ASSERT_TRUE(ok(created));
    EXPECT_EQ((*created)["thingName"], "maker:device_1");
    ASSERT_TRUE(ok(client->CallOperation(
        "CreateThing",
        {{"thingName", "plain"}, {"attributePayload", {{"attributes", {{"color", "blue"}}}}}})));
    auto described = client->CallOperation("DescribeThing", {{"thingName", "maker:device_1"}});
    ASSERT_TRUE(ok(described));
    EXPECT_EQ((*described)["attributes"]["color"], "red");

    // Query strings: ListThings filtered by attribute.
    auto listed = client->CallOperation("ListThings",
                                        {{"attributeName", "color"}, {"attributeValue", "red"}});
    ASSERT_TRUE(ok(listed));
    ASSERT_EQ((*listed)["things"].size(), 1U) << listed->dump();
    EXPECT_EQ((*listed)["things"][0]["thingName"], "maker:device_1");

    // Query flags (booleans) next to body members: an SNI_ONLY CA, active, auto-registration on.
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    ASSERT_TRUE(key) << key.error().message;
    pki::DistinguishedName subject;
    subject.entries = {{"O", "Maker"}, {"CN", "Maker Root CA"}};
    auto ca = pki::CertificateAuthority::CreateRoot(
        pki::RootCaSpec(subject, clock_->Now(), pki::Days{30}), std::move(*key));
    ASSERT_TRUE(ca) << ca.error().message;
    auto registered =
        client->CallOperation("RegisterCACertificate", {{"caCertificate", ca->pem()},
                                                        {"certificateMode", "SNI_ONLY"},
                                                        {"setAsActive", true},
                                                        {"allowAutoRegistration", true}});
    ASSERT_TRUE(ok(registered));
    const std::string ca_id = (*registered)["certificateId"];
    auto ca_described = client->CallOperation("DescribeCACertificate", {{"certificateId", ca_id}});
    ASSERT_TRUE(ok(ca_described));
    EXPECT_EQ((*ca_described)["certificateDescription"]["status"], "ACTIVE");
    EXPECT_EQ((*ca_described)["certificateDescription"]["autoRegistrationStatus"], "ENABLE");
    EXPECT_EQ((*ca_described)["certificateDescription"]["certificateMode"], "SNI_ONLY");

    // A path label and a query member: UpdateCertificate.
    auto keys = client->CallOperation("CreateKeysAndCertificate", {{"setAsActive", true}});
    ASSERT_TRUE(ok(keys));
    const std::string cert_id = (*keys)["certificateId"];
    const std::string cert_arn = (*keys)["certificateArn"];
    ASSERT_TRUE(ok(client->CallOperation("UpdateCertificate",
                                         {{"certificateId", cert_id}, {"newStatus", "INACTIVE"}})));
    auto cert = client->CallOperation("DescribeCertificate", {{"certificateId", cert_id}});
    ASSERT_TRUE(ok(cert));
    EXPECT_EQ((*cert)["certificateDescription"]["status"], "INACTIVE");

    // A header member: the principal of AttachThingPrincipal, an ARN.
    ASSERT_TRUE(ok(client->CallOperation(
        "AttachThingPrincipal", {{"thingName", "maker:device_1"}, {"principal", cert_arn}})));
    auto principals =
        client->CallOperation("ListThingPrincipals", {{"thingName", "maker:device_1"}});
    ASSERT_TRUE(ok(principals));
    EXPECT_EQ((*principals)["principals"], nlohmann::json::array({cert_arn}));
    auto things = client->CallOperation("ListPrincipalThings", {{"principal", cert_arn}});
    ASSERT_TRUE(ok(things));
    EXPECT_EQ((*things)["things"], nlohmann::json::array({"maker:device_1"}));

    // A policy document written as a map is sent as JSON text.
    ASSERT_TRUE(ok(client->CallOperation(
        "CreatePolicy", {{"policyName", "connect"},
                         {"policyDocument",
                          {{"Version", "2012-10-17"},
                           {"Statement", nlohmann::json::array({{{"Effect", "Allow"},
                                                                 {"Action", "iot:Connect"},
                                                                 {"Resource", "*"}}})}}}})));
    auto policy = client->CallOperation("GetPolicy", {{"policyName", "connect"}});
    ASSERT_TRUE(ok(policy));
    EXPECT_NE((*policy)["policyDocument"].get<std::string>().find("iot:Connect"),
              std::string::npos);

    // AWS errors come back as they are; a request that cannot be built is not sent.
    auto missing = client->CallOperation("DescribeThing", {{"thingName", "nope"}});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().status, 404);
    EXPECT_EQ(missing.error().type, "ResourceNotFoundException");
    auto unknown = client->CallOperation("ListThing", nlohmann::json::object());
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().status, 0);
    EXPECT_EQ(unknown.error().type, "InvalidRequest");
    EXPECT_EQ(unknown.error().message, "unknown AWS IoT operation 'ListThing'");
    auto incomplete = client->CallOperation("UpdateCertificate", {{"certificateId", cert_id}});
    ASSERT_FALSE(incomplete);
    EXPECT_EQ(incomplete.error().type, "InvalidRequest");
    EXPECT_EQ(incomplete.error().message, "UpdateCertificate: missing required member 'newStatus'");
}

TEST_F(ClientServerTest, ErrorRepliesCarryTypeMessageAndResourceId) {
    auto client = Client("123456789012", "s3cret");
    auto missing = client->Call("GET", AwsClient::Path({"things", "nope"}));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().status, 404);
    EXPECT_EQ(missing.error().type, "ResourceNotFoundException");
    EXPECT_FALSE(missing.error().message.empty());
    ASSERT_TRUE(client->Call("POST", AwsClient::Path({"things", "dup"}), {},
                             {{"attributePayload", {{"attributes", {{"a", "1"}}}}}}));
    auto conflict = client->Call("POST", AwsClient::Path({"things", "dup"}), {},
                                 {{"attributePayload", {{"attributes", {{"a", "2"}}}}}});
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.error().status, 409);
    EXPECT_EQ(conflict.error().type, "ResourceAlreadyExistsException");
}

TEST_F(ClientServerTest, TokenPaginationVisitsEveryThingOnce) {
    auto client = Client("123456789012", "s3cret");
    for (int i = 0; i < 23; ++i) {
        ASSERT_TRUE(client->Call("POST", AwsClient::Path({"things", "page-" + std::to_string(i)})));
    }
    std::set<std::string> seen;
    std::optional<std::string> token;
    int pages = 0;
    do {
        QueryParams query{{"maxResults", "5"}};
        if (token) {
            query.emplace_back("nextToken", *token);
        }
        auto page = client->Call("GET", "/things", query);
        ASSERT_TRUE(page) << page.error().message;
        for (const auto& thing : (*page)["things"]) {
            EXPECT_TRUE(seen.insert(thing["thingName"].get<std::string>()).second);
        }
        token.reset();
        if (page->contains("nextToken")) {
            token = (*page)["nextToken"].get<std::string>();
            EXPECT_TRUE(Base64Decode(*token).has_value()) << "token is base64: " << *token;
        }
        ++pages;
    } while (token && pages < 20);
    EXPECT_EQ(seen.size(), 23u);
    EXPECT_EQ(pages, 5);
}

TEST_F(ClientServerTest, ConcurrentWritesAreDurableAndSurviveReopening) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 40;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            auto client = Client("123456789012", "s3cret");
            for (int i = 0; i < kPerThread; ++i) {
                auto name = "w-" + std::to_string(t) + "-" + std::to_string(i);
                if (!client->Call("POST", AwsClient::Path({"things", name}))) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.load(), 0);
    const auto [transactions, requests] = account_->CommitStats();
    EXPECT_EQ(requests, static_cast<std::uint64_t>(kThreads * kPerThread));
    EXPECT_LE(transactions, requests);

    StopServer();
    StartServer();
    auto client = Client("123456789012", "s3cret");
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kPerThread; ++i) {
            auto name = "w-" + std::to_string(t) + "-" + std::to_string(i);
            auto described = client->Call("GET", AwsClient::Path({"things", name}));
            ASSERT_TRUE(described) << name << ": " << described.error().message;
        }
    }
}

TEST_F(ClientServerTest, IssuedCertificatesAndPoliciesSurviveRestart) {
    auto client = Client("123456789012", "s3cret");
    auto keys = client->Call("POST", "/keys-and-certificate", {{"setAsActive", "true"}});
    ASSERT_TRUE(keys) << keys.error().message;
    const std::string id = (*keys)["certificateId"];
    const std::string arn = (*keys)["certificateArn"];
    ASSERT_TRUE(client->Call(
        "POST", AwsClient::Path({"policies", "p"}), {},
        {{"policyDocument",
          R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})"}}));
    ASSERT_TRUE(
        client->Call("PUT", AwsClient::Path({"target-policies", "p"}), {}, {{"target", arn}}));
    // An idle keep-alive connection outlives the server's keep-alive timeout: the client
    // must reconnect transparently.
    std::this_thread::sleep_for(std::chrono::milliseconds{2500});
    ASSERT_TRUE(client->Call("GET", AwsClient::Path({"certificates", id})));
    client.reset();
    StopServer();
    StartServer();
    client = Client("123456789012", "s3cret");
    auto described = client->Call("GET", AwsClient::Path({"certificates", id}));
    ASSERT_TRUE(described) << described.error().message;
    EXPECT_EQ((*described)["certificateDescription"]["status"], "ACTIVE");
    auto attached = client->Call("POST", AwsClient::Path({"attached-policies", arn}));
    ASSERT_TRUE(attached) << attached.error().message;
    ASSERT_EQ((*attached)["policies"].size(), 1u);
    EXPECT_EQ((*attached)["policies"][0]["policyName"], "p");
}

TEST(ClientConfigTest, ReadsTheSharedCredentialsFileProfile) {
    const fs::path file = fs::temp_directory_path() / ("elsim-creds-" + std::to_string(::getpid()));
    {
        std::ofstream out(file);
        out << "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n"
               "[other]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=o\n"
               "aws_session_token = tok\n";
    }
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_ENDPOINT_URL");
    ::unsetenv("AWS_ENDPOINT_URL_IOT");
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
    auto config = ClientConfigFromEnvironment("", "eu-west-1", "other");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->credentials.access_key_id, "AKIDOTHER");
    EXPECT_EQ(config->credentials.session_token, "tok");
    EXPECT_EQ(config->endpoint, "https://iot.eu-west-1.amazonaws.com");
    auto missing = ClientConfigFromEnvironment("", "eu-west-1", "absent");
    EXPECT_FALSE(missing);
    ::setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "e", 1);
    ::setenv("AWS_ENDPOINT_URL_IOT", "http://127.0.0.1:9", 1);
    auto from_env = ClientConfigFromEnvironment("", "eu-west-1", "");
    ASSERT_TRUE(from_env);
    EXPECT_EQ(from_env->credentials.access_key_id, "AKIDENV");
    EXPECT_EQ(from_env->endpoint, "http://127.0.0.1:9");
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    ::unsetenv("AWS_ENDPOINT_URL_IOT");
    ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    fs::remove(file);
}

struct MakeClientCase {
    const char* name;
    const char* endpoint;
    bool ok;
};
void PrintTo(const MakeClientCase& c, std::ostream* out) { *out << c.name; }

class MakeAwsClientTest : public testing::TestWithParam<MakeClientCase> {};

// EmulatedAccountConfig + MakeAwsClient, as `elsim staging` and `elsim onboard` make their
// clients: the account id is the access key id, and a bad URL is an error, not an exception.
TEST_P(MakeAwsClientTest, EmulatedAccountClientOrOneLineError) {
    const auto config = EmulatedAccountConfig(GetParam().endpoint, "eu-west-1", "111122223333");
    EXPECT_EQ(config.endpoint, GetParam().endpoint);
    EXPECT_EQ(config.region, "eu-west-1");
    EXPECT_EQ(config.credentials.access_key_id, "111122223333");
    EXPECT_EQ(config.credentials.secret_access_key, kEmulatedSecretAccessKey);
    EXPECT_EQ(config.credentials.session_token, "");
    auto client = MakeAwsClient(config, std::make_shared<SystemClock>());
    ASSERT_EQ(client.has_value(), GetParam().ok);
    if (!GetParam().ok) {
        EXPECT_EQ(client.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(client.error().message.find(GetParam().endpoint), std::string::npos)
            << client.error().message;
        EXPECT_EQ(client.error().message.find('\n'), std::string::npos);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MakeAwsClientTest,
    testing::Values(MakeClientCase{"Http", "http://127.0.0.3:8443", true},
                    MakeClientCase{"HttpDefaultPort", "http://127.0.0.3", true},
                    MakeClientCase{"NoScheme", "127.0.0.3:8443", false},
                    MakeClientCase{"OtherScheme", "ftp://127.0.0.3:21", false},
                    MakeClientCase{"Empty", "", false}),
    [](const testing::TestParamInfo<MakeClientCase>& p) { return std::string(p.param.name); });

// A client made this way reaches the account its access key id names (the server here checks
// signatures, so the fixed secret is refused as a bad signature of that account, not as an
// unknown access key).
TEST_F(ClientServerTest, EmulatedAccountClientNamesTheAccountByItsId) {
    auto client = MakeAwsClient(EmulatedAccountConfig(server_->endpoint(), "us-east-1",
                                                      "123456789012"),
                                clock_);
    ASSERT_TRUE(client) << client.error().message;
    auto listed = (*client)->Call("GET", "/things");
    ASSERT_FALSE(listed);
    EXPECT_EQ(listed.error().status, 403) << listed.error().type << ": " << listed.error().message;
    EXPECT_EQ(listed.error().type, "InvalidSignatureException") << listed.error().message;
}

}  // namespace
}  // namespace sim::controlplane
