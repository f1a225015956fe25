// SPDX-License-Identifier: Apache-2.0
// The world's endpoints map (sim/world/endpoints.hpp): the accepted forms, every refusal, the
// resolver's order, and a followed file re-read when the world writes a new one.
#include "sim/world/endpoints.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "sim/core/adapters.hpp"

namespace sim::world {
namespace {

namespace fs = std::filesystem;

struct MapCase {
    const char* name;
    std::string json;
    bool ok;
    std::string host;                      ///< Looked up with port 8883 when ok.
    std::optional<ResolvedAddress> found;  ///< Expected answer.
    std::string error;                     ///< Expected message part when refused.
};

class EndpointsMapParse : public ::testing::TestWithParam<MapCase> {};

TEST_P(EndpointsMapParse, AcceptsTheDocumentedFormsOnly) {
    const auto& c = GetParam();
    auto map = EndpointsMap::Parse(c.json);
    ASSERT_EQ(map.has_value(), c.ok) << (map ? std::string() : map.error().message);
    if (!c.ok) {
        EXPECT_EQ(map.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(map.error().message.find(c.error), std::string::npos) << map.error().message;
        EXPECT_EQ(map.error().message.find('\n'), std::string::npos);
        return;
    }
    const auto got = map->MakeResolver()(c.host, 8883);
    ASSERT_EQ(got.has_value(), c.found.has_value());
    if (got) {
        EXPECT_EQ(got->ip, c.found->ip);
        EXPECT_EQ(got->port, c.found->port);
    }
}

const std::string kHost = "acme-ats.iot.us-east-1.elsim.test";

INSTANTIATE_TEST_SUITE_P(
    Table, EndpointsMapParse,
    ::testing::Values(
        MapCase{"FlatString", R"({"acme-ats.iot.us-east-1.elsim.test": "127.0.0.2:8884"})", true,
                kHost, ResolvedAddress{"127.0.0.2", 8884}, ""},
        MapCase{"StringWithoutPortKeepsTheEndpointPort",
                R"({"acme-ats.iot.us-east-1.elsim.test": "127.0.0.2"})", true, kHost,
                ResolvedAddress{"127.0.0.2", 8883}, ""},
        MapCase{"NestedObject",
                R"({"endpoints": {"acme-ats.iot.us-east-1.elsim.test":
                     {"address": "127.0.0.3", "port": 443}}})",
                true, kHost, ResolvedAddress{"127.0.0.3", 443}, ""},
        MapCase{"NestedString",
                R"({"endpoints": {"acme-ats.iot.us-east-1.elsim.test": "127.9.9.9:1"}})", true,
                kHost, ResolvedAddress{"127.9.9.9", 1}, ""},
        MapCase{"EmptyMapResolvesLiterals", "{}", true, "127.0.0.7",
                ResolvedAddress{"127.0.0.7", 8883}, ""},
        MapCase{"Localhost", "{}", true, "localhost", ResolvedAddress{"127.0.0.1", 8883}, ""},
        MapCase{"UnknownNameIsUnresolved", "{}", true, kHost, std::nullopt, ""},
        MapCase{"PublicLiteralIsUnresolved", "{}", true, "192.0.2.1", std::nullopt, ""},
        MapCase{"NotJson", "endpoints", false, "", std::nullopt, "not a JSON object"},
        MapCase{"Empty", "", false, "", std::nullopt, "not a JSON object"},
        MapCase{"Array", R"(["127.0.0.2:8883"])", false, "", std::nullopt, "not a JSON object"},
        MapCase{"EndpointsNotObject", R"({"endpoints": "127.0.0.2"})", false, "", std::nullopt,
                "'endpoints' must be an object"},
        MapCase{"NotLoopback", R"({"h": "192.0.2.1:8883"})", false, "", std::nullopt, "entry 'h'"},
        MapCase{"HostName", R"({"h": "localhost:8883"})", false, "", std::nullopt, "entry 'h'"},
        MapCase{"PortZero", R"({"h": "127.0.0.2:0"})", false, "", std::nullopt, "entry 'h'"},
        MapCase{"PortTooLarge", R"({"h": "127.0.0.2:65536"})", false, "", std::nullopt,
                "entry 'h'"},
        MapCase{"PortNotNumber", R"({"h": "127.0.0.2:mqtt"})", false, "", std::nullopt,
                "entry 'h'"},
        MapCase{"ObjectPortNotNumber", R"({"h": {"address": "127.0.0.2", "port": "1"}})", false, "",
                std::nullopt, "entry 'h'"},
        MapCase{"ObjectWithoutAddress", R"({"h": {"port": 1}})", false, "", std::nullopt,
                "entry 'h'"},
        MapCase{"NumberValue", R"({"h": 2130706434})", false, "", std::nullopt, "entry 'h'"}),
    [](const ::testing::TestParamInfo<MapCase>& p) { return std::string(p.param.name); });

class FollowedFile : public ::testing::Test {
protected:
    void SetUp() override {
        auto made = ScratchDirectory::Create(fs::temp_directory_path(), "elsim-endpoints-test");
        ASSERT_TRUE(made.has_value()) << made.error().message;
        dir_.emplace(std::move(*made));
        file_ = dir_->path() / "endpoints.json";
    }
    // Writes a new version; the modification time or the size differs from the last one.
    void Write(const std::string& text) {
        ASSERT_TRUE(WriteFileAtomically(file_, text).has_value());
        fs::last_write_time(file_, fs::file_time_type::clock::now() + std::chrono::seconds(++n_));
    }
    std::optional<ResolvedAddress> Resolve(const Resolver& resolver) {
        return resolver(kHost, 8883);
    }

    std::optional<ScratchDirectory> dir_;
    fs::path file_;
    int n_ = 0;
};

TEST_F(FollowedFile, TheFirstReadMustSucceed) {
    auto missing = FollowEndpointsFile(file_);
    ASSERT_FALSE(missing.has_value());
    Write("not json");
    auto bad = FollowEndpointsFile(file_);
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().message.find(file_.string()), std::string::npos) << bad.error().message;
}

TEST_F(FollowedFile, ANewVersionIsReadAndABadOneKeepsTheLastGoodMap) {
    Write(R"({")" + kHost + R"(": "127.0.0.2:8883"})");
    auto resolver = FollowEndpointsFile(file_);
    ASSERT_TRUE(resolver.has_value()) << resolver.error().message;
    ASSERT_TRUE(Resolve(*resolver).has_value());
    EXPECT_EQ(Resolve(*resolver)->ip, "127.0.0.2");

    Write(R"({")" + kHost + R"(": "127.0.0.3:9000"})");
    ASSERT_TRUE(Resolve(*resolver).has_value());
    EXPECT_EQ(Resolve(*resolver)->ip, "127.0.0.3");
    EXPECT_EQ(Resolve(*resolver)->port, 9000);

    Write(R"({")" + kHost + R"(": "192.0.2.1:9000"})");  // refused: keeps the last good map
    ASSERT_TRUE(Resolve(*resolver).has_value());
    EXPECT_EQ(Resolve(*resolver)->ip, "127.0.0.3");

    fs::remove(file_);  // a world between two runs: the last good map stays
    ASSERT_TRUE(Resolve(*resolver).has_value());
    EXPECT_EQ(Resolve(*resolver)->ip, "127.0.0.3");

    Write("{}");  // the next world has no such account
    EXPECT_FALSE(Resolve(*resolver).has_value());
}

}  // namespace
}  // namespace sim::world
