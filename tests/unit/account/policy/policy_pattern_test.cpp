// SPDX-License-Identifier: Apache-2.0
// Wildcards and policy variables (AWS IoT Core Developer Guide, 'AWS IoT Core policy variables').
#include "sim/account/policy_pattern.hpp"

#include <ostream>
#include <string>

#include "policy_test_support.hpp"
#include <gtest/gtest.h>

namespace sim::account {
namespace {

struct WildcardCase {
    std::string pattern;
    std::string value;
    bool matches;
};

void PrintTo(const WildcardCase& c, std::ostream* os) { *os << c.pattern; }

class WildcardMatchTest : public ::testing::TestWithParam<WildcardCase> {};

TEST_P(WildcardMatchTest, MatchesLikeIamGlobs) {
    const WildcardCase& c = GetParam();
    EXPECT_EQ(WildcardMatch(c.pattern, c.value), c.matches)
        << "pattern=" << c.pattern << " value=" << c.value;
}

INSTANTIATE_TEST_SUITE_P(
    Table, WildcardMatchTest,
    ::testing::Values(
        WildcardCase{"", "", true}, WildcardCase{"", "a", false}, WildcardCase{"*", "", true},
        WildcardCase{"*", "anything/at/all", true}, WildcardCase{"a/b", "a/b", true},
        WildcardCase{"a/b", "a/B", false}, WildcardCase{"a/b", "a/b/", false},
        WildcardCase{"a/*", "a/", true}, WildcardCase{"a/*", "a/b/c/d", true},  // `*` crosses `/`
        WildcardCase{"a/*", "a", false}, WildcardCase{"*/c", "a/b/c", true},
        WildcardCase{"a?c", "abc", true}, WildcardCase{"a?c", "ac", false},
        WildcardCase{"a?c", "a/c", true},  // `?` is any one character, `/` included
        WildcardCase{"a??", "abcd", false}, WildcardCase{"?*", "", false},
        WildcardCase{"?*", "x", true},
        // MQTT wildcards are literal in policies (iot-policy-variables).
        WildcardCase{"a/+/c", "a/b/c", false}, WildcardCase{"a/+/c", "a/+/c", true},
        WildcardCase{"a/#", "a/b", false}, WildcardCase{"a/#", "a/#", true},
        WildcardCase{"*a*b*c", "xxaxxbxxc", true}, WildcardCase{"*a*b*c", "xxaxxcxxb", false},
        WildcardCase{"a*b*a", "abba", true}, WildcardCase{"a*a*a", "aa", false},
        WildcardCase{"**", "x", true}, WildcardCase{"a**b", "ab", true},
        WildcardCase{"$aws/things/*/shadow/*", "$aws/things/t1/shadow/get", true},
        WildcardCase{"arn:aws:iot:*:*:topic/x", "arn:aws:iot:us-east-1:1:topic/x", true},
        WildcardCase{"arn:aws:iot:*:*:topic/x", "arn:aws:iot:us-east-1:1:topic/y", false}));

// Adversarial patterns must not backtrack exponentially (a fuzz target will follow): this
// completes in microseconds with the last-star algorithm and would take ages with naive
// recursion. No timing assertion; the CTest TIMEOUT is the guard.
TEST(WildcardMatchTest, AdversarialPatternFinishes) {
    const std::string value(20000, 'a');
    std::string pattern;
    for (int i = 0; i < 200; ++i) {
        pattern += "*a";
    }
    EXPECT_FALSE(WildcardMatch(pattern + "b", value));
    EXPECT_TRUE(WildcardMatch(pattern + "*", value));
}

struct VariableCase {
    std::string name;
    std::string pattern;
    std::string expected;  ///< Substituted text.
    bool all_resolved;
};

void PrintTo(const VariableCase& c, std::ostream* os) { *os << c.name; }

class VariableSubstitutionTest : public ::testing::TestWithParam<VariableCase> {};

TEST_P(VariableSubstitutionTest, SubstitutesOrLeavesLiteral) {
    const VariableCase& c = GetParam();
    ClientIdentity identity = testing::ModuleIdentity();
    identity.subject.values["Title"] = {"a*b"};                     // wildcard: unresolvable
    identity.subject.values["Surname"] = {std::string(1025, 's')};  // too long: unresolvable
    identity.subject.values["Pseudonym"] = {"p1", "p2", "p3", "p4", "p5", "p6"};
    identity.thing->attributes["path"] = "x#y";
    const auto pattern = PolicyPattern::Compile(c.pattern, PolicyPattern::Variables::kSubstitute,
                                                PolicyPattern::Wildcards::kEnabled);
    const auto result = pattern.Substitute(identity);
    EXPECT_EQ(result.text, c.expected);
    EXPECT_EQ(result.all_resolved, c.all_resolved);
}

INSTANTIATE_TEST_SUITE_P(
    Table, VariableSubstitutionTest,
    ::testing::Values(
        VariableCase{"ClientId", "client/${iot:ClientId}", "client/0123456789abcdef", true},
        VariableCase{"ThingName", "topic/${iot:Connection.Thing.ThingName}/*",
                     "topic/0123456789abcdef/*", true},
        VariableCase{"ThingType", "${iot:Connection.Thing.ThingTypeName}", "ExpressLink", true},
        VariableCase{"ThingAttribute", "t/${iot:Connection.Thing.Attributes[oem]}", "t/acme", true},
        VariableCase{"ThingAttributeWithHashIsLiteral",
                     "t/${iot:Connection.Thing.Attributes[path]}", "t/x#y", true},
        VariableCase{"MissingThingAttribute", "t/${iot:Connection.Thing.Attributes[nope]}",
                     "t/${iot:Connection.Thing.Attributes[nope]}", false},
        VariableCase{"IsAttached", "${iot:Connection.Thing.IsAttached}", "true", true},
        VariableCase{"SubjectCommonName", "${iot:Certificate.Subject.CommonName}",
                     "0123456789abcdef", true},
        VariableCase{"SubjectFirstValue", "${iot:Certificate.Subject.Organization}", "Espressif",
                     true},
        VariableCase{"SubjectIndexOneIsSecond", "${iot:Certificate.Subject.Country.1}", "DE", true},
        VariableCase{"SubjectIndexTwo", "${iot:Certificate.Subject.Country.2}", "FR", true},
        VariableCase{"SubjectIndexMissing", "${iot:Certificate.Subject.Country.3}",
                     "${iot:Certificate.Subject.Country.3}", false},
        VariableCase{"SubjectIndexBeyondFiveIgnored", "${iot:Certificate.Subject.Pseudonym.5}",
                     "${iot:Certificate.Subject.Pseudonym.5}", false},
        VariableCase{"SubjectListNotInResource", "${iot:Certificate.Subject.Country.List}",
                     "${iot:Certificate.Subject.Country.List}", false},
        VariableCase{"SubjectValueWithWildcard", "${iot:Certificate.Subject.Title}",
                     "${iot:Certificate.Subject.Title}", false},
        VariableCase{"SubjectValueTooLong", "${iot:Certificate.Subject.Surname}",
                     "${iot:Certificate.Subject.Surname}", false},
        VariableCase{"SubjectAttributeAbsent", "${iot:Certificate.Subject.State}",
                     "${iot:Certificate.Subject.State}", false},
        VariableCase{"Issuer", "${iot:Certificate.Issuer.CommonName}", "Manufacturer CA", true},
        VariableCase{"SerialNumber", "s/${iot:Certificate.SerialNumber}", "s/1a2b3c", true},
        VariableCase{"CaseInsensitiveName", "${IOT:CLIENTID}", "0123456789abcdef", true},
        VariableCase{"UnknownVariable", "a/${iot:Nonsense}/b", "a/${iot:Nonsense}/b", false},
        VariableCase{"UnknownCertificateAttribute", "${iot:Certificate.Subject.Locality}",
                     "${iot:Certificate.Subject.Locality}", false},
        VariableCase{"EscapeStar", "a/${*}", "a/*", true},
        VariableCase{"EscapeQuestion", "a${?}", "a?", true},
        VariableCase{"EscapeDollar", "${$}{iot:ClientId}", "${iot:ClientId}", true},
        VariableCase{"UnterminatedIsLiteral", "a/${iot:ClientId", "a/${iot:ClientId", true},
        VariableCase{"DollarWithoutBraceIsLiteral", "$aws/things/x", "$aws/things/x", true},
        VariableCase{"Two", "${iot:ClientId}/${iot:Certificate.Issuer.CommonName}",
                     "0123456789abcdef/Manufacturer CA", true}),
    [](const auto& param_info) { return param_info.param.name; });

struct ThingVisibilityCase {
    std::string name;
    bool has_thing;
    bool attached;
    std::string thing_name_text;
    std::string is_attached_text;
};

void PrintTo(const ThingVisibilityCase& c, std::ostream* os) { *os << c.name; }

class ThingVisibilityTest : public ::testing::TestWithParam<ThingVisibilityCase> {};

TEST_P(ThingVisibilityTest, ThingVariablesNeedAnAttachedThing) {
    const ThingVisibilityCase& c = GetParam();
    ClientIdentity identity = testing::ModuleIdentity();
    if (!c.has_thing) {
        identity.thing.reset();
    } else {
        identity.thing->is_attached = c.attached;
    }
    const auto compile = [](std::string_view text) {
        return PolicyPattern::Compile(text, PolicyPattern::Variables::kSubstitute,
                                      PolicyPattern::Wildcards::kEnabled);
    };
    EXPECT_EQ(compile("${iot:Connection.Thing.ThingName}").Substitute(identity).text,
              c.thing_name_text);
    EXPECT_EQ(compile("${iot:Connection.Thing.IsAttached}").Substitute(identity).text,
              c.is_attached_text);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ThingVisibilityTest,
    ::testing::Values(ThingVisibilityCase{"Attached", true, true, "0123456789abcdef", "true"},
                      ThingVisibilityCase{"NotAttached", true, false,
                                          "${iot:Connection.Thing.ThingName}", "false"},
                      ThingVisibilityCase{"NoThing", false, false,
                                          "${iot:Connection.Thing.ThingName}", "false"}),
    [](const auto& param_info) { return param_info.param.name; });

// Substituted values are literal: a client ID with `*` does not widen a resource, and an
// unresolved variable matches nothing, not even its own `${...}` text.
struct LiteralValueCase {
    std::string name;
    std::string client_id;
    std::string pattern;
    std::string value;
    bool matches;
};

void PrintTo(const LiteralValueCase& c, std::ostream* os) { *os << c.name; }

class SubstitutedValueTest : public ::testing::TestWithParam<LiteralValueCase> {};

TEST_P(SubstitutedValueTest, SubstitutedTextIsLiteral) {
    const LiteralValueCase& c = GetParam();
    ClientIdentity identity = testing::ModuleIdentity();
    identity.client_id = c.client_id;
    const auto pattern = PolicyPattern::Compile(c.pattern, PolicyPattern::Variables::kSubstitute,
                                                PolicyPattern::Wildcards::kEnabled);
    EXPECT_EQ(pattern.Matches(c.value, identity), c.matches);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SubstitutedValueTest,
    ::testing::Values(
        LiteralValueCase{"StarClientIdIsLiteral", "*", "client/${iot:ClientId}", "client/abc",
                         false},
        LiteralValueCase{"StarClientIdMatchesItself", "*", "client/${iot:ClientId}", "client/*",
                         true},
        // basic-policy-variables: a client ID "+" yields the literal filter foo/+/bar.
        LiteralValueCase{"PlusClientIdInFilter", "+", "topicfilter/foo/${iot:ClientId}/bar",
                         "topicfilter/foo/+/bar", true},
        LiteralValueCase{"EmptyClientId", "", "client/${iot:ClientId}", "client/", true},
        LiteralValueCase{"UnresolvedNeverMatchesOwnText", "c",
                         "topic/${iot:Certificate.Subject.State}",
                         "topic/${iot:Certificate.Subject.State}", false},
        LiteralValueCase{"VariableThenWildcard", "c1", "topic/${iot:ClientId}/*", "topic/c1/a/b",
                         true},
        LiteralValueCase{"VariableThenWildcardOtherClient", "c1", "topic/${iot:ClientId}/*",
                         "topic/c2/a/b", false}),
    [](const auto& param_info) { return param_info.param.name; });

struct DnCase {
    std::string short_name;
    std::string aws_name;
};

void PrintTo(const DnCase& c, std::ostream* os) { *os << c.short_name; }

class CertificateAttributeNameTest : public ::testing::TestWithParam<DnCase> {};

TEST_P(CertificateAttributeNameTest, MapsOpenSslShortNames) {
    EXPECT_EQ(AwsCertificateAttributeName(GetParam().short_name), GetParam().aws_name);
}

INSTANTIATE_TEST_SUITE_P(Table, CertificateAttributeNameTest,
                         ::testing::Values(DnCase{"CN", "CommonName"}, DnCase{"O", "Organization"},
                                           DnCase{"OU", "OrganizationalUnit"},
                                           DnCase{"C", "Country"}, DnCase{"ST", "State"},
                                           DnCase{"serialNumber", "SerialNumber"},
                                           DnCase{"dnQualifier", "DistinguishedNameQualifier"},
                                           DnCase{"L", ""},  // AWS exposes no Locality variable
                                           DnCase{"cn", ""}, DnCase{"", ""}));

TEST(CertificateFieldsTest, KeepsOrderOfRepeatedAttributes) {
    const auto fields = CertificateFieldsFromEntries(
        {{"C", "US"}, {"O", "A"}, {"L", "Seattle"}, {"O", "B"}, {"CN", "x"}});
    EXPECT_EQ(fields.values.at("Organization"), (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(fields.values.at("CommonName"), (std::vector<std::string>{"x"}));
    EXPECT_EQ(fields.values.count("Locality"), 0U);
    EXPECT_EQ(fields.values.size(), 3U);
}

}  // namespace
}  // namespace sim::account
