// SPDX-License-Identifier: Apache-2.0
// `elsim bench claim`: claims per second from one claim-script process through the staging
// broker to connected software modules. One claim-thing session (Paho, QoS 1, client id = its
// UUID) publishes {"Endpoint": <OEM endpoint>} to every module's <ThingName>/expresslink_config;
// the figure is modules that left staging (CONLOST) per second, from the first publish to the
// last module seen leaving, and PUBACKs per second.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <mqtt/async_client.h>

#include "sim/core/adapters.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/at.hpp"
#include "sim/onboarding/world.hpp"
#include "sim/world/world.hpp"
#include "verbs.hpp"

namespace elsim {

namespace {

namespace fs = std::filesystem;
namespace onboarding = sim::onboarding;
using Clock = std::chrono::steady_clock;

struct ClaimBenchArgs {
    std::string world_file = sim::world::BundledWorldFile().string();
    std::size_t modules = 200;
    std::size_t threads = 8;
};

double PerSecond(std::size_t count, Clock::duration elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

// Runs `work(i)` for i in [0, count) on `threads` threads.
template <class Work>
void Parallel(std::size_t count, std::size_t threads, const Work& work) {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < std::min(threads, count); ++t) {
        pool.emplace_back([&] {
            for (std::size_t i = next++; i < count; i = next++) {
                work(i);
            }
        });
    }
    for (auto& thread : pool) {
        thread.join();
    }
}

int RunClaimBench(const ClaimBenchArgs& args) {
    auto fail = [](const std::string& message) {
        std::fprintf(stderr, "elsim bench claim: %s\n", message.c_str());
        return kExitFailed;
    };
    auto scratch = sim::ScratchDirectory::Create(fs::temp_directory_path(), "elsim-bench-claim");
    if (!scratch) {
        return fail(scratch.error().message);
    }
    const fs::path& dir = scratch->path();

    auto world = onboarding::LocalWorld::Start(args.world_file, dir / "world");
    if (!world) {
        std::fprintf(stderr, "elsim bench claim: %s\n", world.error().message.c_str());
        return world.error().code == sim::ErrorCode::kInvalidArgument ? kExitBadInput
                                                                       : kExitFailed;
    }
    auto staging = (*world)->Account("", sim::world::AccountKind::kStaging);
    auto target = (*world)->Account("", sim::world::AccountKind::kOem);
    if (!staging || !target) {
        return fail("the world needs a staging and an OEM account");
    }
    const std::string region = (*world)->State().region;
    auto staging_client = onboarding::MakeAccountClient(*staging, region);
    auto oem_client = onboarding::MakeAccountClient(*target, region);
    if (!staging_client || !oem_client) {
        return fail(!staging_client ? staging_client.error().message
                                    : oem_client.error().message);
    }
    sim::OsRandom random;
    auto claimer =
        onboarding::ObtainClaimThing(**oem_client, **staging_client, (*world)->State(), *staging,
                                     "elsim-bench", dir / "claim-thing", random);
    if (!claimer) {
        return fail(claimer.error().message);
    }
    auto identities = onboarding::MakeBirthIdentities((*world)->State().manufacturers.front(),
                                                      args.modules, dir / "modules");
    if (!identities) {
        return fail(identities.error().message);
    }
    auto fleet = onboarding::StartModules(**world, *staging, *identities, dir / "state");
    if (!fleet) {
        return fail(fleet.error().message);
    }
    const auto& modules = (*fleet)->modules();
    std::atomic<std::size_t> connected{0};
    Parallel(modules.size(), args.threads, [&](std::size_t i) {
        if (onboarding::ConnectWithRetry(*modules[i], 2, std::chrono::seconds{20})) {
            ++connected;
        }
    });
    if (connected.load() != modules.size()) {
        return fail(std::to_string(modules.size() - connected.load()) +
                    " modules did not connect to staging");
    }
    // The module subscribes to its config topic right after CONNECT; let the SUBACKs land.
    std::this_thread::sleep_for(std::chrono::milliseconds{500});

    // One claim-script session (sim/staging's claim script does one claim per connection; a
    // bulk registration portal keeps its session, which is what this measures).
    auto root_ca = (*world)->State().server_ca_file;
    auto address = (*world)->Endpoints().MakeResolver()(staging->endpoint, staging->mqtt_port);
    if (!address) {
        return fail("staging endpoint not in the endpoints map");
    }
    const std::string uri = "ssl://" + address->ip + ":" + std::to_string(address->port);
    const std::string endpoint = onboarding::EndpointOf(*target);
    std::size_t acked = 0;
    Clock::time_point started;
    Clock::time_point all_acked;
    try {
        mqtt::async_client client(uri, claimer->uuid, mqtt::create_options(MQTTVERSION_3_1_1));
        auto ssl = mqtt::ssl_options_builder()
                       .trust_store(root_ca)
                       .key_store(claimer->certificate_file.string())
                       .private_key(claimer->key_file.string())
                       .enable_server_cert_auth(true)
                       .verify(true)
                       .finalize();
        auto options = mqtt::connect_options_builder()
                           .mqtt_version(MQTTVERSION_3_1_1)
                           .clean_session(true)
                           .max_inflight(96)
                           .ssl(std::move(ssl))
                           .finalize();
        if (!client.connect(options)->wait_for(std::chrono::seconds{10})) {
            return fail("claim-thing: no CONNACK from staging");
        }
        const std::string payload = R"({"Endpoint":")" + endpoint + R"("})";
        std::vector<mqtt::delivery_token_ptr> tokens;
        tokens.reserve(modules.size());
        started = Clock::now();
        // A window of outstanding publishes (Paho buffers a limited number of commands).
        constexpr std::size_t kWindow = 96;
        for (std::size_t i = 0; i < modules.size(); ++i) {
            if (i >= kWindow && tokens[i - kWindow]->wait_for(std::chrono::seconds{10})) {
                ++acked;
            }
            const std::string topic = (*identities)[i].filename().string() + "/expresslink_config";
            tokens.push_back(client.publish(topic, payload.data(), payload.size(), 1, false));
        }
        for (std::size_t i = tokens.size() > kWindow ? tokens.size() - kWindow : 0;
             i < tokens.size(); ++i) {
            if (tokens[i]->wait_for(std::chrono::seconds{10})) {
                ++acked;
            }
        }
        all_acked = Clock::now();
        client.disconnect()->wait_for(std::chrono::seconds{5});
    } catch (const mqtt::exception& e) {
        return fail(std::string("claim-thing: ") + e.what());
    }
    std::atomic<std::size_t> left{0};
    Parallel(modules.size(), args.threads, [&](std::size_t i) {
        if (onboarding::WaitForEvent(*modules[i], " CONLOST", std::chrono::seconds{10})) {
            ++left;
        }
    });
    const auto all_left = Clock::now();
    std::printf("bench claim: %zu modules, one claim-thing session through staging %s\n",
                modules.size(), staging->endpoint.c_str());
    std::printf("  PUBACKed claims: %zu in %.3f s = %.0f claims/s\n", acked,
                std::chrono::duration<double>(all_acked - started).count(),
                PerSecond(acked, all_acked - started));
    std::printf("  modules that left staging (CONLOST): %zu in %.3f s = %.0f claims/s\n",
                left.load(), std::chrono::duration<double>(all_left - started).count(),
                PerSecond(left.load(), all_left - started));
    fleet->reset();
    (*world)->Stop();
    return left.load() == modules.size() ? kExitOk : kExitFailed;
}

}  // namespace

void AddClaimBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<ClaimBenchArgs>();
    auto* claim = bench.add_subcommand(
        "claim",
        "Claims/s from one claim-script session through the staging broker to connected modules");
    claim->add_option("--world", args->world_file, "World file (YAML)")
        ->check(CLI::ExistingFile)
        ->capture_default_str();
    claim->add_option("--modules", args->modules, "Connected software modules to claim")
        ->check(CLI::Range(1, 5000))
        ->capture_default_str();
    claim->add_option("--threads", args->threads, "Host threads driving the modules")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    claim->callback([args, &context] { context.exit_code = RunClaimBench(*args); });
}

}  // namespace elsim
