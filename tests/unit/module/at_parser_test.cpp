// SPDX-License-Identifier: Apache-2.0
// Framing, parsing and escaping (PG-CMD 4.2-4.5), from the spec's own examples.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "sim/module/at_parser.hpp"
#include "sim/module/errors.hpp"

namespace sim::module {
namespace {

struct AssembleCase {
    std::string name;
    std::string input;
    std::vector<std::string> lines;  // "!" marks an overflow line
};

class LineAssemblerTest : public ::testing::TestWithParam<AssembleCase> {};

TEST_P(LineAssemblerTest, SplitsBytesIntoLines) {
    const auto& c = GetParam();
    // Byte by byte and all at once must agree.
    for (const bool bytewise : {false, true}) {
        LineAssembler assembler;
        std::vector<AssembledLine> out;
        if (bytewise) {
            for (const char ch : c.input) {
                assembler.FeedAll(std::string_view(&ch, 1), out);
            }
        } else {
            assembler.FeedAll(c.input, out);
        }
        std::vector<std::string> got;
        for (const auto& line : out) {
            got.push_back(line.overflow ? "!" : line.text);
        }
        EXPECT_EQ(got, c.lines) << (bytewise ? "bytewise" : "chunk");
    }
}

INSTANTIATE_TEST_SUITE_P(
    Spec, LineAssemblerTest,
    ::testing::Values(
        AssembleCase{"JunkBeforeAtIgnored", "abcdefAT\n", {""}},
        AssembleCase{"LfCrGivesOneLine", "AT\n\r", {""}},
        AssembleCase{"CrLfGivesOneLine", "AT\r\n", {""}},
        AssembleCase{"CrCrGivesOneLine", "AT\r\r", {""}},
        AssembleCase{"LowerCaseAt", "at+conf? About\r", {"+conf? About"}},
        AssembleCase{"TwoCommands", "AT+A\nAT+B\r", {"+A", "+B"}},
        AssembleCase{"NoEolNoLine", "AT+CONNECT", {}},
        AssembleCase{"EmptyLinesIgnored", "\n\r\n\r", {}},
        AssembleCase{"AatCountsAsAt", "AAT\n", {""}},
        AssembleCase{"OverflowThenRecovers",
                     "AT+" + std::string(kMaxCommandBytes + 10, 'x') + "\nAT\n", {"!", ""}},
        AssembleCase{"ExactlyNineKilobytesFits", "AT+" + std::string(kMaxCommandBytes, 'x') + "\n",
                     {"+" + std::string(kMaxCommandBytes, 'x')}},
        AssembleCase{"MegabyteWithoutAtNeverBuffers", std::string(1 << 20, 'z') + "AT\n", {""}},
        AssembleCase{"NulBytesKept", std::string("AT+\0X\n", 6), {std::string("+\0X", 3)}}),
    [](const auto& i) { return i.param.name; });

TEST(LineAssemblerTest, RawModeReturnsWholeLines) {
    LineAssembler assembler;
    assembler.SetRawMode(true);
    std::vector<AssembledLine> out;
    assembler.FeedAll("-----BEGIN CERTIFICATE-----\r\nMIIBAT\n\n", out);
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0].text, "-----BEGIN CERTIFICATE-----");
    EXPECT_TRUE(out[0].raw);
    EXPECT_EQ(out[1].text, "MIIBAT");
}

TEST(LineAssemblerTest, ClearForgetsPartialLine) {
    LineAssembler assembler;
    std::vector<AssembledLine> out;
    assembler.FeedAll("AT+CONN", out);
    EXPECT_TRUE(assembler.InLine());
    assembler.Clear();
    assembler.FeedAll("AT\n", out);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].text, "");
}

struct ParseCase {
    std::string name;
    std::string text;  // after "AT"
    bool ok;
    std::string word;
    std::optional<std::uint64_t> index;
    std::optional<std::string> parameter;
    AtError error;
};

class ParseCommandTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseCommandTest, Parses) {
    const auto& c = GetParam();
    auto result = ParseCommand(c.text);
    ASSERT_EQ(result.has_value(), c.ok);
    if (c.ok) {
        EXPECT_EQ(result->word, c.word);
        EXPECT_EQ(result->index, c.index);
        EXPECT_EQ(result->parameter, c.parameter);
    } else {
        EXPECT_EQ(result.error().error, c.error);
    }
}

constexpr auto kNone = std::nullopt;
INSTANTIATE_TEST_SUITE_P(
    Spec, ParseCommandTest,
    ::testing::Values(
        ParseCase{"Attention", "", true, "", kNone, kNone, AtError::kParseError},
        ParseCase{"Word", "+CONNECT", true, "CONNECT", kNone, kNone, AtError::kParseError},
        ParseCase{"CaseInsensitive", "+connect?", true, "CONNECT?", kNone, kNone,
                  AtError::kParseError},
        ParseCase{"Bang", "+CONNECT!", true, "CONNECT!", kNone, kNone, AtError::kParseError},
        ParseCase{"Underscore", "+FACTORY_RESET", true, "FACTORY_RESET", kNone, kNone,
                  AtError::kParseError},
        ParseCase{"Suffix", "+SEND12 hello world", true, "SEND", 12, "hello world",
                  AtError::kParseError},
        ParseCase{"SuffixZero", "+GET0", true, "GET", 0, kNone, AtError::kParseError},
        ParseCase{"HugeSuffixSaturates", "+SEND99999999999999999999999 x", true, "SEND",
                  UINT64_MAX, "x", AtError::kParseError},
        ParseCase{"EmptyParameter", "+CONF? ", true, "CONF?", kNone, "", AtError::kParseError},
        ParseCase{"ParameterKeepsSpaces", "+SEND1  two", true, "SEND", 1, " two",
                  AtError::kParseError},
        ParseCase{"Escapes", "+SEND1 foo\\Abar\\Dsome\\\\thing", true, "SEND", 1,
                  "foo\nbar\rsome\\thing", AtError::kParseError},
        ParseCase{"NoPlus", "X", false, "", kNone, kNone, AtError::kParseError},
        ParseCase{"EmptyWord", "+", false, "", kNone, kNone, AtError::kParseError},
        ParseCase{"DigitWord", "+1", false, "", kNone, kNone, AtError::kParseError},
        ParseCase{"BadCharAfterWord", "+CONF#x", false, "", kNone, kNone, AtError::kParseError},
        ParseCase{"TabSeparator", "+CONF\tx", false, "", kNone, kNone, AtError::kParseError},
        ParseCase{"SleepNineA", "+SLEEP9A", false, "", kNone, kNone, AtError::kParameterError},
        ParseCase{"WordTooLong", "+" + std::string(33, 'A'), false, "", kNone, kNone,
                  AtError::kParseError},
        ParseCase{"WordAtLimit", "+" + std::string(32, 'A'), true, std::string(32, 'A'), kNone,
                  kNone, AtError::kParseError},
        ParseCase{"BadEscape", "+SEND1 a\\nb", false, "", kNone, kNone, AtError::kInvalidEscape},
        ParseCase{"LowercaseEscapeIsBad", "+SEND1 a\\ab", false, "", kNone, kNone,
                  AtError::kInvalidEscape},
        ParseCase{"TrailingBackslash", "+SEND1 a\\", false, "", kNone, kNone,
                  AtError::kInvalidEscape},
        ParseCase{"NulInWord", std::string("+\0", 2), false, "", kNone, kNone,
                  AtError::kParseError}),
    [](const auto& i) { return i.param.name; });

struct EscapeCase {
    std::string name;
    std::string raw;
    std::string escaped;
};

class EscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTest, RoundTrips) {
    const auto& c = GetParam();
    EXPECT_EQ(Escape(c.raw), c.escaped);
    auto back = Unescape(c.escaped);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, c.raw);
}

INSTANTIATE_TEST_SUITE_P(
    Spec, EscapeTest,
    ::testing::Values(
        // The test vector of awslabs/aws-iot-expresslink-library-python (tests/test_commands.py).
        EscapeCase{"PythonLibraryVector", "foo\nbar\rsome\\thing", "foo\\Abar\\Dsome\\\\thing"},
        EscapeCase{"Plain", "hello", "hello"},
        EscapeCase{"Empty", "", ""},
        EscapeCase{"BackslashBeforeA", "\\A", "\\\\A"},
        EscapeCase{"Binary", std::string("\0\xff\x01", 3), std::string("\0\xff\x01", 3)}),
    [](const auto& i) { return i.param.name; });

struct ErrorTextCase {
    int code;
    std::string text;
};

class ErrorTableTest : public ::testing::TestWithParam<ErrorTextCase> {};

TEST_P(ErrorTableTest, MatchesSpecTable) {
    const auto& c = GetParam();
    const auto error = static_cast<AtError>(c.code);
    EXPECT_EQ(ErrorText(error), c.text);
    EXPECT_EQ(FormatError(error), "ERR" + std::to_string(c.code) + " " + c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Table1, ErrorTableTest,
    ::testing::Values(ErrorTextCase{1, "OVERFLOW"}, ErrorTextCase{2, "PARSE ERROR"},
                      ErrorTextCase{3, "COMMAND NOT FOUND"}, ErrorTextCase{4, "PARAMETER ERROR"},
                      ErrorTextCase{5, "INVALID ESCAPE"}, ErrorTextCase{6, "NO CONNECTION"},
                      ErrorTextCase{7, "OUT OF RANGE"}, ErrorTextCase{8, "PARAMETER UNDEFINED"},
                      ErrorTextCase{9, "INVALID KEY LENGTH"}, ErrorTextCase{10, "INVALID KEY NAME"},
                      ErrorTextCase{11, "UNKNOWN KEY"}, ErrorTextCase{12, "KEY READONLY"},
                      ErrorTextCase{13, "KEY WRITEONLY"}, ErrorTextCase{14, "UNABLE TO CONNECT"},
                      ErrorTextCase{15, "TIME NOT AVAILABLE"},
                      ErrorTextCase{16, "LOCATION NOT AVAILABLE"},
                      ErrorTextCase{17, "MODE NOT AVAILABLE"},
                      ErrorTextCase{18, "ACTIVE CONNECTION"},
                      ErrorTextCase{19, "HOST IMAGE NOT AVAILABLE"},
                      ErrorTextCase{20, "INVALID ADDRESS"}, ErrorTextCase{21, "INVALID OTA UPDATE"},
                      ErrorTextCase{22, "[reserved]"}, ErrorTextCase{23, "INVALID SIGNATURE"},
                      ErrorTextCase{24, "SHADOW ERROR"}, ErrorTextCase{25, "NOT ALLOWED"},
                      ErrorTextCase{26, "INVALID CERTIFICATE"}, ErrorTextCase{27, "BLE ERROR"},
                      ErrorTextCase{28, "CONFIGURATION ERROR"},
                      ErrorTextCase{29, "INSUFFICIENT SECURITY"}),
    [](const auto& i) { return "Err" + std::to_string(i.param.code); });

TEST(ErrorTableTest, OutOfTableCodesHaveAText) {
    EXPECT_EQ(ErrorText(static_cast<AtError>(0)), "UNKNOWN ERROR");
    EXPECT_EQ(ErrorText(static_cast<AtError>(30)), "UNKNOWN ERROR");
    EXPECT_EQ(FormatConnectError(3, "Invalid Endpoint?"), "ERR14 3 UNABLE TO CONNECT Invalid Endpoint?");
    EXPECT_EQ(FormatConnectError(5), "ERR14 5 UNABLE TO CONNECT");
}

// OK{n} announces n more lines (PG-CMD 4.6.1); nothing else does.
TEST(ResponseLineCountTest, Table) {
    const std::vector<std::pair<std::string, std::size_t>> cases = {
        {"OK", 1},          {"OK 1 CONNECTED", 1}, {"OK1 topic", 2},  {"OK12 pem", 13},
        {"OK0", 1},         {"ERR3 COMMAND NOT FOUND", 1},             {"ERR14 4 X", 1},
        {"", 1},            {"O", 1},              {"OK1", 2},        {"OKAY", 1},
        {"ok1 topic", 1},   {"OK99999999999", 1000001},
    };
    for (const auto& [first, lines] : cases) {
        EXPECT_EQ(ResponseLineCount(first), lines) << first;
    }
}

}  // namespace
}  // namespace sim::module
