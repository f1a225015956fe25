// SPDX-License-Identifier: Apache-2.0
#include "sim/core/net.hpp"

#include <ostream>
#include <string>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace sim {
namespace {

struct LoopbackCase {
    const char* name;
    std::string text;
    bool loopback;
};

void PrintTo(const LoopbackCase& c, std::ostream* os) { *os << c.name; }

class IsLoopbackIpv4Test : public ::testing::TestWithParam<LoopbackCase> {};

TEST_P(IsLoopbackIpv4Test, AcceptsOnlyDottedQuadsIn127Slash8) {
    const auto& c = GetParam();
    EXPECT_EQ(IsLoopbackIpv4(c.text), c.loopback) << '"' << c.text << '"';
}

// The grammar is the one glibc's inet_pton(AF_INET) accepts (both former copies of the check
// called it): the oracle must agree on every case without an embedded NUL (c_str() stops there).
TEST_P(IsLoopbackIpv4Test, AgreesWithInetPton) {
    const auto& c = GetParam();
    if (c.text.find('\0') != std::string::npos) {
        GTEST_SKIP() << "inet_pton sees only the text before the NUL";
    }
    in_addr address{};
    const bool pton =
        ::inet_pton(AF_INET, c.text.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
    EXPECT_EQ(IsLoopbackIpv4(c.text), pton) << '"' << c.text << '"';
}

INSTANTIATE_TEST_SUITE_P(
    Table, IsLoopbackIpv4Test,
    ::testing::Values(
        LoopbackCase{"Localhost", "127.0.0.1", true},
        LoopbackCase{"TopOf8", "127.255.255.254", true},
        LoopbackCase{"Broadcast", "127.255.255.255", true},
        LoopbackCase{"Network", "127.0.0.0", true},
        LoopbackCase{"AccountAddress", "127.0.0.42", true},
        LoopbackCase{"Next8", "128.0.0.1", false}, LoopbackCase{"Below", "126.255.255.255", false},
        LoopbackCase{"Any", "0.0.0.0", false}, LoopbackCase{"Private", "10.0.0.1", false},
        LoopbackCase{"ThreeParts", "127.0.0", false}, LoopbackCase{"Shorthand", "127.1", false},
        LoopbackCase{"FiveParts", "127.0.0.1.5", false},
        LoopbackCase{"LeadingZero", "0127.0.0.1", false},
        LoopbackCase{"LeadingZeroLastPart", "127.0.0.01", false}, LoopbackCase{"Empty", "", false},
        LoopbackCase{"Name", "localhost", false}, LoopbackCase{"LeadingSpace", " 127.0.0.1", false},
        LoopbackCase{"TrailingSpace", "127.0.0.1 ", false},
        LoopbackCase{"TrailingNewline", "127.0.0.1\n", false},
        LoopbackCase{"PartOver255", "127.0.0.256", false},
        LoopbackCase{"FourDigits", "127.0.0.1000", false},
        LoopbackCase{"EmptyPart", "127..0.1", false},
        LoopbackCase{"TrailingDot", "127.0.0.1.", false},
        LoopbackCase{"LeadingDot", ".127.0.0.1", false}, LoopbackCase{"Sign", "127.0.0.+1", false},
        LoopbackCase{"Hex", "0x7f.0.0.1", false}, LoopbackCase{"WithPort", "127.0.0.1:8883", false},
        LoopbackCase{"Ipv6Loopback", "::1", false},
        LoopbackCase{"Ipv4MappedIpv6", "::ffff:127.0.0.1", false},
        LoopbackCase{"EmbeddedNul", std::string("127.0.0.1\0.5", 11), false}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

}  // namespace
}  // namespace sim
