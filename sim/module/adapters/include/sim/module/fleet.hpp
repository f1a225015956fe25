// SPDX-License-Identifier: Apache-2.0
#pragma once
// Many software modules in one process, sharing one timer thread, one link I/O thread and the
// process's MQTT event loop (sim/module/event_loop.hpp): what `elsim module` and
// `elsim bench modules` run, and what tests and the scenario runner can embed.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "sim/core/result.hpp"
#include "sim/module/links.hpp"
#include "sim/module/software_module.hpp"
#include "sim/module/timer_service.hpp"
#include "sim/world/endpoints.hpp"

namespace sim::module {

struct FleetOptions {
    std::string staging_endpoint;  ///< Factory Endpoint, host[:port]. Required.
    std::string root_ca_file;      ///< Factory RootCA PEM file. Required.
    std::string endpoints_file;    ///< Endpoints map; empty = loopback literals only.
    std::optional<world::Resolver> resolver;  ///< Overrides endpoints_file when set.
    std::string state_dir;         ///< Persistent keys per module; empty = not kept.
    std::string tcp_host = "127.0.0.1";
    bool uart_pacing = false;
    bool confmode_available = false;
    bool time_placeholders = false;  ///< TIME? in the placeholder form (ModuleProfile::TimeForm).
    std::uint64_t backoff_seed = 0;  ///< Mixed with each ThingName.
    int keep_alive_seconds = 60;
    std::shared_ptr<spdlog::logger> logger;
    /// The world's clock (back-off, TIME?, SLEEP timers); nullptr = the system clock.
    std::shared_ptr<sim::WorldClock> clock;
};

class Fleet {
public:
    /// Loads every identity and starts the modules (no links yet). Errors name the file or
    /// option; nothing keeps running on error.
    static Result<std::unique_ptr<Fleet>> Start(const FleetOptions& options,
                                                const std::vector<std::filesystem::path>& identities);
    /// Closes links, disconnects every module, stops the timer and link threads.
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    const std::vector<std::shared_ptr<SoftwareModule>>& modules() const { return modules_; }
    LinkServer& links() { return *links_; }
    /// The fleet's timers (Settle after the world clock moved).
    TimerService& timers() { return *timers_; }
    /// Sends `AT+CONNECT!` to every module (a load run without hosts).
    void ConnectAll();

private:
    Fleet() = default;
    std::unique_ptr<TimerService> timers_;
    std::vector<std::shared_ptr<SoftwareModule>> modules_;
    std::unique_ptr<LinkServer> links_;
};

}  // namespace sim::module
