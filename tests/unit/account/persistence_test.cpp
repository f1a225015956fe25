// SPDX-License-Identifier: Apache-2.0
// Persistence: the change rows of successful operations, replayed into a key-value store the
// way the SQLite adapter does, rebuild an identical registry; bad rows are refused whole.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "account_fixture.hpp"
#include <gtest/gtest.h>

#include "sim/account/registry.hpp"

namespace sim::account {
namespace {

using testing::Account;
using testing::CaseName;
using testing::IssueLeaf;
using testing::kAllowAllPolicy;
using testing::kRoleArn;
using testing::MakeCa;

/// What the SQLite adapter keeps: one row per (kind, key).
using Store = std::map<std::pair<std::string, std::string>, nlohmann::json>;

void Apply(Store& store, const std::vector<Change>& changes) {
    for (const auto& change : changes) {
        if (change.value) {
            store[{change.kind, change.key}] = *change.value;
        } else {
            store.erase({change.kind, change.key});
        }
    }
}

std::vector<Change> Rows(const Store& store) {
    std::vector<Change> rows;
    for (const auto& [key, value] : store) {
        rows.push_back(Change{key.first, key.second, value});
    }
    return rows;
}

/// Drives one registry through every entity kind, persisting after each operation.
void Populate(Account& account, Store& store) {
    auto& r = account.registry;
    auto step = [&](bool ok) {
        ASSERT_TRUE(ok);
        Apply(store, r.TakeChanges());
    };
    step(r.GetRegistrationCode().has_value());
    step(r.UpdateEventConfigurations({{"THING", true}}).has_value());
    const auto ca = MakeCa("Root");
    RegisterCaCertificateRequest ca_request;
    ca_request.ca_certificate = ca.pem();
    ca_request.verification_certificate = IssueLeaf(ca, *r.GetRegistrationCode()).pem;
    ca_request.set_as_active = true;
    ca_request.allow_auto_registration = true;
    ca_request.registration_config = RegistrationConfig{R"({"Resources":{}})", kRoleArn, {}};
    step(r.RegisterCACertificate(ca_request).has_value());
    const auto leaf = IssueLeaf(ca, "device");
    step(r.RegisterCertificate({leaf.pem, {}, "ACTIVE", false}).has_value());
    const auto doomed = IssueLeaf(ca, "doomed");
    step(r.RegisterCertificate({doomed.pem, {}, {}, false}).has_value());
    step(r.CreateThingType({"Sensor", "a type", {"serial"}}).has_value());
    step(r.CreateThing({"dev-1", "Sensor", std::map<std::string, std::string>{{"serial", "1"}}, {}})
             .has_value());
    step(r.UpdateThing(
              {"dev-1", {}, false, std::map<std::string, std::string>{{"x", "y"}}, true, {}})
             .has_value());
    step(r.CreateThing({"gone", {}, {}, {}}).has_value());
    step(r.DeleteThing("gone", std::nullopt).has_value());
    step(r.CreatePolicy("P", kAllowAllPolicy).has_value());
    step(r.CreatePolicyVersion("P", kAllowAllPolicy, true).has_value());
    const std::string arn = account.CertArn(leaf.certificate_id);
    step(r.AttachPolicy("P", arn).has_value());
    step(r.AttachThingPrincipal("dev-1", arn, "EXCLUSIVE_THING").has_value());
    step(r.DeleteCertificate(doomed.certificate_id, false).has_value());
    step(r.CreateProvisioningTemplate(
              {"fleet",
               "desc",
               R"({"Resources":{}})",
               true,
               kRoleArn,
               PreProvisioningHook{"2020-04-01", "arn:aws:lambda:us-east-1:1:function:h"},
               {}})
             .has_value());
    step(r.CreateProvisioningTemplateVersion("fleet", R"({"Resources":{},"Mappings":{}})", false)
             .has_value());
    const auto issued = IssueLeaf(MakeCa("Service"), "AWS IoT Certificate");
    step(r.FleetCreateCertificate({issued, "c/d"}).has_value());
    const auto claim = IssueLeaf(MakeCa("Service"), "claim");
    step(r.CreateProvisioningClaim({"fleet", claim}).has_value());
}

TEST(PersistenceTest, ChangeRowsRebuildAnIdenticalRegistry) {
    Account original;
    Store store;
    Populate(original, store);
    EXPECT_EQ(store.count({"thing", "gone"}), 0U);  // deleted rows are gone
    Account restored;
    ASSERT_TRUE(restored.registry.Load(Rows(store)).has_value());
    EXPECT_EQ(restored.registry.Snapshot(), original.registry.Snapshot());
    EXPECT_TRUE(restored.registry.TakeChanges().empty());
    // The restored registry behaves like the original.
    EXPECT_EQ(*restored.registry.GetRegistrationCode(), *original.registry.GetRegistrationCode());
    EXPECT_EQ(restored.registry.FindThing("dev-1")->version, 2);
    EXPECT_EQ(restored.registry.GetPolicy("P")->default_version_id, "2");
    EXPECT_EQ(restored.registry.DescribeProvisioningTemplate("fleet")->versions.size(), 2U);
}

TEST(PersistenceTest, SnapshotRoundTripsToo) {
    Account original;
    Store ignored;
    Populate(original, ignored);
    Account restored;
    ASSERT_TRUE(restored.registry.Load(original.registry.Snapshot()).has_value());
    EXPECT_EQ(restored.registry.Snapshot(), original.registry.Snapshot());
}

TEST(PersistenceTest, LoadNeedsAnEmptyRegistry) {
    Account account;
    ASSERT_TRUE(account.registry.CreateThing({"t", {}, {}, {}}).has_value());
    EXPECT_FALSE(account.registry.Load({}).has_value());
}

struct BadRowCase {
    std::string name;
    Change row;
};
class LoadBadRowTest : public ::testing::TestWithParam<BadRowCase> {};
TEST_P(LoadBadRowTest, RefusesAndStaysEmpty) {
    Account original;
    Store store;
    Populate(original, store);
    auto rows = Rows(store);
    rows.push_back(GetParam().row);
    Account restored;
    const auto loaded = restored.registry.Load(rows);
    ASSERT_FALSE(loaded.has_value());
    EXPECT_NE(loaded.error().message.find(GetParam().row.kind), std::string::npos)
        << loaded.error().message;
    EXPECT_EQ(restored.registry.Snapshot(), Account().registry.Snapshot());
}
INSTANTIATE_TEST_SUITE_P(
    Table, LoadBadRowTest,
    ::testing::Values(
        BadRowCase{"UnknownKind", Change{"gadget", "x", nlohmann::json::object()}},
        BadRowCase{"ThingMissingMembers", Change{"thing", "t2", nlohmann::json::object()}},
        BadRowCase{"ThingBadName", Change{"thing", "bad name",
                                          nlohmann::json{{"thingId", "i"},
                                                         {"attributes", nlohmann::json::object()},
                                                         {"version", 1}}}},
        BadRowCase{"CertificateGarbagePem", Change{"certificate", std::string(64, 'a'),
                                                   nlohmann::json{{"certificatePem", "garbage"}}}},
        BadRowCase{"PolicyTargetWithoutSeparator",
                   Change{"policy_target", "no-newline", nlohmann::json::object()}},
        BadRowCase{"TemplateBadType",
                   Change{"template", "t2", nlohmann::json{{"type", "OTHER"}, {"enabled", true}}}},
        BadRowCase{"CodeWrongType",
                   Change{"registration_code", "", nlohmann::json{{"registrationCode", 5}}}}),
    CaseName{});

TEST(PersistenceTest, CertificateRowKeyMustMatchItsPem) {
    Account original;
    Store store;
    Populate(original, store);
    auto rows = Rows(store);
    for (auto& row : rows) {
        if (row.kind == "certificate") {
            row.key = std::string(64, 'f');
            break;
        }
    }
    Account restored;
    EXPECT_FALSE(restored.registry.Load(rows).has_value());
}

}  // namespace
}  // namespace sim::account
