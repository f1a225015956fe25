// SPDX-License-Identifier: Apache-2.0
// BrokerCore over RegistryAccountView over a real (in-memory) account registry and policy
// evaluator, with certificates from the pki core: identity, JITR/JITP, authorization, live
// certificate changes. No broker, sockets or files.
#include "sim/broker/registry_account_view.hpp"

#include <functional>
#include <mutex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "sim/account/registry.hpp"
#include "sim/account/template.hpp"
#include "sim/broker/broker_core.hpp"

namespace sim::broker {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;

pki::IssueSpec Spec(const std::string& cn, const sim::TimePoint now) {
    pki::IssueSpec spec;
    spec.subject.entries = {{"O", "acme"}, {"CN", cn}};
    spec.not_before = now - 1h;
    spec.not_after = now + 24h * 365;
    return spec;
}

constexpr const char* kDevicePolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect",
     "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/dt/${iot:ClientId}/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/dt/${iot:ClientId}/*"}
  ]})";

class RegistryAccountViewTest : public ::testing::Test {
protected:
    RegistryAccountViewTest()
        : registry_(Settings(), clock_, registry_random_),
          view_(LockingRunner(registry_, mutex_)),
          core_(BrokerSettings{}, view_, core_random_) {}

    static sim::account::AccountSettings Settings() {
        sim::account::AccountSettings settings;
        settings.account_id = "123456789012";
        settings.region = "us-east-1";
        settings.endpoint_prefix = "abcdefghijklmn";
        return settings;
    }

    void SetUp() override {
        auto key = pki::Key::Generate(pki::KeyType::kEcP256);
        ASSERT_TRUE(key);
        auto spec = Spec("acme Device CA", clock_.Now());
        auto ca = pki::CertificateAuthority::CreateRoot(spec, *key);
        ASSERT_TRUE(ca) << ca.error().message;
        ca_.emplace(std::move(*ca));
    }

    pki::IssuedCertificate Device(const std::string& cn) {
        auto key = pki::Key::Generate(pki::KeyType::kEcP256);
        EXPECT_TRUE(key);
        auto issued = ca_->Issue(Spec(cn, clock_.Now()), *key);
        EXPECT_TRUE(issued) << issued.error().message;
        return *issued;
    }

    std::string RegisterCa(bool active, bool auto_registration,
                           std::optional<std::string> template_body = {}) {
        sim::account::RegisterCaCertificateRequest request;
        request.ca_certificate = ca_->pem();
        request.certificate_mode = "SNI_ONLY";
        request.set_as_active = active;
        request.allow_auto_registration = auto_registration;
        if (template_body) {
            sim::account::RegistrationConfig config;
            config.template_body = *template_body;
            config.role_arn = "arn:aws:iam::123456789012:role/JITPRole";
            request.registration_config = config;
        }
        auto registered = registry_.RegisterCACertificate(request);
        EXPECT_TRUE(registered) << registered.error().message;
        return registered ? registered->certificate_id : "";
    }

    // Registers `device` ACTIVE with kDevicePolicy attached.
    void RegisterActive(const pki::IssuedCertificate& device) {
        sim::account::RegisterDeviceCertificateRequest request;
        request.certificate_pem = device.pem;
        request.status = "ACTIVE";
        auto registered = registry_.RegisterCertificateWithoutCA(request);
        ASSERT_TRUE(registered) << registered.error().message;
        if (!registry_.FindPolicy("device")) {
            ASSERT_TRUE(registry_.CreatePolicy("device", kDevicePolicy));
        }
        ASSERT_TRUE(registry_.AttachPolicy("device", registered->certificate_arn));
    }

    ConnectInput Input(const pki::IssuedCertificate& cert, const std::string& client_id,
                       int version = 4, std::uint64_t key = 1) {
        ConnectInput input;
        input.session_key = key;
        input.client_id = client_id;
        input.has_certificate = true;
        input.certificate = {cert.der, cert.certificate_id, nullptr};
        input.source_ip = "127.0.0.7";
        input.protocol_version = version;
        return input;
    }

    std::vector<std::string> Topics() {
        std::vector<std::string> topics;
        for (const auto& m : core_.TakeEffects(false).publishes) {
            topics.push_back(m.topic);
        }
        return topics;
    }

    sim::ManualClock clock_{std::chrono::system_clock::now()};
    sim::SeededRandom registry_random_{11};
    sim::SeededRandom core_random_{12};
    std::mutex mutex_;
    sim::account::Registry registry_;
    RegistryAccountView view_;
    BrokerCore core_;
    std::optional<pki::CertificateAuthority> ca_;
};

TEST_F(RegistryAccountViewTest, RefusesCertificateOfUnregisteredCa) {
    const auto device = Device("thing-1");
    const auto result = core_.OnConnect(Input(device, "thing-1"), clock_.Now());
    EXPECT_EQ(result.action, ConnectAction::kCloseWithoutConnack);
    EXPECT_NE(result.reason.find("not signed by a registered CA"), std::string::npos)
        << result.reason;
}

TEST_F(RegistryAccountViewTest, ActiveCertificateConnectsAndPoliciesDecide) {
    const auto device = Device("thing-1");
    RegisterActive(device);
    ASSERT_EQ(core_.OnConnect(Input(device, "thing-1"), clock_.Now()).action,
              ConnectAction::kAccept);
    EXPECT_TRUE(core_.OnPublish("thing-1", "dt/thing-1/temp", 1, false).allowed);
    EXPECT_TRUE(core_.OnSubscribe("thing-1", "dt/thing-1/cmd", 1, clock_.Now()).allowed);
    EXPECT_TRUE(core_.OnReceive("thing-1", "dt/thing-1/cmd").allowed);
    EXPECT_FALSE(core_.OnReceive("thing-1", "dt/other/cmd").allowed);
    const auto retained = core_.OnPublish("thing-1", "dt/thing-1/temp", 1, true);
    EXPECT_FALSE(retained.allowed);  // no iot:RetainPublish in the policy
    EXPECT_TRUE(retained.kick);      // MQTT 3.1.1
}

TEST_F(RegistryAccountViewTest, CertificateWithoutPolicyIsRefusedPerProtocolVersion) {
    const auto device = Device("thing-1");
    RegisterActive(device);
    // An ACTIVE certificate with the policy connects; an ACTIVE one without any policy gets
    // CONNACK 0x87 on MQTT 5 and a closed connection on MQTT 3.1.1.
    EXPECT_EQ(core_.OnConnect(Input(device, "thing-1", 5), clock_.Now()).action,
              ConnectAction::kAccept);
    const auto stranger = Device("thing-2");
    sim::account::RegisterDeviceCertificateRequest request;
    request.certificate_pem = stranger.pem;
    request.status = "ACTIVE";
    ASSERT_TRUE(registry_.RegisterCertificateWithoutCA(request));
    EXPECT_EQ(core_.OnConnect(Input(stranger, "thing-2", 5, 2), clock_.Now()).action,
              ConnectAction::kRefuseWithConnack);
    EXPECT_EQ(core_.OnConnect(Input(stranger, "thing-3", 4, 3), clock_.Now()).action,
              ConnectAction::kCloseWithoutConnack);
}

TEST_F(RegistryAccountViewTest, JitrRegistersPendingPublishesEventAndDropsEachTime) {
    const std::string ca_id = RegisterCa(true, true);
    const auto device = Device("thing-1");
    EXPECT_EQ(core_.OnConnect(Input(device, "thing-1"), clock_.Now()).action,
              ConnectAction::kCloseWithoutConnack);
    const auto first = core_.TakeEffects(false).publishes;
    ASSERT_EQ(first.size(), 1U);
    EXPECT_EQ(first[0].topic, "$aws/events/certificates/registered/" + ca_id);
    const auto payload = json::parse(first[0].payload);
    EXPECT_EQ(payload["certificateId"], device.certificate_id);
    EXPECT_EQ(payload["certificateStatus"], "PENDING_ACTIVATION");
    const auto* cert = registry_.FindCertificate(device.certificate_id);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(cert->status, sim::account::CertificateStatus::kPendingActivation);

    clock_.Advance(2s);
    EXPECT_EQ(core_.OnConnect(Input(device, "thing-1", 4, 2), clock_.Now()).action,
              ConnectAction::kCloseWithoutConnack);
    EXPECT_EQ(Topics(), std::vector<std::string>{"$aws/events/certificates/registered/" + ca_id});
}

TEST_F(RegistryAccountViewTest, InactiveCaOrDisabledAutoRegistrationRefuses) {
    RegisterCa(false, true);
    const auto device = Device("thing-1");
    EXPECT_EQ(core_.OnConnect(Input(device, "thing-1"), clock_.Now()).action,
              ConnectAction::kCloseWithoutConnack);
    EXPECT_TRUE(Topics().empty());
    EXPECT_EQ(registry_.FindCertificate(device.certificate_id), nullptr);
}

TEST_F(RegistryAccountViewTest, JitpProvisionsOnFirstConnectAndNextConnectSucceeds) {
    const std::string template_body = sim::account::JitpTemplateBody(
        sim::account::JitpTemplatePolicy::FromDocument(kDevicePolicy));
    RegisterCa(true, true, template_body);
    const auto device = Device("thing-9");
    const auto first = core_.OnConnect(Input(device, "thing-9"), clock_.Now());
    EXPECT_EQ(first.action, ConnectAction::kCloseWithoutConnack) << first.reason;
    const auto* cert = registry_.FindCertificate(device.certificate_id);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(cert->status, sim::account::CertificateStatus::kActive);
    EXPECT_NE(registry_.FindThing("thing-9"), nullptr);
    clock_.Advance(2s);
    const auto second = core_.OnConnect(Input(device, "thing-9", 4, 2), clock_.Now());
    EXPECT_EQ(second.action, ConnectAction::kAccept) << second.reason;
    EXPECT_TRUE(core_.OnPublish("thing-9", "dt/thing-9/x", 1, false).allowed);
}

TEST_F(RegistryAccountViewTest, DeactivatingCertificateKicksItsSessionsAtTheNextTick) {
    const auto device = Device("thing-1");
    RegisterActive(device);
    ASSERT_EQ(core_.OnConnect(Input(device, "thing-1"), clock_.Now()).action,
              ConnectAction::kAccept);
    core_.TakeEffects(true);
    {
        std::lock_guard lock(mutex_);  // the control plane's side of the same registry
        ASSERT_TRUE(registry_.UpdateCertificate(device.certificate_id, "INACTIVE"));
    }
    core_.OnTick();
    EXPECT_EQ(core_.TakeEffects(true).kicks, std::vector<std::string>{"thing-1"});
    clock_.Advance(2s);
    EXPECT_EQ(core_.OnConnect(Input(device, "thing-1", 4, 2), clock_.Now()).action,
              ConnectAction::kCloseWithoutConnack);
}

TEST_F(RegistryAccountViewTest, PolicyDetachedFromLiveSessionAppliesAtOnce) {
    const auto device = Device("thing-1");
    RegisterActive(device);
    ASSERT_EQ(core_.OnConnect(Input(device, "thing-1", 5), clock_.Now()).action,
              ConnectAction::kAccept);
    EXPECT_TRUE(core_.OnReceive("thing-1", "dt/thing-1/a").allowed);
    {
        std::lock_guard lock(mutex_);
        const auto* cert = registry_.FindCertificate(device.certificate_id);
        ASSERT_TRUE(registry_.DetachPolicy("device", cert->certificate_arn));
    }
    EXPECT_FALSE(core_.OnReceive("thing-1", "dt/thing-1/a").allowed);
}

// The host's access (HostedAccount in the broker): Authorize reads under the shared path only,
// Identify writes through `run` after the before-authenticate hook, effects come from the
// owner's queue.
TEST_F(RegistryAccountViewTest, HostAccessAuthorizesThroughTheReadPathOnly) {
    RegisterCa(true, false);
    const auto device = Device("thing-9");
    RegisterActive(device);
    int runs = 0;
    int reads = 0;
    int hooks = 0;
    RegistryAccess access;
    access.run = [&](const std::function<void(sim::account::Registry&)>& work) {
        ++runs;
        work(registry_);
    };
    access.read = [&](const std::function<void(const sim::account::Registry&)>& work) {
        ++reads;
        work(registry_);
    };
    access.take_effects = [&] { return registry_.TakeEffects(); };
    access.before_authenticate = [&](sim::account::Registry&, const pki::CertificateInfo& info) {
        ++hooks;
        EXPECT_EQ(info.certificate_id, device.certificate_id);
    };
    RegistryAccountView view(std::move(access));
    sim::SeededRandom random(3);
    BrokerCore core(BrokerSettings{}, view, random);
    ASSERT_EQ(core.OnConnect(Input(device, "thing-9"), clock_.Now()).action,
              ConnectAction::kAccept);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(hooks, 1);
    const int reads_after_connect = reads;
    EXPECT_GE(reads_after_connect, 1);  // iot:Connect
    EXPECT_TRUE(core.OnPublish("thing-9", "dt/thing-9/x", 1, false).allowed);
    EXPECT_FALSE(core.OnPublish("thing-9", "dt/other/x", 1, false).allowed);
    EXPECT_EQ(runs, 1);
    // One read for the allowed publish; two for the denied one (its verdict, then its reason:
    // strict mode explains refusals only).
    EXPECT_EQ(reads, reads_after_connect + 3);
}

}  // namespace
}  // namespace sim::broker
