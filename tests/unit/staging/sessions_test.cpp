// SPDX-License-Identifier: Apache-2.0
// The staging rules for accepted connections: which client is a module or a claim-thing, the
// presence and claim records each event writes, and which record failures need no report.
#include "sim/staging/sessions.hpp"

#include <functional>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "staging_fixture.hpp"
#include <gtest/gtest.h>

#include "sim/staging/first_login.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/staging.hpp"

namespace sim::staging {
namespace {

using testing::BirthCertificate;
using testing::kStart;
using testing::MakeCa;
using testing::Must;
using testing::StagingFixture;

constexpr const char* kStagingHost = "stagingaaaaaaa-ats.iot.us-east-1.elsim.test";

template <class T>
T MustAws(account::AwsResult<T> result, const char* what) {
    if (!result) {
        throw std::runtime_error(std::string(what) + ": " + result.error().message);
    }
    return std::move(*result);
}

// A staging account with one staged module, one claim-thing, and a thing of no type that the
// module's certificate is also attached to.
struct Staged {
    Staged() {
        const auto birth = BirthCertificate(f.manufacturer);
        const auto plan = PlanFirstLogin(f.registry, birth, f.clock.Now());
        module_thing = MustAws(ApplyFirstLogin(f.registry, plan), "first login");
        module_certificate = birth.certificate_id;

        static const auto aws_ca = MakeCa("elsim emulated AWS IoT CA");
        pki::IssueSpec spec;
        spec.subject = pki::DistinguishedName{{{"CN", "AWS IoT Certificate"}}};
        spec.not_before = kStart - std::chrono::hours{1};
        spec.not_after = kStart + std::chrono::hours{24};
        const auto claim_pem =
            Must(aws_ca.Issue(spec, Must(pki::Key::Generate(pki::KeyType::kEcP256), "key")),
                 "issue")
                .pem;
        const auto record =
            MustAws(ApplyOemRegistration(
                        f.registry, Must(PlanOemRegistration("acme", claim_pem, f.random), "plan")),
                    "OEM registration");
        claim_thing = record.uuid;
        claim_certificate = record.certificate_id;

        account::CreateThingRequest plain;
        plain.thing_name = "plain-thing";
        MustAws(f.registry.CreateThing(plain), "create thing");
        const auto* cert = f.registry.FindCertificate(module_certificate);
        if (auto attached = f.registry.AttachThingPrincipal("plain-thing", cert->certificate_arn);
            !attached) {
            throw std::runtime_error("attach: " + attached.error().message);
        }
    }
    StagingFixture f;
    std::string module_thing;
    std::string module_certificate;
    std::string claim_thing;
    std::string claim_certificate;
};

Staged& World() {
    static Staged staged;
    return staged;
}

struct ClassifyCase {
    const char* name;
    // (certificate id, client id) from the staged account.
    std::function<std::pair<std::string, std::string>(const Staged&)> connection;
    SessionKind kind;
    std::function<std::string(const Staged&)> thing;  ///< Expected thing name.
};
std::ostream& operator<<(std::ostream& out, const ClassifyCase& c) { return out << c.name; }

class ClassifyConnectionTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyConnectionTest, KindFollowsTheThingType) {
    const auto& c = GetParam();
    const auto [certificate, client] = c.connection(World());
    const Session session = ClassifyConnection(World().f.registry, certificate, client);
    EXPECT_EQ(session.kind, c.kind) << ToString(session.kind);
    EXPECT_EQ(session.thing_name, c.thing(World()));
}

const auto kNoThing = [](const Staged&) { return std::string(); };

INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyConnectionTest,
    ::testing::Values(
        ClassifyCase{
            "Module",
            [](const Staged& s) { return std::make_pair(s.module_certificate, s.module_thing); },
            SessionKind::kModule, [](const Staged& s) { return s.module_thing; }},
        ClassifyCase{
            "ClaimThing",
            [](const Staged& s) { return std::make_pair(s.claim_certificate, s.claim_thing); },
            SessionKind::kClaimThing, [](const Staged& s) { return s.claim_thing; }},
        ClassifyCase{"ThingOfNoType",
                     [](const Staged& s) {
                         return std::make_pair(s.module_certificate, std::string("plain-thing"));
                     },
                     SessionKind::kOther, [](const Staged&) { return std::string("plain-thing"); }},
        ClassifyCase{"ModuleCertificateOtherClientId",
                     [](const Staged& s) {
                         return std::make_pair(s.module_certificate, std::string("someone"));
                     },
                     SessionKind::kOther, kNoThing},
        ClassifyCase{
            "ClaimCertificateAsModule",
            [](const Staged& s) { return std::make_pair(s.claim_certificate, s.module_thing); },
            SessionKind::kOther, kNoThing},
        ClassifyCase{
            "UnknownCertificate",
            [](const Staged& s) { return std::make_pair(std::string(64, 'a'), s.module_thing); },
            SessionKind::kOther, kNoThing},
        ClassifyCase{"EmptyCertificateAndClient",
                     [](const Staged&) { return std::make_pair(std::string(), std::string()); },
                     SessionKind::kOther, kNoThing},
        ClassifyCase{"GarbageIds",
                     [](const Staged&) {
                         return std::make_pair(std::string("\x01\xff/+#"), std::string("\n"));
                     },
                     SessionKind::kOther, kNoThing}),
    [](const ::testing::TestParamInfo<ClassifyCase>& p) { return std::string(p.param.name); });

// ---- SessionTable: one row = a sequence of events and what each returns ----------------------

enum class Event { kAccept, kDisconnect, kClaim };

struct Step {
    Event event = Event::kAccept;
    std::string client;
    Session session;      ///< kAccept: the session accepted.
    std::string payload;  ///< kClaim: the payload on the module's config topic.
    bool retain = false;  ///< kClaim.
    std::string topic;    ///< kClaim: empty = "<module>/expresslink_config".
    // Expected:
    std::optional<std::string> connected;  ///< Presence record "connected" value, if any.
    ClaimCheck check = ClaimCheck::kNotClaimThing;
    bool claim_record = false;
    std::size_t size_after = 0;
};

struct TableCase {
    const char* name;
    std::vector<Step> steps;
};
std::ostream& operator<<(std::ostream& out, const TableCase& c) { return out << c.name; }

const Session kModule{"4a5b6c7d8e9f00112233445566778899aa", SessionKind::kModule};
const Session kClaimer{"0f0e0d0c-1111-4222-8333-444455556666", SessionKind::kClaimThing};
const Session kOther{"plain-thing", SessionKind::kOther};
const Session kNone{};
const std::string kGoodClaim = R"({"Endpoint": "oem.example:8883"})";

Step Accept(const std::string& client, Session session, std::optional<std::string> connected,
            std::size_t size) {
    Step s;
    s.event = Event::kAccept;
    s.client = client;
    s.session = std::move(session);
    s.connected = std::move(connected);
    s.size_after = size;
    return s;
}
Step Disconnect(const std::string& client, std::optional<std::string> connected, std::size_t size) {
    Step s;
    s.event = Event::kDisconnect;
    s.client = client;
    s.connected = std::move(connected);
    s.size_after = size;
    return s;
}
Step Claim(const std::string& client, std::string payload, ClaimCheck check, std::size_t size,
           bool retain = false, std::string topic = "") {
    Step s;
    s.event = Event::kClaim;
    s.client = client;
    s.payload = std::move(payload);
    s.retain = retain;
    s.topic = std::move(topic);
    s.check = check;
    s.claim_record = check == ClaimCheck::kAccepted;
    s.size_after = size;
    return s;
}

class SessionTableTest : public ::testing::TestWithParam<TableCase> {};

TEST_P(SessionTableTest, EachEventReturnsItsRecord) {
    SessionTable table;
    ClaimRules rules;
    rules.staging_hosts = {kStagingHost};
    const TimePoint now{std::chrono::milliseconds{1'700'000'000'123}};
    for (std::size_t i = 0; i < GetParam().steps.size(); ++i) {
        const Step& step = GetParam().steps[i];
        SCOPED_TRACE("step " + std::to_string(i));
        switch (step.event) {
            case Event::kAccept:
            case Event::kDisconnect: {
                const auto record = step.event == Event::kAccept
                                        ? table.Accept(step.client, step.session, now)
                                        : table.Disconnect(step.client, now);
                ASSERT_EQ(record.has_value(), step.connected.has_value());
                if (record) {
                    EXPECT_TRUE(record->merge);
                    EXPECT_EQ(record->thing_name, kModule.thing_name);
                    EXPECT_EQ(record->attributes->at("connected"), *step.connected);
                    EXPECT_EQ(record->attributes->at(*step.connected == "true" ? "connectedAt"
                                                                               : "disconnectedAt"),
                              "1700000000123");
                }
                if (step.event == Event::kAccept) {
                    ASSERT_NE(table.Find(step.client), nullptr);
                    EXPECT_EQ(*table.Find(step.client), step.session);
                } else {
                    EXPECT_EQ(table.Find(step.client), nullptr);
                }
                break;
            }
            case Event::kClaim: {
                const std::string topic =
                    step.topic.empty() ? ConfigTopic(kModule.thing_name) : step.topic;
                const auto outcome =
                    table.CheckClaim(rules, step.client, topic, step.payload, step.retain, now);
                EXPECT_EQ(outcome.check, step.check);
                EXPECT_EQ(outcome.record.has_value(), step.claim_record);
                if (outcome.check == ClaimCheck::kRefused) {
                    EXPECT_EQ(outcome.reason.rfind("claim refused: ", 0), 0U) << outcome.reason;
                } else {
                    EXPECT_TRUE(outcome.reason.empty()) << outcome.reason;
                }
                if (outcome.record) {
                    EXPECT_EQ(outcome.record->thing_name, kModule.thing_name);
                    EXPECT_EQ(outcome.record->attributes->at("claimedBy"), kClaimer.thing_name);
                    EXPECT_EQ(outcome.record->attributes->at("claimedEndpoint"),
                              "oem.example:8883");
                    EXPECT_EQ(outcome.record->attributes->at("claimedAt"), "1700000000123");
                }
                break;
            }
        }
        EXPECT_EQ(table.size(), step.size_after);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SessionTableTest,
    ::testing::Values(
        TableCase{"ModuleConnectsAndLeaves",
                  {Accept("m", kModule, "true", 1), Disconnect("m", "false", 0),
                   Disconnect("m", std::nullopt, 0)}},
        TableCase{"ClaimThingAndOtherRecordNoPresence",
                  {Accept("c", kClaimer, std::nullopt, 1), Accept("o", kOther, std::nullopt, 2),
                   Accept("n", kNone, std::nullopt, 3), Disconnect("c", std::nullopt, 2),
                   Disconnect("o", std::nullopt, 1), Disconnect("n", std::nullopt, 0)}},
        TableCase{"UnknownClientDisconnects", {Disconnect("ghost", std::nullopt, 0)}},
        TableCase{
            "SameClientIdReplacesTheSession",
            {Accept("x", kClaimer, std::nullopt, 1), Accept("x", kModule, "true", 1),
             Claim("x", kGoodClaim, ClaimCheck::kNotClaimThing, 1), Disconnect("x", "false", 0)}},
        TableCase{"ClaimThingClaims",
                  {Accept("c", kClaimer, std::nullopt, 1),
                   Claim("c", kGoodClaim, ClaimCheck::kAccepted, 1)}},
        TableCase{"ClaimsOfOthersAreNotClaims",
                  {Accept("m", kModule, "true", 1), Accept("o", kOther, std::nullopt, 2),
                   Claim("m", kGoodClaim, ClaimCheck::kNotClaimThing, 2),
                   Claim("o", kGoodClaim, ClaimCheck::kNotClaimThing, 2),
                   Claim("ghost", kGoodClaim, ClaimCheck::kNotClaimThing, 2)}},
        TableCase{"ClaimThingAfterDisconnectIsNoClaimThing",
                  {Accept("c", kClaimer, std::nullopt, 1), Disconnect("c", std::nullopt, 0),
                   Claim("c", kGoodClaim, ClaimCheck::kNotClaimThing, 0)}},
        TableCase{"BadClaimsAreRefusedWithoutRecord",
                  {Accept("c", kClaimer, std::nullopt, 1),
                   Claim("c", "not json", ClaimCheck::kRefused, 1),
                   Claim("c", "", ClaimCheck::kRefused, 1),
                   Claim("c", R"({"Endpoint": ""})", ClaimCheck::kRefused, 1),
                   Claim("c", R"({"Endpoint": "oem.example:0"})", ClaimCheck::kRefused, 1),
                   Claim("c", std::string(R"({"Endpoint": ")") + kStagingHost + "\"}",
                         ClaimCheck::kRefused, 1),
                   Claim("c", kGoodClaim, ClaimCheck::kRefused, 1, /*retain=*/true),
                   Claim("c", kGoodClaim, ClaimCheck::kRefused, 1, false, "other/topic"),
                   Claim("c", kGoodClaim, ClaimCheck::kRefused, 1, false, "/expresslink_config"),
                   Claim("c", std::string(2000, ' ') + kGoodClaim, ClaimCheck::kRefused, 1)}}),
    [](const ::testing::TestParamInfo<TableCase>& p) { return std::string(p.param.name); });

struct FailureCase {
    const char* name;
    std::string type;
    bool expected;
};
std::ostream& operator<<(std::ostream& out, const FailureCase& c) { return out << c.name; }

class RecordFailureTest : public ::testing::TestWithParam<FailureCase> {};

TEST_P(RecordFailureTest, OnlyAMissingThingIsExcused) {
    account::AwsError error;
    error.type = GetParam().type;
    error.message = "m";
    EXPECT_EQ(IsExpectedRecordFailure(error), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RecordFailureTest,
    ::testing::Values(
        FailureCase{"ResourceNotFound", std::string(account::error_type::kResourceNotFound), true},
        FailureCase{"InvalidRequest", std::string(account::error_type::kInvalidRequest), false},
        FailureCase{"VersionConflict", std::string(account::error_type::kVersionConflict), false},
        FailureCase{"InternalFailure", std::string(account::error_type::kInternalFailure), false},
        FailureCase{"LowerCaseName", "resourcenotfoundexception", false},
        FailureCase{"Empty", "", false}),
    [](const ::testing::TestParamInfo<FailureCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace sim::staging
