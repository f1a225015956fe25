// SPDX-License-Identifier: Apache-2.0
// `elsim bench control-plane`: requests/s of DescribeCertificate (reads) and CreateThing
// (durable writes) against an in-process server on loopback, driven by the project's own
// SigV4 client over keep-alive connections (one connection per client thread). Prints the
// median of several runs. A benchmark, not a timed test.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/control_plane/aws_client.hpp"
#include "sim/control_plane/issuer.hpp"
#include "sim/control_plane/server.hpp"
#include "sim/core/adapters.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

using sim::controlplane::AwsClient;
using sim::controlplane::ClientConfig;

struct BenchArgs {
    double seconds = 2.0;
    int connections = 2;
    int runs = 3;
    int server_threads = 8;
    std::string durability = "full";
};

// Runs `call(client, thread, i)` on every connection for `seconds`; returns requests/s.
// Returns a negative value when a call failed.
template <class Call>
double Measure(std::vector<std::unique_ptr<AwsClient>>& clients, double seconds, Call call) {
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::vector<std::uint64_t> counts(clients.size(), 0);
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t t = 0; t < clients.size(); ++t) {
        threads.emplace_back([&, t] {
            std::uint64_t i = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                if (!call(*clients[t], t, i)) {
                    failed = true;
                    return;
                }
                ++i;
            }
            counts[t] = i;
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& thread : threads) {
        thread.join();
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed) {
        return -1;
    }
    std::uint64_t total = 0;
    for (auto count : counts) {
        total += count;
    }
    return static_cast<double>(total) / elapsed;
}

double Median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

int RunBench(const BenchArgs& args) {
    // Declared first, so removed last: after the account has closed its database.
    auto scratch =
        sim::ScratchDirectory::Create(std::filesystem::temp_directory_path(), "elsim-bench-cp");
    if (!scratch) {
        std::fprintf(stderr, "bench control-plane: %s\n", scratch.error().message.c_str());
        return kExitFailed;
    }
    const std::filesystem::path dir = scratch->path();
    auto clock = std::make_shared<sim::SystemClock>();
    auto random = std::make_shared<sim::OsRandom>();
    auto issuer = sim::controlplane::PkiCertificateIssuer::LoadOrCreate(dir / "aws-iot-ca", clock);
    if (!issuer) {
        std::fprintf(stderr, "bench control-plane: %s\n", issuer.error().message.c_str());
        return kExitFailed;
    }
    sim::controlplane::HostedAccount::Options account;
    account.settings = {"123456789012", "us-east-1", "benchbenchbenc", "elsim.test"};
    account.database = dir / "123456789012" / "registry.sqlite";
    account.durability = args.durability == "full" ? sim::controlplane::Durability::kFull
                                                   : sim::controlplane::Durability::kProcessCrash;
    auto hosted = sim::controlplane::HostedAccount::Open(account, clock, random, nullptr);
    if (!hosted) {
        std::fprintf(stderr, "bench control-plane: %s\n", hosted.error().message.c_str());
        return kExitFailed;
    }
    sim::controlplane::ServerOptions options;
    options.threads = args.server_threads;
    auto server = sim::controlplane::ControlPlaneServer::Start(options, {*hosted}, *issuer, random);
    if (!server) {
        std::fprintf(stderr, "bench control-plane: %s\n", server.error().message.c_str());
        return kExitFailed;
    }
    ClientConfig config;
    config.endpoint = (*server)->endpoint();
    config.credentials = {"123456789012", "bench", ""};
    std::vector<std::unique_ptr<AwsClient>> clients;
    for (int i = 0; i < args.connections; ++i) {
        clients.push_back(std::make_unique<AwsClient>(config, clock));
    }
    auto created = clients[0]->Call("POST", "/keys-and-certificate");
    if (!created) {
        std::fprintf(stderr, "bench control-plane: CreateKeysAndCertificate: %s\n",
                     created.error().message.c_str());
        return kExitFailed;
    }
    const std::string certificate_path =
        AwsClient::Path({"certificates", (*created)["certificateId"].get<std::string>()});

    std::vector<double> reads;
    std::vector<double> writes;
    for (int run = 0; run < args.runs; ++run) {
        reads.push_back(Measure(clients, args.seconds, [&](AwsClient& client, std::size_t, std::uint64_t) {
            return client.Call("GET", certificate_path).has_value();
        }));
        const auto before = (*hosted)->CommitStats();
        writes.push_back(Measure(clients, args.seconds, [&](AwsClient& client, std::size_t t, std::uint64_t i) {
            const std::string name =
                "bench-" + std::to_string(run) + "-" + std::to_string(t) + "-" + std::to_string(i);
            return client.Call("POST", AwsClient::Path({"things", name}), {}, nlohmann::json::object())
                .has_value();
        }));
        const auto after = (*hosted)->CommitStats();
        const auto transactions = after.first - before.first;
        const auto requests = after.second - before.second;
        std::printf("run %d: DescribeCertificate %.0f req/s, CreateThing %.0f req/s "
                    "(%.1f writes per transaction)\n",
                    run + 1, reads.back(), writes.back(),
                    transactions == 0 ? 0.0
                                      : static_cast<double>(requests) /
                                            static_cast<double>(transactions));
        if (reads.back() < 0 || writes.back() < 0) {
            std::fprintf(stderr, "bench control-plane: a request failed\n");
            return kExitFailed;
        }
    }
    std::printf("control-plane: DescribeCertificate median %.0f req/s, CreateThing (durable) "
                "median %.0f req/s; durability %s, %d connections, %d server threads, %d runs of "
                "%.1f s\n",
                Median(reads), Median(writes), args.durability.c_str(), args.connections,
                args.server_threads, args.runs, args.seconds);
    (*server)->Stop();
    server->reset();
    hosted->reset();
    return kExitOk;
}

}  // namespace

void AddControlPlaneBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<BenchArgs>();
    auto* cmd = bench.add_subcommand(
        "control-plane",
        "DescribeCertificate and CreateThing requests/s over keep-alive loopback connections");
    cmd->add_option("--seconds", args->seconds, "Seconds per measurement")->capture_default_str();
    cmd->add_option("--connections", args->connections, "Client connections (one thread each)")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--runs", args->runs, "Runs (the median is reported)")
        ->check(CLI::Range(1, 50))
        ->capture_default_str();
    cmd->add_option("--server-threads", args->server_threads, "Server worker threads")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    cmd->add_option("--durability", args->durability,
                    "full (fsync per commit) or process (survives SIGKILL, no fsync)")
        ->check(CLI::IsMember({"full", "process"}))
        ->capture_default_str();
    cmd->callback([args, &context] { context.exit_code = RunBench(*args); });
}

}  // namespace elsim
