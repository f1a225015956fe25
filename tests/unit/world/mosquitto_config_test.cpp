// SPDX-License-Identifier: Apache-2.0
#include "sim/world/mosquitto_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sim::world {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

MosquittoConfig Account() {
    MosquittoConfig config;
    config.address = "127.0.0.3";
    config.port = 8883;
    config.capath = "/w/accounts/oem-a/capath";
    config.certfile = "/w/accounts/oem-a/server.pem";
    config.keyfile = "/w/accounts/oem-a/server.key";
    config.plugin = "/build/elsim_broker.so";
    config.plugin_options = {{"account_name", "oem-a"}, {"mode", "strict"}};
    return config;
}

TEST(MosquittoConfigTest, AccountBrokerHasTheSettingsThePrototypesSettled) {
    const std::string text = RenderMosquittoConfig(Account());
    EXPECT_THAT(text, HasSubstr("per_listener_settings false\n"));
    EXPECT_THAT(text, HasSubstr("persistence false\n"));
    EXPECT_THAT(text, HasSubstr("listener 8883 127.0.0.3\n"));
    EXPECT_THAT(text, HasSubstr("set_tcp_nodelay true\n"));
    EXPECT_THAT(text, HasSubstr("capath /w/accounts/oem-a/capath\n"));
    EXPECT_THAT(text, HasSubstr("require_certificate true\n"));
    EXPECT_THAT(text, HasSubstr("use_identity_as_username false\n"));
    EXPECT_THAT(text, HasSubstr("plugin /build/elsim_broker.so\n"));
    EXPECT_THAT(text, HasSubstr("plugin_opt_account_name oem-a\n"));
    EXPECT_THAT(text, HasSubstr("plugin_opt_mode strict\n"));
    EXPECT_THAT(text, HasSubstr("allow_anonymous false\n"));
    EXPECT_THAT(text, Not(HasSubstr("cafile")));
    EXPECT_THAT(text, Not(HasSubstr("\nuser ")));
    // Global options must come before the listener block.
    EXPECT_LT(text.find("plugin "), text.find("listener "));
}

TEST(MosquittoConfigTest, BareBrokerAllowsTlsClientsWithoutPlugin) {
    auto config = Account();
    config.plugin.clear();
    config.cafile = "/pki/ca.pem";
    config.run_as_user = "root";
    const std::string text = RenderMosquittoConfig(config);
    EXPECT_THAT(text, Not(HasSubstr("plugin")));
    EXPECT_THAT(text, HasSubstr("allow_anonymous true\n"));
    EXPECT_THAT(text, HasSubstr("cafile /pki/ca.pem\n"));
    EXPECT_THAT(text, HasSubstr("user root\n"));
    EXPECT_THAT(text, HasSubstr("require_certificate true\n"));
}

}  // namespace
}  // namespace sim::world
