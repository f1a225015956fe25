// SPDX-License-Identifier: Apache-2.0
// The account inside its broker: a real mosquitto with elsim_broker hosting the
// registry and the control plane; real clients (mosquitto_pub/sub, Paho C++ 3.1.1 and 5, the
// AWS CLI as oracle for a few calls, the project's SigV4 AwsClient for set-up).
#include <mqtt/async_client.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/account/template.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/staging_client.hpp"
#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/mosquitto_process.hpp"
#include "account_broker_fixture.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using sim::controlplane::AwsClient;
using sim::testing::BackgroundCommand;
using sim::testing::CertFiles;
using sim::testing::RunCommand;
using sim::testing::TempDir;
using sim::testing::TestBroker;
using sim::testing::TestBrokerOptions;
using sim::testing::TestPki;
using sim::testing::WaitDisconnected;

constexpr const char* kAccountId = sim::testing::kTestAccountId;
constexpr const char* kEndpoint = sim::testing::kTestEndpoint;
constexpr const char* kAllowAll = sim::testing::kAllowAllPolicy;

enum class Outcome { kConnected, kRefusedWithConnack, kDropped };

const char* Name(Outcome outcome) {
    switch (outcome) {
        case Outcome::kConnected:
            return "connected";
        case Outcome::kRefusedWithConnack:
            return "CONNACK 0x87";
        case Outcome::kDropped:
            return "dropped without CONNACK";
    }
    return "?";
}

// A JITP provisioning template body (OEM guide Appendix C): a thing named by the certificate's
// CN, the certificate ACTIVE, and a policy with `policy_document` (sim/account/template.hpp).
std::string JitpTemplate(const json& policy_document) {
    return sim::account::JitpTemplateBody(
        sim::account::JitpTemplatePolicy::FromDocument(policy_document.dump()));
}

class AccountBrokerTest : public sim::testing::AccountBrokerFixture {
protected:
    // Registers `ca` (a TestPki CA) ACTIVE with auto-registration, in DEFAULT mode with a
    // verification certificate (CN = registration code), or SNI_ONLY. Returns its id.
    std::string RegisterCa(const std::string& ca, bool auto_registration,
                           const json& registration_config = nullptr) {
        const json code = Call("GET", "/registrationcode");
        const CertFiles verification = VerificationCertificate(ca, code["registrationCode"]);
        json body = {{"caCertificate", pki_->DeviceCa(ca).cert_pem},
                     {"verificationCertificate", verification.cert_pem}};
        if (!registration_config.is_null()) {
            body["registrationConfig"] = registration_config;
        }
        const json reply =
            Call("POST", "/cacertificate", body,
                 {{"setAsActive", "true"},
                  {"allowAutoRegistration", auto_registration ? "true" : "false"}});
        return reply.value("certificateId", "");
    }

    // `elsim pki verification`-equivalent with the openssl CLI (as JITR tutorials make it).
    CertFiles VerificationCertificate(const std::string& ca, const std::string& code) {
        const auto& ca_files = pki_->DeviceCa(ca);
        const std::string key = (dir_.path() / "verification.key").string();
        const std::string csr = (dir_.path() / "verification.csr").string();
        const std::string crt = (dir_.path() / "verification.crt").string();
        EXPECT_EQ(RunCommand({"openssl", "ecparam", "-out", key, "-name", "prime256v1", "-genkey"})
                      .exit_code,
                  0);
        EXPECT_EQ(RunCommand({"openssl", "req", "-new", "-key", key, "-out", csr, "-subj",
                              "/CN=" + code})
                      .exit_code,
                  0);
        const auto signed_cert =
            RunCommand({"openssl", "x509", "-req", "-in", csr, "-CA", ca_files.cert.string(),
                        "-CAkey", ca_files.key.string(), "-CAcreateserial", "-out", crt, "-days",
                        "365", "-sha256"});
        EXPECT_EQ(signed_cert.exit_code, 0) << signed_cert.output;
        CertFiles files;
        files.cert = crt;
        files.key = key;
        files.cert_pem = *sim::ReadFile(crt);
        return files;
    }

    std::string CertificateArn(const std::string& certificate_id) const {
        return std::string("arn:aws:iot:us-east-1:") + kAccountId + ":cert/" + certificate_id;
    }

    std::string Status(const std::string& certificate_id) {
        const json described = Call("GET", AwsClient::Path({"certificates", certificate_id}));
        return described.is_object() && described.contains("certificateDescription")
                   ? described["certificateDescription"].value("status", "")
                   : "";
    }

    std::vector<std::string> TlsArgs(const std::string& cert, const std::string& key) const {
        auto args =
            sim::testing::MosquittoTlsArgs(broker_->port(), pki_->ServerCa().cert, cert, key);
        args.insert(args.end(), {"--tls-version", "tlsv1.2"});
        return args;
    }

    std::unique_ptr<BackgroundCommand> Subscribe(const CertFiles& cert, const std::string& filter,
                                                 const std::string& client_id) {
        bool subscribed = false;
        auto sub = sim::testing::StartMosquittoSub(TlsArgs(cert.cert.string(), cert.key.string()), filter, client_id, subscribed);
        EXPECT_TRUE(subscribed) << sub->Output();
        return sub;
    }

    std::unique_ptr<mqtt::async_client> Paho(const std::string& client_id, int version) const {
        return sim::testing::PahoClient(broker_->port(), client_id, version);
    }

    mqtt::connect_options PahoOptions(const CertFiles& cert, int version) const {
        return sim::testing::PahoConnectOptions(pki_->ServerCa().cert, cert, version);
    }

    Outcome Connect(const CertFiles& cert, const std::string& client_id, int version) {
        auto client = Paho(client_id, version);
        try {
            client->connect(PahoOptions(cert, version))->wait();
            client->disconnect()->wait();
            return Outcome::kConnected;
        } catch (const mqtt::exception& e) {
            // Paho reports a refusing MQTT 5 CONNACK as return code 135 (0x87).
            const bool not_authorized =
                e.get_return_code() == mqtt::ReasonCode::NOT_AUTHORIZED ||
                e.get_reason_code() == mqtt::ReasonCode::NOT_AUTHORIZED;
            return not_authorized ? Outcome::kRefusedWithConnack : Outcome::kDropped;
        }
    }
};

// A JITR tutorial's flow: a CA registered with a verification certificate, the registration event,
// PENDING_ACTIVATION, then activation + policy through the control plane.
TEST_F(AccountBrokerTest, JitrFirstConnectIsDroppedThenActivatedCertificatePublishes) {
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    // GetRegistrationCode and RegisterCACertificate with the real AWS CLI (oracle).
    const auto code_reply = AwsCli({"get-registration-code"});
    ASSERT_EQ(code_reply.exit_code, 0) << code_reply.output;
    const std::string code = json::parse(code_reply.output).value("registrationCode", "");
    ASSERT_FALSE(code.empty());
    const CertFiles verification = VerificationCertificate("sample", code);
    const auto registered =
        AwsCli({"register-ca-certificate", "--ca-certificate",
                "file://" + pki_->DeviceCa("sample").cert.string(), "--verification-certificate",
                "file://" + verification.cert.string()});
    ASSERT_EQ(registered.exit_code, 0) << registered.output;
    const std::string ca_id = json::parse(registered.output).value("certificateId", "");
    Call("PUT", AwsClient::Path({"cacertificate", ca_id}), nullptr, {{"newStatus", "ACTIVE"}});
    Call("PUT", AwsClient::Path({"cacertificate", ca_id}), nullptr,
         {{"newAutoRegistrationStatus", "ENABLE"}});

    const CertFiles observer = Observer();
    auto events = Subscribe(observer, "$aws/events/certificates/registered/#", "observer");

    const CertFiles device = pki_->Device("marks-iot", "sample");
    const std::string chain =
        WriteFile("deviceCertAndCACert.crt", device.cert_pem + pki_->DeviceCa("sample").cert_pem);
    std::vector<std::string> pub = {"mosquitto_pub"};
    for (auto& a : TlsArgs(chain, device.key.string())) {
        pub.push_back(a);
    }
    for (const char* a : {"-q", "1", "-t", "foo/bar", "-i", "anyclientID", "-m", "Hello", "-d"}) {
        pub.emplace_back(a);
    }
    const auto first = RunCommand(pub);
    EXPECT_NE(first.exit_code, 0);
    EXPECT_NE(first.output.find("Error: The connection was lost."), std::string::npos)
        << first.output;
    ASSERT_TRUE(events->WaitForOutput(device.certificate_id, 3s)) << events->Output();
    EXPECT_NE(events->Output().find("$aws/events/certificates/registered/" + ca_id),
              std::string::npos);
    EXPECT_EQ(Status(device.certificate_id), "PENDING_ACTIVATION");

    Call("PUT", AwsClient::Path({"certificates", device.certificate_id}), nullptr,
         {{"newStatus", "ACTIVE"}});
    AllowAll(CertificateArn(device.certificate_id));
    const auto second = RunCommand(pub);
    EXPECT_EQ(second.exit_code, 0) << second.output;
    const auto described =
        AwsCli({"describe-certificate", "--certificate-id", device.certificate_id});
    EXPECT_NE(described.output.find("\"ACTIVE\""), std::string::npos) << described.output;
}

// ExpressLink OEM guide Appendix B/C: an SNI_ONLY CA with a JITP template.
TEST_F(AccountBrokerTest, JitpFirstConnectCreatesThingAndSecondConnectSucceeds) {
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    const json policy_document = {
        {"Version", "2012-10-17"},
        {"Statement",
         {{{"Effect", "Allow"},
           {"Action", {"iot:Connect"}},
           {"Resource",
            {"arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"}}},
          {{"Effect", "Allow"},
           {"Action", {"iot:Publish", "iot:Receive"}},
           {"Resource",
            {"arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*"}}}}}};
    const std::string template_body = JitpTemplate(policy_document);
    const json body = {{"caCertificate", pki_->DeviceCa("oem-ca").cert_pem},
                       {"certificateMode", "SNI_ONLY"},
                       {"registrationConfig",
                        {{"templateBody", template_body},
                         {"roleArn", "arn:aws:iam::123456789012:role/JITPRole"}}}};
    const json ca = Call("POST", "/cacertificate", body,
                         {{"setAsActive", "true"}, {"allowAutoRegistration", "true"}});
    ASSERT_TRUE(ca.contains("certificateId")) << ca.dump();

    const CertFiles module = pki_->Device("module-7", "oem-ca");
    EXPECT_EQ(Connect(module, "module-7", 4), Outcome::kDropped);
    const json thing = Call("GET", AwsClient::Path({"things", "module-7"}));
    EXPECT_EQ(thing.value("thingName", ""), "module-7");
    EXPECT_EQ(Status(module.certificate_id), "ACTIVE");
    const json policies = Call(
        "POST", AwsClient::Path({"attached-policies", CertificateArn(module.certificate_id)}));
    EXPECT_EQ(policies["policies"].size(), 1U) << policies.dump();
    EXPECT_EQ(Connect(module, "module-7", 4), Outcome::kConnected);
    EXPECT_EQ(Connect(module, "module-7", 5), Outcome::kConnected);
    // The policy from the template confines the client id to the thing name.
    EXPECT_EQ(Connect(module, "someone-else", 5), Outcome::kRefusedWithConnack);
}

// The ExpressLink OEM guide replayed as written: Appendix B with the AWS CLI (SNI_ONLY, active,
// auto-registration), Appendix C as a named JITP provisioning template attached to the CA; an
// ExpressLink module birth certificate (CN = ThingName) then connects twice.
TEST_F(AccountBrokerTest, OnboardingByClaimOemAccountProvisionsModuleByJitpTemplate) {
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    const auto registered =
        AwsCli({"register-ca-certificate", "--ca-certificate",
                "file://" + pki_->DeviceCa("acme").cert.string(), "--certificate-mode", "SNI_ONLY",
                "--set-as-active", "--allow-auto-registration"});
    ASSERT_EQ(registered.exit_code, 0) << registered.output;
    const std::string ca_id = json::parse(registered.output).value("certificateId", "");
    const json policy = {
        {"Version", "2012-10-17"},
        {"Statement",
         {{{"Effect", "Allow"}, {"Action", "iot:Connect"},
           {"Resource", "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"}},
          {{"Effect", "Allow"}, {"Action", {"iot:Publish", "iot:Receive", "iot:Subscribe"}},
           {"Resource", "*"}}}}};
    const std::string template_body = JitpTemplate(policy);
    Call("POST", "/provisioning-templates",
         {{"templateName", "ExpressLinkJitp"},
          {"templateBody", template_body},
          {"provisioningRoleArn", "arn:aws:iam::123456789012:role/JITPRole"},
          {"enabled", true},
          {"type", "JITP"}});
    Call("PUT", AwsClient::Path({"cacertificate", ca_id}),
         {{"registrationConfig", {{"templateName", "ExpressLinkJitp"}}}});

    const auto& ca_files = pki_->DeviceCa("acme");
    std::string thing_name;
    const CertFiles module = sim::testing::ModuleBirthCertificate(
        ca_files.cert_pem, ca_files.key_pem, dir_.path(), thing_name);
    const std::string& certificate_id = module.certificate_id;

    EXPECT_EQ(Connect(module, thing_name, 4), Outcome::kDropped);  // JITP first connect
    const auto thing = AwsCli({"describe-thing", "--thing-name", thing_name});
    EXPECT_EQ(thing.exit_code, 0) << thing.output;
    EXPECT_EQ(Status(certificate_id), "ACTIVE");
    const json attached =
        Call("POST", AwsClient::Path({"attached-policies", CertificateArn(certificate_id)}));
    EXPECT_EQ(attached["policies"].size(), 1U) << attached.dump();
    const json principals = Call("GET", AwsClient::Path({"things", thing_name, "principals"}));
    EXPECT_EQ(principals["principals"].size(), 1U) << principals.dump();
    EXPECT_EQ(Connect(module, thing_name, 4), Outcome::kConnected);
}

// The refusal table: what a client sees for each certificate AWS refuses.
enum class Case {
    kUnknownCa,
    kCaInactive,
    kAutoRegistrationDisabled,
    kCertificateInactive,
    kCertificateRevoked,
    kCertificatePendingActivation,
    kExpired,
    kNotYetValid,
};

struct RefusalCase {
    const char* name;
    Case kind;
    int version;
    Outcome expected;
};

class RefusalTest : public AccountBrokerTest,
                    public ::testing::WithParamInterface<RefusalCase> {};

TEST_P(RefusalTest, RefusesCertificate) {
    const RefusalCase& c = GetParam();
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    CertFiles device;
    const auto register_device = [&](const char* status) {
        Call("POST", "/certificate/register",
             {{"certificatePem", device.cert_pem},
              {"caCertificatePem", pki_->DeviceCa("ca").cert_pem},
              {"status", status}});
        AllowAll(CertificateArn(device.certificate_id));
    };
    switch (c.kind) {
        case Case::kUnknownCa:
            RegisterCa("ca", true);
            device = pki_->Device("d", "stranger-ca");
            break;
        case Case::kCaInactive: {
            // 'Deactivate a CA certificate': an INACTIVE CA auto-registers nothing (certificates
            // already registered under it keep working: not this case).
            const std::string ca = RegisterCa("ca", true);
            device = pki_->Device("d", "ca");
            Call("PUT", AwsClient::Path({"cacertificate", ca}), nullptr,
                 {{"newStatus", "INACTIVE"}});
            break;
        }
        case Case::kAutoRegistrationDisabled:
            RegisterCa("ca", false);
            device = pki_->Device("d", "ca");
            break;
        case Case::kCertificateInactive:
            RegisterCa("ca", true);
            device = pki_->Device("d", "ca");
            register_device("INACTIVE");
            break;
        case Case::kCertificateRevoked:
            RegisterCa("ca", true);
            device = pki_->Device("d", "ca");
            register_device("REVOKED");
            break;
        case Case::kCertificatePendingActivation:
            RegisterCa("ca", true);
            device = pki_->Device("d", "ca");
            EXPECT_EQ(Connect(device, "d", c.version), Outcome::kDropped);  // JITR
            EXPECT_EQ(Status(device.certificate_id), "PENDING_ACTIVATION");
            AllowAll(CertificateArn(device.certificate_id));
            break;
        case Case::kExpired:
            RegisterCa("ca", true);
            device = pki_->Device("d", "ca", -std::chrono::hours{48}, -std::chrono::hours{24});
            break;
        case Case::kNotYetValid:
            RegisterCa("ca", true);
            device = pki_->Device("d", "ca", std::chrono::hours{24}, std::chrono::hours{48});
            break;
    }
    EXPECT_EQ(Name(Connect(device, "d", c.version)), std::string(Name(c.expected)));
    if (c.kind == Case::kAutoRegistrationDisabled) {
        // Never auto-registered.
        auto reply = client_->Call("GET", AwsClient::Path({"certificates", device.certificate_id}));
        ASSERT_FALSE(reply);
        EXPECT_EQ(reply.error().type, "ResourceNotFoundException");
    }
}

// TLS refuses unknown CAs and certificates outside their validity (AWS too: no CONNACK at all);
// the registry refuses the rest: dropped on MQTT 3.1.1, CONNACK 0x87 on MQTT 5 (chosen).
INSTANTIATE_TEST_SUITE_P(
    Table, RefusalTest,
    ::testing::Values(
        RefusalCase{"UnknownCa311", Case::kUnknownCa, 4, Outcome::kDropped},
        RefusalCase{"UnknownCa5", Case::kUnknownCa, 5, Outcome::kDropped},
        RefusalCase{"CaInactive311", Case::kCaInactive, 4, Outcome::kDropped},
        RefusalCase{"CaInactive5", Case::kCaInactive, 5, Outcome::kRefusedWithConnack},
        RefusalCase{"AutoRegistrationDisabled311", Case::kAutoRegistrationDisabled, 4,
                    Outcome::kDropped},
        RefusalCase{"AutoRegistrationDisabled5", Case::kAutoRegistrationDisabled, 5,
                    Outcome::kRefusedWithConnack},
        RefusalCase{"CertificateInactive311", Case::kCertificateInactive, 4, Outcome::kDropped},
        RefusalCase{"CertificateInactive5", Case::kCertificateInactive, 5,
                    Outcome::kRefusedWithConnack},
        RefusalCase{"CertificateRevoked311", Case::kCertificateRevoked, 4, Outcome::kDropped},
        RefusalCase{"CertificateRevoked5", Case::kCertificateRevoked, 5,
                    Outcome::kRefusedWithConnack},
        RefusalCase{"PendingActivation311", Case::kCertificatePendingActivation, 4,
                    Outcome::kDropped},
        RefusalCase{"PendingActivation5", Case::kCertificatePendingActivation, 5,
                    Outcome::kDropped},
        RefusalCase{"Expired311", Case::kExpired, 4, Outcome::kDropped},
        RefusalCase{"Expired5", Case::kExpired, 5, Outcome::kDropped},
        RefusalCase{"NotYetValid311", Case::kNotYetValid, 4, Outcome::kDropped},
        RefusalCase{"NotYetValid5", Case::kNotYetValid, 5, Outcome::kDropped}),
    [](const ::testing::TestParamInfo<RefusalCase>& param_info) { return param_info.param.name; });

TEST_F(AccountBrokerTest, RevokedCertificateIsDisconnectedWithinOneSecondAndCannotReconnect) {
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    const CertFiles device = Observer();
    auto client = Paho("revoked", 4);
    client->connect(PahoOptions(device, 4))->wait();
    ASSERT_TRUE(client->is_connected());
    const auto start = std::chrono::steady_clock::now();
    Call("PUT", AwsClient::Path({"certificates", device.certificate_id}), nullptr,
         {{"newStatus", "REVOKED"}});
    EXPECT_TRUE(WaitDisconnected(*client, 1s));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, 1s);
    EXPECT_EQ(Connect(device, "revoked", 4), Outcome::kDropped);
    EXPECT_EQ(Connect(device, "revoked", 5), Outcome::kRefusedWithConnack);
}

TEST_F(AccountBrokerTest, ControlPlaneServesDescribeEndpointAndTheAwsCliWorks) {
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    const auto endpoint = AwsCli({"describe-endpoint", "--endpoint-type", "iot:Data-ATS"});
    ASSERT_EQ(endpoint.exit_code, 0) << endpoint.output;
    EXPECT_EQ(json::parse(endpoint.output).value("endpointAddress", ""), kEndpoint);
    // State survives a restart of the broker (the registry is in account_dir).
    Call("POST", AwsClient::Path({"things", "kept"}), json::object());
    broker_.reset();
    ASSERT_NO_FATAL_FAILURE(StartAccount());
    // StartAccount made a fresh TestPki and port; the state directory is the same.
    const json thing = Call("GET", AwsClient::Path({"things", "kept"}));
    EXPECT_EQ(thing.value("thingName", ""), "kept");
}

// A bad plugin option stops the broker's start with one line naming it; nothing is served.
struct BadOptionCase {
    const char* name;
    const char* key;
    const char* value;
    const char* message;
};
class BadOptionTest : public ::testing::TestWithParam<BadOptionCase> {};

TEST_P(BadOptionTest, BrokerRefusesToStart) {
    const auto& c = GetParam();
    TempDir dir;
    TestPki pki(dir.path() / "pki");
    const std::uint16_t control_port = sim::testing::FreePort("127.0.0.1");
    TestBrokerOptions options;
    options.plugin = ELSIM_BROKER_PLUGIN;
    options.plugin_options = {{"account_dir", (dir.path() / "state").string()},
                              {"account_id", kAccountId},
                              {"endpoint", kEndpoint},
                              {"capath", (dir.path() / "broker" / "capath").string()},
                              {"control_plane", "127.0.0.1:" + std::to_string(control_port)}};
    for (auto& [key, value] : options.plugin_options) {
        if (key == c.key) {
            value = c.value;
        }
    }
    if (options.plugin_options.end() ==
        std::find_if(options.plugin_options.begin(), options.plugin_options.end(),
                     [&](const auto& option) { return option.first == c.key; })) {
        options.plugin_options.emplace_back(c.key, c.value);
    }
    TestBroker broker(pki, dir.path() / "broker", options);
    EXPECT_FALSE(broker.ok());
    EXPECT_NE(broker.error().find(c.message), std::string::npos) << broker.error();
    EXPECT_FALSE(sim::world::PortAcceptsConnections("127.0.0.1", control_port, 200ms));
}

INSTANTIATE_TEST_SUITE_P(
    Options, BadOptionTest,
    ::testing::Values(
        BadOptionCase{"AccountIdNotTwelveDigits", "account_id", "12",
                      "plugin_opt_account_id: '12' is not 12 digits"},
        BadOptionCase{"EndpointWithoutAts", "endpoint", "example.com",
                      "plugin_opt_endpoint: 'example.com' is not"},
        BadOptionCase{"ControlPlaneWithoutPort", "control_plane", "127.0.0.1",
                      "plugin_opt_control_plane: '127.0.0.1' is not ADDRESS:PORT"},
        BadOptionCase{"StagingWithoutManufacturerCa", "kind", "staging",
                      "plugin_opt_manufacturer_ca is required for kind=staging"},
        BadOptionCase{"UnknownKind", "kind", "prod", "plugin_opt_kind must be staging or oem"}),
    [](const ::testing::TestParamInfo<BadOptionCase>& param_info) {
        return param_info.param.name;
    });

// ---- staging -----------------------------------------------------------------------------

class StagingBrokerTest : public AccountBrokerTest {
protected:
    // A module birth certificate (CN = serial = ThingName) from the manufacturer CA "acme".
    CertFiles Module(std::string& thing_name) {
        const auto& ca_files = pki_->DeviceCa("acme");
        return sim::testing::ModuleBirthCertificate(ca_files.cert_pem, ca_files.key_pem,
                                                    dir_.path(), thing_name);
    }
};

TEST_F(StagingBrokerTest, ModuleFirstLoginCreatesThingAndForeignSubscribeDropsIt) {
    ASSERT_NO_FATAL_FAILURE(StartAccount(true));
    std::string thing_name;
    const CertFiles module = Module(thing_name);
    auto client = Paho(thing_name, 4);
    client->connect(PahoOptions(module, 4))->wait();  // first login: not dropped
    ASSERT_TRUE(client->is_connected());
    const json thing = Call("GET", AwsClient::Path({"things", thing_name}));
    EXPECT_EQ(thing.value("thingTypeName", ""), "ExpressLinkModule");
    EXPECT_EQ(thing["attributes"].value("connected", ""), "true") << thing.dump();
    client->subscribe(thing_name + "/expresslink_config", 1)->wait();
    EXPECT_TRUE(client->is_connected());
    try {
        client->subscribe("someone-else/expresslink_config", 1)->wait_for(2s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch): either way it must drop
    }
    EXPECT_TRUE(WaitDisconnected(*client, 2s));
}

TEST_F(StagingBrokerTest, ValidClaimReachesTheModuleAndInvalidClaimClosesTheClaimThing) {
    ASSERT_NO_FATAL_FAILURE(StartAccount(true));
    // The OEM's claim certificate: self-signed (not a CA, clientAuth), made with the openssl
    // CLI and registered through the control plane.
    CertFiles claim_files;
    claim_files.key = dir_.path() / "claim.key";
    claim_files.cert = dir_.path() / "claim.pem";
    const std::string csr = (dir_.path() / "claim.csr").string();
    const std::string ext = WriteFile("claim.ext",
                                      "basicConstraints=critical,CA:FALSE\n"
                                      "extendedKeyUsage=clientAuth\n");
    ASSERT_EQ(RunCommand({"openssl", "ecparam", "-out", claim_files.key.string(), "-name",
                          "prime256v1", "-genkey"})
                  .exit_code,
              0);
    ASSERT_EQ(RunCommand({"openssl", "req", "-new", "-key", claim_files.key.string(), "-out", csr,
                          "-subj", "/CN=oem-claim"})
                  .exit_code,
              0);
    const auto self_signed =
        RunCommand({"openssl", "x509", "-req", "-in", csr, "-signkey", claim_files.key.string(),
                    "-out", claim_files.cert.string(), "-days", "2", "-extfile", ext});
    ASSERT_EQ(self_signed.exit_code, 0) << self_signed.output;
    claim_files.cert_pem = *sim::ReadFile(claim_files.cert);
    sim::SeededRandom random(5);
    auto plan = sim::staging::PlanOemRegistration("acme-oem", claim_files.cert_pem, random);
    ASSERT_TRUE(plan) << plan.error().message;
    auto record = sim::staging::RegisterOemRemote(*client_, *plan, "us-east-1", kAccountId);
    ASSERT_TRUE(record) << record.error().message;
    const std::string uuid = plan->record.uuid;

    std::string thing_name;
    const CertFiles module = Module(thing_name);
    auto module_client = Paho(thing_name, 4);
    module_client->connect(PahoOptions(module, 4))->wait();
    module_client->start_consuming();
    module_client->subscribe(thing_name + "/expresslink_config", 1)->wait();

    auto claimer = Paho(uuid, 4);
    claimer->connect(PahoOptions(claim_files, 4))->wait();
    const std::string valid = R"({"Endpoint":"oem1234567890ab-ats.iot.us-east-1.elsim.test"})";
    claimer->publish(thing_name + "/expresslink_config", valid, 1, false)->wait();
    auto message = module_client->try_consume_message_for(3s);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->to_string(), valid);
    const json thing = Call("GET", AwsClient::Path({"things", thing_name}));
    EXPECT_EQ(thing["attributes"].value("claimedBy", ""), uuid) << thing.dump();

    try {
        claimer->publish(thing_name + "/expresslink_config", R"({"Endpoint":"bad host!"})", 1,
                         false)
            ->wait_for(2s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch): closing is the point
    }
    EXPECT_TRUE(WaitDisconnected(*claimer, 2s));
    EXPECT_FALSE(module_client->try_consume_message_for(500ms));
    EXPECT_TRUE(module_client->is_connected());
}

}  // namespace
