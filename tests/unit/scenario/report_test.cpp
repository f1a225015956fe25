// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/report.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sim::scenario {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using std::chrono::milliseconds;

ScenarioResult Passed() {
    ScenarioResult result;
    result.id = "claim/happy-path";
    result.duration = milliseconds(3'200);
    result.seed = 7;
    return result;
}

ScenarioResult Failed() {
    ScenarioResult result;
    result.id = "misrouted/deep/x";
    result.outcome = Outcome::kFail;
    result.duration = milliseconds(4'150);
    result.failure = StepFailure{"OEM connect", 12, "expected \"OK\", observed \"ERR14 4\""};
    result.timeline = {{milliseconds(1'234), "m1", EntryKind::kAtSend, "AT+CONNECT"},
                       {milliseconds(12'000), "runner", EntryKind::kStepFail, "expected"}};
    return result;
}

TEST(ReportTest, ResultLines) {
    EXPECT_EQ(ResultLine(Passed()), "PASS claim/happy-path (3.2 s)");
    EXPECT_EQ(ResultLine(Failed()),
              "FAIL misrouted/deep/x (4.2 s): step 'OEM connect' (line 12): expected \"OK\", "
              "observed \"ERR14 4\"");
    ScenarioResult error = Passed();
    error.outcome = Outcome::kError;
    error.failure = StepFailure{"", 0, "the world did not start"};
    EXPECT_EQ(ResultLine(error), "ERROR claim/happy-path (3.2 s): the world did not start");
}

TEST(ReportTest, ResultLineSaysSkippedSteps) {
    ScenarioResult result = Passed();
    result.timeline = {{milliseconds(10), "runner", EntryKind::kStepSkip,
                        "power cycle: software-only: m1 is linked over serial:/dev/ttyUSB0"},
                       {milliseconds(20), "runner", EntryKind::kStepSkip, "twin: software-only"}};
    EXPECT_EQ(ResultLine(result),
              "PASS claim/happy-path (3.2 s); 2 step(s) skipped, first: power cycle: "
              "software-only: m1 is linked over serial:/dev/ttyUSB0");
    EXPECT_EQ(std::string(ToString(EntryKind::kStepSkip)), "skip");
}

TEST(ReportTest, SummaryLine) {
    EXPECT_EQ(SummaryLine({Passed(), Failed()}, milliseconds(58'300), 1234),
              "2 scenarios: 1 passed, 1 failed, 0 errors in 58.3 s (seed 1234)");
}

TEST(ReportTest, TimelineColumnsAlign) {
    const auto text = TimelineText(Failed());
    EXPECT_THAT(text, HasSubstr("failure  step 'OEM connect' (line 12): "));
    EXPECT_THAT(text, HasSubstr("\n+  1.234s  m1      at>   AT+CONNECT\n"));
    EXPECT_THAT(text, HasSubstr("\n+ 12.000s  runner  FAIL  expected\n"));
}

TEST(TimelineTest, EntriesAreOrderedByOffsetStably) {
    Timeline timeline;
    timeline.Add({milliseconds(5), "b", EntryKind::kNote, "second"});
    timeline.Add({milliseconds(1), "a", EntryKind::kNote, "first"});
    timeline.Add({milliseconds(5), "c", EntryKind::kNote, "third"});
    const auto entries = timeline.Entries();
    ASSERT_EQ(entries.size(), 3U);
    EXPECT_EQ(entries[0].text, "first");
    EXPECT_EQ(entries[1].text, "second");
    EXPECT_EQ(entries[2].text, "third");
}

TEST(JUnitTest, Structure) {
    const auto xml = JUnitXml({Passed(), Failed()}, milliseconds(7'350));
    EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0U);
    EXPECT_THAT(xml, HasSubstr("<testsuite name=\"elsim\" tests=\"2\" failures=\"1\" "
                               "errors=\"0\" time=\"7.350\">"));
    EXPECT_THAT(xml, HasSubstr("<testcase classname=\"claim\" name=\"claim/happy-path\" "
                               "time=\"3.200\">"));
    EXPECT_THAT(xml, HasSubstr("<testcase classname=\"misrouted.deep\" "
                               "name=\"misrouted/deep/x\" time=\"4.150\">"));
    EXPECT_THAT(xml, HasSubstr("<failure message=\"step 'OEM connect' (line 12): expected "
                               "&quot;OK&quot;, observed &quot;ERR14 4&quot;\">"));
    EXPECT_THAT(xml, HasSubstr("<system-out>scenario claim/happy-path\n"));
    EXPECT_THAT(xml, HasSubstr("</testsuite>\n"));
}

TEST(JUnitTest, EscapesAndDropsWhatXmlCannotCarry) {
    ScenarioResult result = Failed();
    result.outcome = Outcome::kError;
    result.failure = StepFailure{"a&b", 3, "<x> \"q\" \x01 end \xff"};
    const auto xml = JUnitXml({result}, milliseconds(1));
    EXPECT_THAT(xml, HasSubstr("errors=\"1\""));
    EXPECT_THAT(xml, HasSubstr("<error message=\"step 'a&amp;b' (line 3): &lt;x&gt; "
                               "&quot;q&quot;  end \">step 'a&amp;b' (line 3): &lt;x&gt; "
                               "\"q\"  end </error>"));
    EXPECT_THAT(xml, Not(HasSubstr("\x01")));
    EXPECT_THAT(xml, Not(HasSubstr("\xff")));
}

}  // namespace
}  // namespace sim::scenario
