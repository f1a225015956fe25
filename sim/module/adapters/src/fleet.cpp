// SPDX-License-Identifier: Apache-2.0
#include "sim/module/fleet.hpp"

#include "sim/core/adapters.hpp"
#include "sim/module/mqtt_client_port.hpp"

namespace sim::module {

namespace fs = std::filesystem;

Result<std::unique_ptr<Fleet>> Fleet::Start(const FleetOptions& options,
                                            const std::vector<fs::path>& identities) {
    if (!ParseEndpoint(options.staging_endpoint)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "--staging-endpoint '" + options.staging_endpoint +
                             "': expected host[:port]");
    }
    auto root_ca = ReadFile(options.root_ca_file);
    if (!root_ca) {
        return Unexpected(root_ca.error());
    }
    if (root_ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         options.root_ca_file + ": not a PEM certificate");
    }
    world::Resolver resolver;
    if (options.resolver) {
        resolver = *options.resolver;
    } else if (!options.endpoints_file.empty()) {
        auto followed = world::FollowEndpointsFile(options.endpoints_file);
        if (!followed) {
            return Unexpected(followed.error());
        }
        resolver = std::move(*followed);
    } else {
        resolver = world::EndpointsMap{}.MakeResolver();
    }
    std::vector<Identity> loaded;
    loaded.reserve(identities.size());
    for (const auto& dir : identities) {
        auto identity = LoadIdentity(dir);
        if (!identity) {
            return Unexpected(identity.error());
        }
        loaded.push_back(std::move(*identity));
    }

    std::unique_ptr<Fleet> fleet(new Fleet());
    std::error_code ec;
    if (!options.state_dir.empty()) {
        fs::create_directories(options.state_dir, ec);
        if (ec) {
            return MakeError(ErrorCode::kIo, options.state_dir + ": " + ec.message());
        }
    }
    fleet->timers_ = std::make_unique<TimerService>(options.clock);
    fleet->links_ = std::make_unique<LinkServer>(options.uart_pacing);
    if (options.logger) {
        options.logger->info("fleet modules={} backoff_seed={} staging_endpoint={}",
                             loaded.size(), options.backoff_seed, options.staging_endpoint);
    }
    for (auto& identity : loaded) {
        auto profile = std::make_shared<ModuleProfile>();
        profile->thing_name = identity.thing_name;
        profile->certificate_pem = identity.certificate_pem;
        profile->staging_endpoint = options.staging_endpoint;
        profile->root_ca_pem = *root_ca;
        profile->confmode_available = options.confmode_available;
        profile->time_form = options.time_placeholders ? ModuleProfile::TimeForm::kPlaceholders
                                                       : ModuleProfile::TimeForm::kWords;
        profile->default_keep_alive = std::chrono::seconds{options.keep_alive_seconds};
        std::uint64_t seed = options.backoff_seed;
        for (const unsigned char c : identity.thing_name) {
            seed = (seed ^ c) * 1099511628211ULL;
        }
        profile->backoff_seed = seed;

        SoftwareModuleOptions module_options;
        module_options.profile = profile;
        if (!options.state_dir.empty()) {
            module_options.state_file = fs::path(options.state_dir) / (identity.thing_name + ".json");
        }
        MqttClientOptions mqtt;
        mqtt.resolver = resolver;
        mqtt.private_key_file = identity.key_file;
        mqtt.timers = fleet->timers_.get();
        mqtt.logger = options.logger;
        module_options.make_mqtt = [mqtt](MqttEventSink sink) {
            return MakeMqttClientPort(mqtt, std::move(sink));
        };
        module_options.timers = fleet->timers_.get();
        module_options.clock = options.clock;
        module_options.resolver = resolver;
        module_options.logger = options.logger;
        auto module = SoftwareModule::Create(std::move(module_options));
        if (!module) {
            return Unexpected(module.error());
        }
        fleet->modules_.push_back(std::move(*module));
    }
    return fleet;
}

Fleet::~Fleet() {
    links_.reset();
    modules_.clear();
    timers_.reset();
}

void Fleet::ConnectAll() {
    for (const auto& module : modules_) {
        module->Receive("AT+CONNECT!\r\n");
    }
}

}  // namespace sim::module
