// SPDX-License-Identifier: Apache-2.0
#pragma once
// The mosquitto.conf of one account broker (or a test broker). Pure: values in, text out.
//
// Always emitted (mosquitto 2.0.11's plugin API and mosquitto.conf(5); one mosquitto per
// account):
//   per_listener_settings false (TICK needs it), persistence false, set_tcp_nodelay true,
//   require_certificate true, use_identity_as_username false (BASIC_AUTH must run),
//   allow_anonymous false when the plugin decides, true otherwise (TLS still verifies certs).

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace sim::world {

struct MosquittoConfig {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8883;
    std::filesystem::path cafile;  ///< Optional: a fixed bundle.
    std::filesystem::path capath;  ///< Optional: a hashed dir, hot-added CAs (OpenSSL lookup).
    std::filesystem::path certfile;
    std::filesystem::path keyfile;
    std::filesystem::path plugin;  ///< Empty: no plugin (a bare broker, e.g. for benchmarks).
    std::vector<std::pair<std::string, std::string>> plugin_options;  ///< plugin_opt_<key>.
    std::string run_as_user;   ///< `user` line: needed when started as root (else it drops to
                               ///< "mosquitto", which may not read the world directory).
    bool verbose_log = false;  ///< log_type all (debug); default: error/warning/notice/info.
};

/// The configuration text. Paths are written as given; they must not contain newlines.
std::string RenderMosquittoConfig(const MosquittoConfig& config);

}  // namespace sim::world
