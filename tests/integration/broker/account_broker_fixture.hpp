// SPDX-License-Identifier: Apache-2.0
#pragma once
// A fixture shared by this folder's account-broker tests: one account (OEM or staging) hosted by
// elsim_broker in a real mosquitto (TestBroker, mTLS), its control plane on a free loopback
// port, the project's SigV4 AwsClient for set-up calls, the real AWS CLI as oracle, and an
// observer certificate with an allow-all policy.
//
// Contract: StartAccount() asserts (fatal) that the broker started and the control plane
// accepts connections; call it under ASSERT_NO_FATAL_FAILURE or from SetUp(). Members are
// destroyed broker first, then the PKI, then the directory.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/mosquitto_process.hpp"

namespace sim::testing {

inline constexpr const char* kTestAccountId = "123456789012";
inline constexpr const char* kTestEndpoint = "abcdefghijklmn-ats.iot.us-east-1.elsim.test";
inline constexpr const char* kAllowAllPolicy =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})";

class AccountBrokerFixture : public ::testing::Test {
protected:
    // Starts the account broker: "oem" (kind oem) or, with `staging`, "staging" (kind staging,
    // manufacturer CA = the TestPki device CA "acme").
    void StartAccount(bool staging = false) {
        using namespace std::chrono_literals;
        pki_ = std::make_unique<TestPki>(dir_.path() / "pki");
        control_port_ = FreePort("127.0.0.1");
        const std::filesystem::path broker_dir = dir_.path() / "broker";
        TestBrokerOptions options;
        options.plugin = ELSIM_BROKER_PLUGIN;
        options.plugin_options = {{"account_name", staging ? "staging" : "oem"},
                                  {"mode", "explain"},
                                  {"account_dir", (dir_.path() / "state").string()},
                                  {"account_id", kTestAccountId},
                                  {"region", "us-east-1"},
                                  {"endpoint", kTestEndpoint},
                                  {"kind", staging ? "staging" : "oem"},
                                  {"capath", (broker_dir / "capath").string()},
                                  {"control_plane", "127.0.0.1:" + std::to_string(control_port_)},
                                  {"connect_interval_ms", "0"}};
        for (const auto& option : extra_plugin_options_) {
            options.plugin_options.push_back(option);
        }
        if (staging) {
            options.plugin_options.emplace_back("manufacturer_ca",
                                                pki_->DeviceCa("acme").cert.string());
        }
        broker_ = std::make_unique<TestBroker>(*pki_, broker_dir, options);
        ASSERT_TRUE(broker_->ok()) << broker_->error();
        ASSERT_TRUE(sim::world::PortAcceptsConnections("127.0.0.1", control_port_, 2s));
        sim::controlplane::ClientConfig config;
        config.endpoint = ControlPlaneUrl();
        config.credentials = {kTestAccountId, "any-secret", ""};
        client_ = std::make_unique<sim::controlplane::AwsClient>(
            config, std::make_shared<sim::SystemClock>());
    }

    std::string ControlPlaneUrl() const {
        return "http://127.0.0.1:" + std::to_string(control_port_);
    }

    // The real AWS CLI against the account's control plane (the oracle client).
    CommandResult AwsCli(const std::vector<std::string>& args) const {
        return RunAwsIot(kTestAccountId, ControlPlaneUrl(), args);
    }

    // A control-plane call with the SigV4 client; the reply (null JSON when it failed, which
    // is also a non-fatal test failure).
    nlohmann::json Call(std::string_view method, const std::string& path,
                        const nlohmann::json& body = nullptr,
                        const sim::controlplane::QueryParams& query = {}) {
        auto reply = client_->Call(method, path, query, body);
        EXPECT_TRUE(reply) << method << " " << path << ": "
                           << (reply ? "" : reply.error().type + " " + reply.error().message);
        return reply ? *reply : nlohmann::json();
    }

    // Writes `text` to `name` in the test directory; returns the path.
    std::string WriteFile(const std::string& name, const std::string& text) {
        const std::filesystem::path path = dir_.path() / name;
        WriteTextFile(path, text);
        return path.string();
    }

    // A certificate the account issues itself (CreateKeysAndCertificate, ACTIVE) with the
    // allow-all policy attached: the observer's identity, allowed to subscribe to and receive
    // every `$aws/events/...` topic.
    CertFiles Observer() {
        const nlohmann::json created =
            Call("POST", "/keys-and-certificate", nullptr, {{"setAsActive", "true"}});
        CertFiles files;
        files.cert = WriteFile("observer.pem", created.value("certificatePem", ""));
        files.key = WriteFile("observer.key", created["keyPair"].value("PrivateKey", ""));
        files.certificate_id = created.value("certificateId", "");
        AllowAll(created.value("certificateArn", ""));
        return files;
    }

    // Attaches the policy "AllowAll" (created on first use) to `certificate_arn`.
    void AllowAll(const std::string& certificate_arn) {
        using sim::controlplane::AwsClient;
        if (!policy_created_) {
            Call("POST", AwsClient::Path({"policies", "AllowAll"}),
                 {{"policyDocument", kAllowAllPolicy}});
            policy_created_ = true;
        }
        Call("PUT", AwsClient::Path({"target-policies", "AllowAll"}),
             {{"target", certificate_arn}});
    }

    TempDir dir_;
    std::unique_ptr<TestPki> pki_;
    std::uint16_t control_port_ = 0;
    std::unique_ptr<TestBroker> broker_;
    std::unique_ptr<sim::controlplane::AwsClient> client_;
    bool policy_created_ = false;
    /// More plugin_opt_ lines for StartAccount (set before calling it).
    std::vector<std::pair<std::string, std::string>> extra_plugin_options_;
};

}  // namespace sim::testing
