// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/html_report.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sim::scenario {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;

constexpr const char* kHostile = "<script>alert(\"x&y\")</script>'";
constexpr const char* kHostileEscaped =
    "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;";

TimelineEntry E(int ms, std::string participant, EntryKind kind, std::string text) {
    return TimelineEntry{milliseconds(ms), std::move(participant), kind, std::move(text)};
}

ScenarioResult Passed() {
    ScenarioResult result;
    result.id = "claim/happy";
    result.file = "scenarios/claim/happy.yaml";
    result.duration = milliseconds(1'500);
    result.seed = 7;
    result.timeline = {E(0, "runner", EntryKind::kNote, "scenario claim/happy"),
                       E(10, "runner", EntryKind::kStepStart, "login"),
                       E(11, "m1", EntryKind::kAtSend, "AT+CONNECT"),
                       E(30, "m1", EntryKind::kAtAnswer, "OK 1 CONNECTED"),
                       E(31, "runner", EntryKind::kStepPass, "login"),
                       E(40, "m1", EntryKind::kEvent, "OK 2 0 STARTUP"),
                       E(50, "portal", EntryKind::kCall, "oem-a ListThings {}"),
                       E(52, "oem-a", EntryKind::kReply, "ListThings -> {\"things\":[]}"),
                       E(60, "staging", EntryKind::kBrokerLog, "New client connected")};
    return result;
}

ScenarioResult Failed() {
    ScenarioResult result;
    result.id = "misrouted/row04";
    result.file = "scenarios/misrouted/row04.yaml";
    result.outcome = Outcome::kFail;
    result.duration = milliseconds(6'000);
    result.failure = StepFailure{
        "OEM connect", 12,
        "expected \"OK 1 CONNECTED\", observed \"ERR14 4 UNABLE TO CONNECT\" (oem-b says: "
        "unknown CA)"};
    result.timeline = {
        E(0, "runner", EntryKind::kStepStart, "OEM connect"),
        E(10, "m1", EntryKind::kAtSend, "AT+CONNECT"),
        E(20, "oem-b", EntryKind::kRefusal, "elsim[oem-b]: decision=deny reason=unknown CA"),
        E(1'000, "m1", EntryKind::kAtAnswer, "ERR14 4 UNABLE TO CONNECT"),
        E(1'001, "runner", EntryKind::kStepFail,
          "OEM connect: expected \"OK 1 CONNECTED\", observed \"ERR14 4 UNABLE TO CONNECT\" "
          "(oem-b says: unknown CA)")};
    return result;
}

// ---- Escaping ----------------------------------------------------------------------------------

struct EscapeCase {
    std::string input;
    std::string expected;
};

class HtmlEscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(HtmlEscapeTest, Escapes) { EXPECT_EQ(HtmlEscape(GetParam().input), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    Cases, HtmlEscapeTest,
    ::testing::Values(EscapeCase{"plain", "plain"}, EscapeCase{"a&b", "a&amp;b"},
                      EscapeCase{"<b>", "&lt;b&gt;"}, EscapeCase{"\"'", "&quot;&#39;"},
                      EscapeCase{kHostile, kHostileEscaped},
                      EscapeCase{"tab\tline\n", "tab\tline\n"},
                      EscapeCase{std::string("nul\0bell\a", 9), "nulbell"},
                      EscapeCase{"caf\xc3\xa9", "caf\xc3\xa9"},        // UTF-8 kept
                      EscapeCase{"bad\xff\xfe!", "bad!"},               // malformed dropped
                      EscapeCase{"over\xc0\xaflong", "overlong"},       // overlong '/'
                      EscapeCase{"c1\xc2\x85x", "c1x"}));               // C1 control

// Every text a page shows comes from a result; none reaches the page unescaped.
TEST(HtmlReportTest, EveryTextIsEscaped) {
    ScenarioResult result = Failed();
    result.id = std::string("misrouted/") + kHostile;
    result.file = kHostile;
    result.kept_world = kHostile;
    result.failure = StepFailure{kHostile, 3, std::string("expected ") + kHostile +
                                                  ", observed " + kHostile};
    result.timeline.clear();
    for (const auto kind : {EntryKind::kNote, EntryKind::kAtSend, EntryKind::kAtAnswer,
                            EntryKind::kEvent, EntryKind::kMqtt, EntryKind::kRefusal,
                            EntryKind::kClaim, EntryKind::kCall, EntryKind::kReply,
                            EntryKind::kRegistry, EntryKind::kBrokerLog, EntryKind::kStepStart,
                            EntryKind::kStepFail}) {
        result.timeline.push_back(E(5, kHostile, kind, kHostile));
    }
    const auto files = HtmlReport({result}, milliseconds(1), 1);
    ASSERT_GE(files.size(), 2U);
    for (const auto& file : files) {
        if (file.path.size() < 5 || file.path.substr(file.path.size() - 5) != ".html") {
            continue;
        }
        EXPECT_THAT(file.content, Not(HasSubstr("<script>alert"))) << file.path;
        EXPECT_THAT(file.content, Not(HasSubstr("\"x&y\""))) << file.path;
        EXPECT_THAT(file.content, HasSubstr(kHostileEscaped)) << file.path;
    }
}

TEST(HtmlReportTest, PathsStayInsideTheReport) {
    ScenarioResult result = Passed();
    result.id = "../../etc/passwd";
    for (const auto& file : HtmlReport({result}, milliseconds(1), 1)) {
        EXPECT_THAT(file.path, Not(HasSubstr(".."))) << file.path;
        EXPECT_NE(file.path.front(), '/') << file.path;
    }
}

// ---- Pages -------------------------------------------------------------------------------------

TEST(HtmlReportTest, LayoutIsIndexPagesAndTranscripts) {
    const auto files = HtmlReport({Passed(), Failed()}, milliseconds(7'500), 42);
    std::vector<std::string> paths;
    for (const auto& file : files) {
        paths.push_back(file.path);
    }
    EXPECT_THAT(paths, ::testing::ElementsAre("index.html", "claim/happy.html",
                                              "claim/happy.m1.serial.log", "misrouted/row04.html",
                                              "misrouted/row04.m1.serial.log"));
}

TEST(HtmlReportTest, IndexListsEveryScenarioWithFilters) {
    const auto index = HtmlIndex({Passed(), Failed()}, milliseconds(7'500), 42);
    EXPECT_THAT(index, HasSubstr("2 scenarios: 1 passed, 1 failed, 0 errors in 7.5 s (seed 42)"));
    EXPECT_THAT(index, HasSubstr("data-status=\"PASS\" data-id=\"claim/happy\""));
    EXPECT_THAT(index, HasSubstr("href=\"claim/happy.html\""));
    EXPECT_THAT(index, HasSubstr("href=\"misrouted/row04.html#failed\""));
    EXPECT_THAT(index, HasSubstr("<td>misrouted</td><td class=\"d\">6.0 s</td>"));
    EXPECT_THAT(index, HasSubstr("id=\"q\""));
    EXPECT_THAT(index, HasSubstr("id=\"st\""));
}

TEST(HtmlReportTest, NothingIsFetched) {
    for (const auto& page : {HtmlIndex({Passed()}, milliseconds(1), 1), HtmlScenarioPage(Failed())}) {
        EXPECT_THAT(page, HasSubstr("Content-Security-Policy\" content=\"default-src 'none'"));
        EXPECT_THAT(page, Not(HasSubstr("http://")));
        EXPECT_THAT(page, Not(HasSubstr("https://")));
        EXPECT_THAT(page, Not(HasSubstr("src=\"")));
    }
}

TEST(HtmlReportTest, FailedStepIsMarkedWithExpectedObservedAndReason) {
    const auto page = HtmlScenarioPage(Failed());
    EXPECT_THAT(page, HasSubstr("id=\"failed\""));
    EXPECT_EQ(page.find("id=\"failed\""), page.rfind("id=\"failed\""));  // once
    EXPECT_THAT(page, HasSubstr("in step <b>OEM connect</b> (line 12)"));
    EXPECT_THAT(page, HasSubstr("<dt>Expected</dt><dd class=\"mono\">&quot;OK 1 CONNECTED&quot;"));
    EXPECT_THAT(page, HasSubstr("<dt>Observed</dt><dd class=\"mono\">&quot;ERR14 4 UNABLE TO "
                                "CONNECT&quot;</dd>"));
    EXPECT_THAT(page, HasSubstr("<dt>Reason</dt><dd class=\"mono\">oem-b says: unknown CA</dd>"));
    // The refusal recorded during the step is in the banner too.
    EXPECT_THAT(page, HasSubstr("<dt>oem-b refused</dt>"));
    // The step's rows are marked; the page scrolls to the failed row.
    EXPECT_THAT(page, HasSubstr("infail"));
    EXPECT_THAT(page, HasSubstr("scrollIntoView"));
}

TEST(HtmlReportTest, FailureWithoutStepEntryStillHasAFailedRow) {
    ScenarioResult result = Passed();
    result.outcome = Outcome::kError;
    result.failure = StepFailure{"set-up", 0, "the scenario's timeout (60 s) passed"};
    const auto page = HtmlScenarioPage(result);
    EXPECT_THAT(page, HasSubstr("id=\"failed\""));
    EXPECT_THAT(page, HasSubstr("the scenario&#39;s timeout (60 s) passed"));
}

TEST(HtmlReportTest, PassedPageHasNoFailure) {
    const auto page = HtmlScenarioPage(Passed());
    EXPECT_THAT(page, Not(HasSubstr("id=\"failed\"")));
    EXPECT_THAT(page, HasSubstr("&#10003; passed in 21 ms"));
}

TEST(HtmlReportTest, SkippedStepIsABandWithItsReason) {
    ScenarioResult result = Passed();
    result.timeline.push_back(E(70, "runner", EntryKind::kStepSkip,
                                "power cycle: software-only: <linked>"));
    const auto page = HtmlScenarioPage(result);
    EXPECT_THAT(page, HasSubstr("skipped: power cycle: software-only: &lt;linked&gt;"));
}

TEST(HtmlReportTest, LifelinesAreRunnerModulesActorsAccounts) {
    const auto page = HtmlScenarioPage(Passed());
    const auto at = [&](const char* name) {
        return page.find(std::string("class=\"p\" data-p=\"") + name + "\"");
    };
    ASSERT_NE(at("runner"), std::string::npos);
    EXPECT_LT(at("runner"), at("m1"));
    EXPECT_LT(at("m1"), at("portal"));
    EXPECT_LT(at("portal"), at("oem-a"));
    EXPECT_LT(at("oem-a"), at("staging"));
    EXPECT_THAT(page, HasSubstr("--n:5"));
    // The module's transcript is linked from its lifeline.
    EXPECT_THAT(page, HasSubstr("download href=\"../claim/happy.m1.serial.log\""));
}

TEST(HtmlReportTest, AtLinesAndCallsAreArrows) {
    const auto page = HtmlScenarioPage(Passed());
    // runner (column 0) -> m1 (column 1) of 5: from 10% to 30%.
    EXPECT_THAT(page, HasSubstr("<div class=\"a rt\" style=\"margin-left:10%;width:20%\">"
                                "<span class=\"l\">AT+CONNECT</span>"));
    EXPECT_THAT(page, HasSubstr("<div class=\"a lt\" style=\"margin-left:10%;width:20%\">"
                                "<span class=\"l\">OK 1 CONNECTED</span>"));
    // portal (2) -> oem-a (3), and the reply back to the caller.
    EXPECT_THAT(page, HasSubstr("<div class=\"a rt\" style=\"margin-left:50%;width:20%\">"
                                "<span class=\"l\">ListThings {}</span>"));
    EXPECT_THAT(page, HasSubstr("<div class=\"a lt\" style=\"margin-left:50%;width:20%\">"
                                "<span class=\"l\">ListThings -&gt; {&quot;things&quot;:[]}"));
}

// ---- Collapsing --------------------------------------------------------------------------------

TEST(CollapseRepeatsTest, RunsOfABlockBecomeOne) {
    std::vector<TimelineEntry> entries = {E(0, "runner", EntryKind::kStepStart, "retry")};
    for (int i = 0; i < 5; ++i) {
        entries.push_back(E(100 + 250 * i, "m1", EntryKind::kAtSend, "AT+CONNECT"));
        entries.push_back(E(101 + 250 * i, "m1", EntryKind::kAtAnswer,
                            "ERR14 1 UNABLE TO CONNECT Back-off in progress"));
    }
    entries.push_back(E(2'000, "m1", EntryKind::kAtSend, "AT+CONNECT"));
    entries.push_back(E(3'000, "m1", EntryKind::kAtAnswer, "OK 1 CONNECTED"));
    const auto runs = CollapseRepeats(entries);
    ASSERT_EQ(runs.size(), 4U);
    EXPECT_EQ(runs[0].repeats, 1U);
    EXPECT_EQ(runs[1].first, 1U);
    EXPECT_EQ(runs[1].period, 2U);
    EXPECT_EQ(runs[1].repeats, 5U);
    EXPECT_EQ(runs[2].first, 11U);
    EXPECT_EQ(runs[3].first, 12U);
}

TEST(CollapseRepeatsTest, SingleLinesAndStepsAndDifferences) {
    const std::vector<TimelineEntry> entries = {
        E(0, "a", EntryKind::kBrokerLog, "x"), E(1, "a", EntryKind::kBrokerLog, "x"),
        E(2, "a", EntryKind::kBrokerLog, "x"), E(3, "b", EntryKind::kBrokerLog, "x"),
        E(4, "runner", EntryKind::kStepStart, "s"), E(5, "runner", EntryKind::kStepStart, "s")};
    const auto runs = CollapseRepeats(entries);
    ASSERT_EQ(runs.size(), 4U);
    EXPECT_EQ(runs[0].period, 1U);
    EXPECT_EQ(runs[0].repeats, 3U);
    EXPECT_EQ(runs[1].first, 3U);  // another participant: not the same line
    EXPECT_EQ(runs[2].repeats, 1U);  // steps are never collapsed
    EXPECT_EQ(runs[3].repeats, 1U);
    EXPECT_TRUE(CollapseRepeats({}).empty());
}

TEST(CollapseRepeatsTest, PageShowsACollapsedRunOnceWithItsCount) {
    ScenarioResult result = Passed();
    result.timeline.clear();
    for (int i = 0; i < 6; ++i) {
        result.timeline.push_back(E(250 * i, "m1", EntryKind::kAtSend, "AT+CONNECT"));
        result.timeline.push_back(
            E(250 * i + 1, "m1", EntryKind::kAtAnswer, "ERR14 1 UNABLE TO CONNECT Back-off in progress"));
    }
    const auto page = HtmlScenarioPage(result);
    const std::string answer = "ERR14 1 UNABLE TO CONNECT Back-off in progress</span>";
    EXPECT_EQ(page.find(answer), page.rfind(answer));
    EXPECT_THAT(page, HasSubstr("&times;6</span>0.000&hellip;1.250"));
}

// ---- Serial transcript -------------------------------------------------------------------------

TEST(SerialTranscriptTest, IsTheModulesSerialLog) {
    ScenarioResult result = Passed();
    result.timeline.push_back(E(3'723'004, "m1", EntryKind::kNote, "powered off"));
    result.timeline.push_back(E(3'723'005, "m1", EntryKind::kAtSend, "AT+CONF?\nx"));
    result.timeline.push_back(E(3'733'005, "m1", EntryKind::kAtAnswer, "(no answer within 10000 ms)"));
    EXPECT_EQ(TimelineModules(result), std::vector<std::string>{"m1"});
    const auto log = SerialTranscript(result, "m1");
    EXPECT_THAT(log, HasSubstr("\n00:00:00.011 > AT+CONNECT\n00:00:00.030 < OK 1 CONNECTED\n"
                               "00:00:00.040 > AT+EVENT?\n00:00:00.040 < OK 2 0 STARTUP\n"
                               "# 01:02:03.004 powered off\n01:02:03.005 > AT+CONF? x\n"
                               "# 01:02:13.005 (no answer within 10000 ms)\n"));
    EXPECT_EQ(log.rfind("# serial transcript of module m1 in scenario claim/happy", 0), 0U);
    EXPECT_THAT(log, Not(HasSubstr("ListThings")));
}

}  // namespace
}  // namespace sim::scenario
