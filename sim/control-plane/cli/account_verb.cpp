// SPDX-License-Identifier: Apache-2.0
// `elsim account serve`: the control plane of one or more emulated accounts as a standalone HTTP
// server (a world's accounts serve it from their brokers). State: DIR/<account-id>/registry.sqlite;
// the emulated AWS IoT CA that signs AWS-issued certificates: DIR/aws-iot-ca/.
#include <csignal>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/control_plane/issuer.hpp"
#include "sim/control_plane/server.hpp"
#include "sim/control_plane/sigv4.hpp"
#include "sim/core/adapters.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

using sim::controlplane::ControlPlaneServer;
using sim::controlplane::HostedAccount;

struct ServeArgs {
    std::string dir;
    std::string listen = "127.0.0.1:0";
    std::vector<std::string> accounts;
    std::vector<std::string> secrets;  // ID=SECRET
    bool verify_signatures = false;
    std::string region = "us-east-1";
    int threads = 8;
    std::string durability = "full";
};

bool IsAccountId(const std::string& text) {
    return text.size() == 12 && text.find_first_not_of("0123456789") == std::string::npos;
}

// Assumed: the endpoint prefix is derived from (account, region), so it is stable across
// restarts without being stored: 14 lowercase hex characters of SHA-256("<id>/<region>").
std::string EndpointPrefix(const std::string& account_id, const std::string& region) {
    return sim::controlplane::Sha256Hex(account_id + "/" + region).substr(0, 14);
}

int Serve(const ServeArgs& args) {
    auto log = sim::Logger("control-plane");
    const auto colon = args.listen.rfind(':');
    if (colon == std::string::npos) {
        std::fprintf(stderr, "elsim account: --listen: expected HOST:PORT, got %s\n",
                     args.listen.c_str());
        return kExitBadInput;
    }
    sim::controlplane::ServerOptions options;
    options.host = args.listen.substr(0, colon);
    try {
        options.port = std::stoi(args.listen.substr(colon + 1));
    } catch (const std::exception&) {
        options.port = -1;
    }
    if (options.port < 0 || options.port > 65535) {
        std::fprintf(stderr, "elsim account: --listen: bad port in %s\n", args.listen.c_str());
        return kExitBadInput;
    }
    options.verify_signatures = args.verify_signatures;
    options.threads = args.threads;

    std::vector<std::string> ids = args.accounts;
    if (ids.empty()) {
        ids.emplace_back("123456789012");
    }
    std::map<std::string, std::string> secrets;
    for (const auto& item : args.secrets) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || !IsAccountId(item.substr(0, eq))) {
            std::fprintf(stderr, "elsim account: --secret: expected ACCOUNT_ID=SECRET\n");
            return kExitBadInput;
        }
        secrets[item.substr(0, eq)] = item.substr(eq + 1);
    }
    for (const auto& id : ids) {
        if (!IsAccountId(id)) {
            std::fprintf(stderr, "elsim account: --account: %s is not a 12-digit account id\n",
                         id.c_str());
            return kExitBadInput;
        }
        if (args.verify_signatures && secrets.count(id) == 0) {
            std::fprintf(stderr,
                         "elsim account: --verify-signatures needs --secret %s=SECRET\n",
                         id.c_str());
            return kExitBadInput;
        }
    }

    // Block the stop signals before any thread starts, so that only sigwait() sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    auto clock = std::make_shared<sim::SystemClock>();
    auto random = std::make_shared<sim::OsRandom>();
    const std::filesystem::path dir = args.dir;
    auto issuer = sim::controlplane::PkiCertificateIssuer::LoadOrCreate(dir / "aws-iot-ca", clock);
    if (!issuer) {
        std::fprintf(stderr, "elsim account: %s\n", issuer.error().message.c_str());
        return kExitFailed;
    }
    std::vector<std::shared_ptr<HostedAccount>> accounts;
    for (const auto& id : ids) {
        HostedAccount::Options account_options;
        account_options.settings.account_id = id;
        account_options.settings.region = args.region;
        account_options.settings.endpoint_prefix = EndpointPrefix(id, args.region);
        account_options.database = dir / id / "registry.sqlite";
        account_options.secret_access_key = secrets.count(id) != 0 ? secrets[id] : std::string();
        account_options.durability = args.durability == "full"
                                         ? sim::controlplane::Durability::kFull
                                         : sim::controlplane::Durability::kProcessCrash;
        auto hosted = HostedAccount::Open(account_options, clock, random, nullptr);
        if (!hosted) {
            std::fprintf(stderr, "elsim account: %s\n", hosted.error().message.c_str());
            return kExitFailed;
        }
        accounts.push_back(std::move(*hosted));
    }
    auto server = ControlPlaneServer::Start(options, accounts, *issuer, random);
    if (!server) {
        std::fprintf(stderr, "elsim account: %s\n", server.error().message.c_str());
        return server.error().code == sim::ErrorCode::kInvalidArgument ? kExitBadInput
                                                                      : kExitFailed;
    }
    const std::string endpoint = (*server)->endpoint();
    for (const auto& id : ids) {
        log->info("serving account={} region={} signatures={}", id, args.region,
                  args.verify_signatures ? "verified" : "ignored");
    }
    std::printf("endpoint %s\n", endpoint.c_str());
    std::printf("elsim account: listening on %s\n", endpoint.c_str());
    std::fflush(stdout);
    int received = 0;
    sigwait(&stop_signals, &received);
    log->info("stopping signal={}", received);
    (*server)->Stop();
    return kExitOk;
}

}  // namespace

void AddAccountVerb(CLI::App& app, VerbContext& context) {
    auto* account = app.add_subcommand("account", "Emulated AWS IoT accounts");
    account->require_subcommand(1);
    auto args = std::make_shared<ServeArgs>();
    auto* serve = account->add_subcommand(
        "serve",
        "Serve the AWS IoT control-plane API (rest-json) of one or more accounts.\n"
        "The access key id of a request chooses the account: a 12-digit key is that account\n"
        "id, anything else the first --account. State lives in DIR/<account-id>/registry.sqlite.");
    serve->add_option("--dir", args->dir, "State directory")->required();
    serve->add_option("--listen", args->listen, "Loopback HOST:PORT (port 0: any free port)")
        ->capture_default_str();
    serve->add_option("--account", args->accounts,
                      "Account id to host (repeatable; default 123456789012)");
    serve->add_option("--secret", args->secrets,
                      "ACCOUNT_ID=SECRET: the secret access key of an account, checked with "
                      "--verify-signatures (repeatable)");
    serve->add_flag("--verify-signatures", args->verify_signatures,
                    "Verify SigV4 signatures (403 on a wrong secret)");
    serve->add_option("--region", args->region, "Region of the accounts")->capture_default_str();
    serve->add_option("--threads", args->threads, "HTTP worker threads")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    serve->add_option("--durability", args->durability,
                      "full: fsync every commit (survives power loss); process: survives a crash "
                      "or SIGKILL of the server, no fsync per commit")
        ->check(CLI::IsMember({"full", "process"}))
        ->capture_default_str();
    serve->callback([args, &context] { context.exit_code = Serve(*args); });
}

}  // namespace elsim
