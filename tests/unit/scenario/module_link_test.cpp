// SPDX-License-Identifier: Apache-2.0
// The pure parts of linked modules: `--modules` parsing (valid and invalid forms), line
// assembly from reads split anywhere, and the resynchronisation state machine.
#include "sim/scenario/module_link.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sim::scenario {
namespace {

using Millis = std::chrono::milliseconds;

// ---- --modules ----------------------------------------------------------------------------------

TEST(ModuleLinks, ValidForms) {
    auto links = ParseModuleLinks("m1=serial:/dev/ttyUSB0,m-2=pty:/dev/pts/7,m3=tcp:127.0.0.1:7001");
    ASSERT_TRUE(links) << links.error();
    ASSERT_EQ(links->size(), 3U);
    EXPECT_EQ((*links)[0].actor, "m1");
    EXPECT_EQ((*links)[0].kind, LinkSpec::Kind::kSerial);
    EXPECT_EQ((*links)[0].path, "/dev/ttyUSB0");
    EXPECT_EQ((*links)[1].kind, LinkSpec::Kind::kPty);
    EXPECT_EQ((*links)[1].path, "/dev/pts/7");
    EXPECT_EQ((*links)[2].kind, LinkSpec::Kind::kTcp);
    EXPECT_EQ((*links)[2].host, "127.0.0.1");
    EXPECT_EQ((*links)[2].port, 7001);
    // The text form reads back the same.
    for (const auto& link : *links) {
        auto again = ParseModuleLinks(ToString(link));
        ASSERT_TRUE(again) << again.error();
        EXPECT_EQ(ToString(again->front()), ToString(link));
    }
}

TEST(ModuleLinks, InvalidFormsAreOneLineErrors) {
    struct Case {
        const char* text;
        const char* says;  // A part of the error.
    };
    const std::vector<Case> cases = {
        {"", "give NAME=serial:PATH"},
        {"m1", "expected NAME=KIND:WHERE"},
        {"m1=", "unknown kind ''"},
        {"m1=usb:/dev/ttyUSB0", "unknown kind 'usb'"},
        {"m1=serial", "serial needs a device path"},
        {"m1=serial:", "serial needs a device path"},
        {"m1=pty:", "pty needs a device path"},
        {"m1=serial:ttyUSB0", "must be absolute"},
        {"M1=serial:/dev/ttyUSB0", "actor name 'M1'"},
        {"=serial:/dev/ttyUSB0", "actor name ''"},
        {"1m=serial:/dev/ttyUSB0", "actor name '1m'"},
        {"m1=tcp:127.0.0.1", "tcp needs HOST:PORT"},
        {"m1=tcp:", "tcp needs HOST:PORT"},
        {"m1=tcp:127.0.0.1:0", "port '0'"},
        {"m1=tcp:127.0.0.1:65536", "port '65536'"},
        {"m1=tcp:127.0.0.1:80a", "port '80a'"},
        {"m1=tcp:127.0.0.1:", "port ''"},
        {"m1=tcp:10.0.0.1:7001", "loopback"},
        {"m1=tcp:localhost:7001", "loopback"},
        {"m1=serial:/dev/ttyUSB0,", "an empty item"},
        {",m1=serial:/dev/ttyUSB0", "an empty item"},
        {"m1=serial:/dev/ttyUSB0,,m2=serial:/dev/ttyUSB1", "an empty item"},
        {"m1=serial:/dev/ttyUSB0,m1=serial:/dev/ttyUSB1", "linked twice"},
        {"m1=serial:/dev/ttyUSB0,m2=pty:/dev/ttyUSB0", "given for two actors"},
        {"m1=tcp:127.0.0.1:7001,m2=tcp:127.0.0.1:7001", "given for two actors"},
    };
    for (const auto& c : cases) {
        auto links = ParseModuleLinks(c.text);
        ASSERT_FALSE(links) << c.text;
        EXPECT_NE(links.error().find(c.says), std::string::npos)
            << c.text << " -> " << links.error();
        EXPECT_EQ(links.error().rfind("--modules: ", 0), 0U) << links.error();
        EXPECT_EQ(links.error().find('\n'), std::string::npos) << links.error();
    }
}

Scenario WithActors(std::string id, std::vector<Actor> actors) {
    Scenario scenario;
    scenario.id = std::move(id);
    scenario.actors = std::move(actors);
    return scenario;
}

TEST(ModuleLinks, LinkedActorsMustBeModuleActors) {
    const std::vector<Scenario> one = {
        WithActors("claim/a", {Actor{"m1", ModuleActor{"acme", "", true}, 3},
                               Actor{"portal", ClaimThingActor{"oem-a"}, 4}})};
    auto link = [](const char* text) { return *ParseModuleLinks(text); };
    EXPECT_FALSE(CheckLinkedActors(link("m1=serial:/dev/ttyUSB0"), one));
    const auto unknown = CheckLinkedActors(link("m9=serial:/dev/ttyUSB0"), one);
    ASSERT_TRUE(unknown);
    EXPECT_EQ(*unknown, "--modules: m9 is not a module actor of scenario claim/a");
    const auto not_module = CheckLinkedActors(link("portal=serial:/dev/ttyUSB0"), one);
    ASSERT_TRUE(not_module);
    EXPECT_NE(not_module->find("portal is not a module actor"), std::string::npos);
    // With several scenarios, one that has the actor is enough.
    const std::vector<Scenario> two = {one.front(), WithActors("jitr/b", {})};
    EXPECT_FALSE(CheckLinkedActors(link("m1=pty:/dev/pts/3"), two));
    const auto none = CheckLinkedActors(link("m2=pty:/dev/pts/3"), two);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, "--modules: m2 is not a module actor of any scenario to run");
}

// ---- Line assembly --------------------------------------------------------------------------------

std::vector<std::string> FeedAll(const std::vector<std::string>& chunks) {
    LineAssembler assembler;
    std::vector<std::string> lines;
    for (const auto& chunk : chunks) {
        for (auto& line : assembler.Feed(chunk)) {
            lines.push_back(std::move(line));
        }
    }
    return lines;
}

TEST(LineAssembler, LineEndsAndSplitsTable) {
    struct Case {
        std::vector<std::string> chunks;
        std::vector<std::string> lines;
    };
    using V = std::vector<std::string>;
    const std::vector<Case> cases = {
        {{"OK\r\n"}, V{"OK"}},
        {{"OK\n"}, V{"OK"}},
        {{"OK\r"}, V{"OK"}},
        {{"OK 1 CONNECTED\r\nOK\r\n"}, V{"OK 1 CONNECTED", "OK"}},
        // A CR LF split across two reads is one line end, not an empty line.
        {{"OK\r", "\nOK 1 CONNECTED\r\n"}, V{"OK", "OK 1 CONNECTED"}},
        // Byte by byte.
        {{"O", "K", " ", "1", "\r", "\n", "E", "R", "R", "3", "\n"}, V{"OK 1", "ERR3"}},
        // A line not ended yet stays partial.
        {{"OK 1 CONN", "ECTED"}, V{}},
        {{"OK 1 CONN", "ECTED\r\n"}, V{"OK 1 CONNECTED"}},
        // Empty lines (CR CR, LF LF, LF CR) are dropped.
        {{"\r\n\r\nOK\r\n\n\r"}, V{"OK"}},
        {{"OK\n\rOK\r\rOK"}, V{"OK", "OK"}},
        // Mixed ends in one read.
        {{"OK1 topic\nhello\r\nOK\r"}, V{"OK1 topic", "hello", "OK"}},
        {{""}, V{}},
    };
    for (const auto& c : cases) {
        std::string shown;
        for (const auto& chunk : c.chunks) {
            shown += "[" + chunk + "]";
        }
        EXPECT_EQ(FeedAll(c.chunks), c.lines) << shown;
    }
}

TEST(LineAssembler, OverlongLineIsCutAndResetForgetsPartial) {
    LineAssembler assembler;
    const std::string huge(kMaxLinkLine + 100, 'x');
    EXPECT_TRUE(assembler.Feed(huge).empty());
    auto lines = assembler.Feed("yy\r\nOK\r\n");
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_EQ(lines[0].size(), kMaxLinkLine);
    EXPECT_EQ(lines[1], "OK");
    EXPECT_TRUE(assembler.Feed("garbage").empty());
    EXPECT_EQ(assembler.Partial(), "garbage");
    assembler.Reset();
    EXPECT_EQ(assembler.Feed("OK\r\n"), std::vector<std::string>{"OK"});
}

// ---- Resync ---------------------------------------------------------------------------------------

// Plays a script against the state machine: each entry is a line the module says, or "" for a
// wait that ends with nothing. Returns the actions taken, as letters: S(end AT) W(ait) D(one)
// F(ail).
std::string Play(Resync& resync, const std::vector<std::string>& script, Millis step = Millis{100}) {
    std::string actions;
    Millis now{0};
    auto note = [&](const Resync::Step& s) {
        actions += s.action == Resync::Action::kSendAt ? 'S'
                   : s.action == Resync::Action::kWait ? 'W'
                   : s.action == Resync::Action::kDone ? 'D'
                                                       : 'F';
        return s.action == Resync::Action::kDone || s.action == Resync::Action::kFail;
    };
    if (note(resync.Start(now))) {
        return actions;
    }
    for (const auto& said : script) {
        now += step;
        const auto s = said.empty() ? resync.OnTimeout(now) : resync.OnLine(said, now);
        if (note(s)) {
            break;
        }
    }
    return actions;
}

TEST(Resync, StateMachineTable) {
    struct Case {
        const char* what;
        std::vector<std::string> script;
        const char* actions;
        int ats;
        std::vector<std::string> drained;
    };
    const std::vector<Case> cases = {
        {"idle module: one AT, OK, quiet", {"", "OK", ""}, "WSWD", 1, {}},
        {"booting: banner drained first", {"boot v1.3", "", "OK", ""}, "WWSWD", 1, {"boot v1.3"}},
        {"silent: AT sent again after each wait", {"", "", "", "OK", ""}, "WSSSWD", 3, {}},
        {"mid-CONNECT: its answer, then OK for our AT",
         {"", "OK 1 CONNECTED", "OK", ""}, "WSWWD", 1, {"OK 1 CONNECTED"}},
        {"queued ATs: extra OKs eaten in the quiet period",
         {"", "", "OK", "OK", "OK", ""}, "WSSWWWD", 2, {}},
        {"not OK: ERR3 then OK", {"", "ERR3 COMMAND NOT FOUND", "OK", ""}, "WSWWD", 1,
         {"ERR3 COMMAND NOT FOUND"}},
        {"a stray line in the quiet period is kept", {"", "OK", "EVENT", ""}, "WSWWD", 1,
         {"EVENT"}},
    };
    for (const auto& c : cases) {
        Resync resync;
        EXPECT_EQ(Play(resync, c.script), c.actions) << c.what;
        EXPECT_EQ(resync.AtsSent(), c.ats) << c.what;
        EXPECT_EQ(resync.Drained(), c.drained) << c.what;
    }
}

TEST(Resync, GivesUpAfterTheLimitWithTheLastLineHeard) {
    Resync::Options options;
    options.limit = Millis{1000};
    Resync silent(options);
    const auto actions = Play(silent, std::vector<std::string>(30, ""), Millis{300});
    EXPECT_EQ(actions.back(), 'F');
    EXPECT_EQ(silent.AtsSent(), 3);  // at 300, 600, 900 ms; at 1200 ms it gives up
    Resync chatty(options);
    Millis now{0};
    chatty.Start(now);
    chatty.OnTimeout(now += Millis{300});
    Resync::Step last;
    for (int i = 0; i < 10; ++i) {
        last = chatty.OnLine("ERR14 1 UNABLE TO CONNECT", now += Millis{300});
        if (last.action == Resync::Action::kFail) {
            break;
        }
    }
    ASSERT_EQ(last.action, Resync::Action::kFail);
    EXPECT_NE(last.reason.find("last line heard: \"ERR14 1 UNABLE TO CONNECT\""), std::string::npos)
        << last.reason;
    Resync nothing(options);
    const auto step = [&] {
        Millis t{0};
        nothing.Start(t);
        Resync::Step s;
        while ((s = nothing.OnTimeout(t += Millis{400})).action != Resync::Action::kFail) {
        }
        return s;
    }();
    EXPECT_NE(step.reason.find("nothing heard"), std::string::npos) << step.reason;
}

}  // namespace
}  // namespace sim::scenario
