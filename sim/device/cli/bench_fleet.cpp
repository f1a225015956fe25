// SPDX-License-Identifier: Apache-2.0
// `elsim bench fleet`: devices per second through fleet provisioning by claim on a local world's
// OEM account. Each device runs sim::device::RunProvision: claim connect, CreateCertificateFromCsr
// (EC P-256 key made on the device) or, with --keys, CreateKeysAndCertificate (RSA 2048 made by
// the account), RegisterThing, identity written, reconnect with the new certificate and one
// QoS 1 publish. N devices run on T threads (one thread per device in flight: the device's MQTT
// connections have no threads of their own); the figure is N / wall time of the run; the median
// of --runs runs is printed. The claim certificate is decoded once for all devices.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/device/fleet_setup.hpp"
#include "sim/device/provision.hpp"
#include "sim/onboarding/world.hpp"
#include "verbs.hpp"

namespace elsim {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct FleetBenchArgs {
    std::string world_file = "scenarios/worlds/default.yaml";
    std::size_t devices = 300;
    std::size_t threads = 16;
    std::size_t runs = 3;
    bool keys = false;
};

int RunFleetBench(const FleetBenchArgs& args) {
    auto fail = [](const std::string& message) {
        std::fprintf(stderr, "elsim bench fleet: %s\n", message.c_str());
        return kExitFailed;
    };
    auto scratch = sim::ScratchDirectory::Create(fs::temp_directory_path(), "elsim-bench-fleet");
    if (!scratch) {
        return fail(scratch.error().message);
    }
    const fs::path& dir = scratch->path();
    // Each device holds one connection at a time; mosquitto one descriptor per client.
    if (auto raised = sim::RaiseDescriptorLimit(4 * args.threads + 256); !raised) {
        return fail(raised.error().message);
    }

    auto world = sim::onboarding::LocalWorld::Start(args.world_file, dir / "world");
    if (!world) {
        std::fprintf(stderr, "elsim bench fleet: %s\n", world.error().message.c_str());
        return world.error().code == sim::ErrorCode::kInvalidArgument ? kExitBadInput
                                                                      : kExitFailed;
    }
    auto account = (*world)->Account("", sim::world::AccountKind::kOem);
    if (!account) {
        return fail("the world needs an OEM account");
    }
    const std::string region = (*world)->State().region;
    auto client = sim::onboarding::MakeAccountClient(*account, region);
    if (!client) {
        return fail(client.error().message);
    }
    sim::device::FleetSetUpOptions setup;
    setup.account_id = account->account_id;
    setup.region = region;
    setup.directory = dir;
    auto claim = sim::device::SetUpFleetByClaim(**client, setup);
    if (!claim) {
        return fail(claim.error().message);
    }
    const std::string endpoint = sim::onboarding::EndpointOf(*account);
    // Every device holds the same claim certificate: its files are decoded once, as a fleet's
    // firmware image carries it, and each device still makes its own connections.
    sim::device::ProvisionOptions common;
    common.endpoint = endpoint;
    common.world = dir / "world";
    common.claim_cert = claim->cert;
    common.claim_key = claim->key;
    common.template_name = setup.template_name;
    common.key_source = args.keys ? sim::device::KeySource::kCreateKeysAndCertificate
                                  : sim::device::KeySource::kCreateCertificateFromCsr;
    common.out = dir / "probe";
    auto target = sim::device::PrepareProvision(common);
    if (!target) {
        return fail(target.error().message);
    }
    auto claim_identity = sim::device::TlsIdentity::Load(target->root_ca, claim->cert, claim->key);
    if (!claim_identity) {
        return fail(claim_identity.error().message);
    }
    common.claim_identity = *claim_identity;

    std::vector<double> rates;
    for (std::size_t run = 0; run < args.runs; ++run) {
        const fs::path run_dir = dir / ("run-" + std::to_string(run));
        fs::create_directories(run_dir);
        std::atomic<std::size_t> next{0};
        std::atomic<std::size_t> provisioned{0};
        std::mutex first_error_mutex;
        std::string first_error;
        const auto started = Clock::now();
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < std::min(args.threads, args.devices); ++t) {
            pool.emplace_back([&] {
                for (std::size_t i = next++; i < args.devices; i = next++) {
                    sim::device::ProvisionOptions options = common;
                    const std::string serial = std::to_string(run) + "-" + std::to_string(i);
                    options.parameters = {{"SerialNumber", serial}};
                    options.client_id = "bench-device-" + serial;
                    options.out = run_dir / serial;
                    const auto report = sim::device::RunProvision(options);
                    if (report.outcome == sim::device::ProvisionReport::Outcome::kProvisioned) {
                        ++provisioned;
                    } else {
                        std::lock_guard lock(first_error_mutex);
                        if (first_error.empty()) {
                            first_error = report.error;
                        }
                    }
                }
            });
        }
        for (auto& thread : pool) {
            thread.join();
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        const double rate = seconds > 0 ? static_cast<double>(provisioned.load()) / seconds : 0;
        std::printf("  run %zu: %zu/%zu devices provisioned in %.3f s = %.1f devices/s\n", run + 1,
                    provisioned.load(), args.devices, seconds, rate);
        std::fflush(stdout);
        if (provisioned.load() != args.devices) {
            return fail("run " + std::to_string(run + 1) + ": " +
                        std::to_string(args.devices - provisioned.load()) +
                        " devices failed; first: " + first_error);
        }
        rates.push_back(rate);
        std::error_code ec;
        fs::remove_all(run_dir, ec);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("bench fleet: %zu devices x %zu runs, %zu threads, %s, account %s (%s)\n",
                args.devices, args.runs, args.threads,
                args.keys ? "CreateKeysAndCertificate" : "CreateCertificateFromCsr (EC P-256)",
                account->name.c_str(), endpoint.c_str());
    std::printf("  median: %.1f devices/s (min %.1f, max %.1f)\n", rates[rates.size() / 2],
                rates.front(), rates.back());
    (*world)->Stop();
    return kExitOk;
}

}  // namespace

void AddFleetBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<FleetBenchArgs>();
    auto* fleet = bench.add_subcommand(
        "fleet",
        "Devices/s through fleet provisioning by claim (claim connect, CreateCertificateFromCsr,\n"
        "RegisterThing, reconnect with the new certificate) on a local world's OEM account");
    fleet->add_option("--world", args->world_file, "World file (YAML)")->capture_default_str();
    fleet->add_option("--devices", args->devices, "Devices per run")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    fleet->add_option("--threads", args->threads, "Devices in flight at once")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    fleet->add_option("--runs", args->runs, "Runs (the median is printed)")
        ->check(CLI::Range(1, 50))
        ->capture_default_str();
    fleet->add_flag("--keys", args->keys,
                    "CreateKeysAndCertificate (the account makes RSA keys) instead of a CSR");
    fleet->callback([args, &context] { context.exit_code = RunFleetBench(*args); });
}

}  // namespace elsim
