// SPDX-License-Identifier: Apache-2.0
// DEFAULT-mode CA uniqueness across the accounts of one world (AWS IoT Core Developer Guide,
// 'Manage your CA certificates': "A CA certificate can be registered in DEFAULT mode by only one
// account in a Region", SNI_ONLY by several). Every account runs in its own mosquitto process, so
// the rule holds only through the world's shared slot directory (plugin_opt_shared_dir). The real
// AWS CLI is the client.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/profiles.hpp"
#include "sim/core/adapters.hpp"
#include "sim/testing/support.hpp"
#include "world_fixture.hpp"
#include "sim/world/world.hpp"

namespace sim::world {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using sim::testing::CommandResult;
using sim::testing::TempDir;

// Two OEM accounts on the world's leased addresses.
std::string TwoOemWorld() {
    return "region: us-east-1\naccounts:\n" +
           sim::testing::WorldAccountLines({{"oem-a", "oem"}, {"oem-b", "oem"}});
}

class DefaultModeCaTest : public ::testing::Test {
protected:
    void SetUp() override {
        sim::testing::WriteTextFile(dir_.path() / "world.yaml", TwoOemWorld());
        options_ =
            sim::testing::TestWorldOptions(dir_.path() / "world.yaml", dir_.path() / "world");
        const auto now = std::chrono::system_clock::now();
        auto key = pki::Key::Generate(pki::KeyType::kEcP256);
        ASSERT_TRUE(key);
        auto ca = pki::CertificateAuthority::CreateRoot(
            pki::RootCaSpec(pki::DistinguishedName{{{"O", "Widgets"}, {"CN", "Widgets Device CA"}}},
                            now, pki::Days{30}),
            *key);
        ASSERT_TRUE(ca) << ca.error().message;
        ca_ = std::make_unique<pki::CertificateAuthority>(std::move(*ca));
        ca_file_ = dir_.path() / "ca.pem";
        sim::testing::WriteTextFile(ca_file_, ca_->pem());
    }

    void TearDown() override {
        if (up_) {
            (void)WorldDown(options_.directory);
        }
    }

    void Up() {
        const auto up = WorldUp(options_);
        ASSERT_TRUE(up) << up.error().message;
        up_ = true;
        auto state = ReadWorld(options_.directory);
        ASSERT_TRUE(state) << state.error().message;
        ASSERT_EQ(state->accounts.size(), 2U);
        state_ = *state;
    }

    void Down() {
        ASSERT_TRUE(WorldDown(options_.directory));
        up_ = false;
    }

    const AccountState& Account(const std::string& name) const {
        return state_.accounts[name == "oem-a" ? 0 : 1];
    }

    // The real AWS CLI against `account`'s control plane (world.json's controlPlaneUrl).
    CommandResult Aws(const std::string& account, const std::vector<std::string>& args) {
        const auto& a = Account(account);
        return sim::testing::RunAwsIot(a.account_id, a.control_plane_url, args);
    }

    // RegisterCACertificate of the test CA in DEFAULT mode: a verification certificate whose CN
    // is `account`'s registration code, signed by the CA ('Register your CA certificate').
    CommandResult RegisterDefault(const std::string& account) {
        const auto code = Aws(account, {"get-registration-code"});
        EXPECT_EQ(code.exit_code, 0) << code.output;
        const auto parsed = json::parse(code.output, nullptr, false);
        const std::string registration_code =
            parsed.is_object() ? parsed.value("registrationCode", "") : "";
        const auto now = std::chrono::system_clock::now();
        auto spec = pki::VerificationSpec(registration_code, now, pki::Days{1});
        EXPECT_TRUE(spec) << (spec ? "" : spec.error().message);
        auto key = pki::Key::Generate(pki::KeyType::kEcP256);
        auto verification = ca_->Issue(*spec, *key);
        EXPECT_TRUE(verification);
        const fs::path file = dir_.path() / ("verification-" + account + ".pem");
        sim::testing::WriteTextFile(file, verification->pem);
        return Aws(account,
                   {"register-ca-certificate", "--ca-certificate", "file://" + ca_file_.string(),
                    "--verification-certificate", "file://" + file.string(), "--set-as-active"});
    }

    CommandResult RegisterSniOnly(const std::string& account, const fs::path& ca_file) {
        return Aws(account, {"register-ca-certificate", "--ca-certificate",
                             "file://" + ca_file.string(), "--certificate-mode", "SNI_ONLY"});
    }

    // The CA ids `account` lists (ListCACertificates).
    std::vector<std::string> ListCas(const std::string& account) {
        const auto listed = Aws(account, {"list-ca-certificates"});
        EXPECT_EQ(listed.exit_code, 0) << listed.output;
        std::vector<std::string> out;
        const auto parsed = json::parse(listed.output, nullptr, false);
        if (parsed.is_object() && parsed.contains("certificates")) {
            for (const auto& ca : parsed["certificates"]) {
                out.push_back(ca.value("certificateId", ""));
            }
        }
        return out;
    }

    // The owner recorded in the world's slot for the test CA ("" when free).
    std::string SlotOwner() const {
        const fs::path slot = options_.directory / "shared" / "default-mode-cas" /
                              ("us-east-1." + ca_->info().certificate_id);
        auto text = sim::ReadFile(slot);
        return text ? text->substr(0, text->find('\n')) : "";
    }

    static void ExpectRefusedAsTaken(const CommandResult& result) {
        EXPECT_NE(result.exit_code, 0) << result.output;
        // The registry's error (AWS does not document the name; Assumed there).
        EXPECT_NE(result.output.find("ResourceAlreadyExistsException"), std::string::npos)
            << result.output;
        EXPECT_NE(result.output.find("DEFAULT mode by another account"), std::string::npos)
            << result.output;
    }

    TempDir dir_;
    UpOptions options_;
    WorldState state_;
    bool up_ = false;
    std::unique_ptr<pki::CertificateAuthority> ca_;
    fs::path ca_file_;
};

TEST_F(DefaultModeCaTest, OneAccountPerRegionInDefaultModeManyInSniOnlyAcrossRestarts) {
    ASSERT_NO_FATAL_FAILURE(Up());
    const std::string ca_id = ca_->info().certificate_id;

    // oem-a takes the CA in DEFAULT mode; oem-b is refused and its registry is unchanged.
    const auto a_default = RegisterDefault("oem-a");
    ASSERT_EQ(a_default.exit_code, 0) << a_default.output;
    EXPECT_EQ(SlotOwner(), Account("oem-a").account_id);
    ExpectRefusedAsTaken(RegisterDefault("oem-b"));
    EXPECT_TRUE(ListCas("oem-b").empty());

    // SNI_ONLY: the same CA in oem-b, and a second CA in both accounts.
    const auto b_sni = RegisterSniOnly("oem-b", ca_file_);
    EXPECT_EQ(b_sni.exit_code, 0) << b_sni.output;
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    auto second = pki::CertificateAuthority::CreateRoot(
        pki::RootCaSpec(pki::DistinguishedName{{{"CN", "Gadgets Device CA"}}},
                        std::chrono::system_clock::now(), pki::Days{30}),
        *key);
    ASSERT_TRUE(second);
    const fs::path second_file = dir_.path() / "second-ca.pem";
    sim::testing::WriteTextFile(second_file, second->pem());
    for (const char* account : {"oem-a", "oem-b"}) {
        const auto sni = RegisterSniOnly(account, second_file);
        EXPECT_EQ(sni.exit_code, 0) << account << ": " << sni.output;
    }
    // SNI_ONLY registrations take no slot.
    EXPECT_EQ(SlotOwner(), Account("oem-a").account_id);

    // The slot survives `world down` / `world up` in the same directory.
    ASSERT_NO_FATAL_FAILURE(Down());
    ASSERT_NO_FATAL_FAILURE(Up());
    EXPECT_EQ(SlotOwner(), Account("oem-a").account_id);
    // oem-b deletes its SNI_ONLY registration (INACTIVE, as registered): oem-a's slot stays.
    const auto b_deleted = Aws("oem-b", {"delete-ca-certificate", "--certificate-id", ca_id});
    ASSERT_EQ(b_deleted.exit_code, 0) << b_deleted.output;
    ExpectRefusedAsTaken(RegisterDefault("oem-b"));
    EXPECT_EQ(SlotOwner(), Account("oem-a").account_id);

    // oem-a deletes its DEFAULT CA (INACTIVE first): the slot is free, oem-b takes it, and now
    // oem-a is the one refused.
    ASSERT_EQ(Aws("oem-a",
                  {"update-ca-certificate", "--certificate-id", ca_id, "--new-status", "INACTIVE"})
                  .exit_code,
              0);
    const auto deleted = Aws("oem-a", {"delete-ca-certificate", "--certificate-id", ca_id});
    ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
    EXPECT_EQ(SlotOwner(), "");
    const auto b_default = RegisterDefault("oem-b");
    ASSERT_EQ(b_default.exit_code, 0) << b_default.output;
    EXPECT_EQ(SlotOwner(), Account("oem-b").account_id);
    ExpectRefusedAsTaken(RegisterDefault("oem-a"));
    const auto described = Aws("oem-b", {"describe-ca-certificate", "--certificate-id", ca_id});
    ASSERT_EQ(described.exit_code, 0) << described.output;
    const auto description = json::parse(described.output, nullptr, false);
    ASSERT_TRUE(description.is_object()) << described.output;
    EXPECT_EQ(description["certificateDescription"].value("certificateMode", ""), "DEFAULT");
}

TEST_F(DefaultModeCaTest, StaleSlotOfTheAccountItselfIsFreedAtStart) {
    // A crash between the claim and the registry's commit leaves a slot the account holds for
    // a CA it does not have: the broker frees it when it starts.
    const fs::path slots = options_.directory / "shared" / "default-mode-cas";
    ASSERT_NO_FATAL_FAILURE(Up());
    const std::string a_id = Account("oem-a").account_id;
    ASSERT_NO_FATAL_FAILURE(Down());
    sim::testing::WriteTextFile(slots / ("us-east-1." + ca_->info().certificate_id), a_id + "\n");
    // A slot of an account outside this world is nobody's here to free.
    const fs::path foreign = slots / ("us-east-1." + std::string(64, 'b'));
    sim::testing::WriteTextFile(foreign, "999999999999\n");
    ASSERT_NO_FATAL_FAILURE(Up());
    EXPECT_EQ(SlotOwner(), "");
    EXPECT_EQ(sim::ReadFile(foreign).value_or(""), "999999999999\n");
    const auto b_default = RegisterDefault("oem-b");
    EXPECT_EQ(b_default.exit_code, 0) << b_default.output;
    EXPECT_EQ(SlotOwner(), Account("oem-b").account_id);
}

}  // namespace
}  // namespace sim::world
