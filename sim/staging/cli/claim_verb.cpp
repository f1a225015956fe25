// SPDX-License-Identifier: Apache-2.0
// `elsim claim`: the OEM claim-script (sim/staging/README.md "elsim claim").
#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>

#include "sim/staging/claim_client.hpp"
#include "sim/world/world.hpp"
#include "sim/world/world_trust.hpp"
#include "verbs.hpp"

namespace elsim {

void AddClaimVerb(CLI::App& app, VerbContext& context) {
    auto options = std::make_shared<sim::staging::ClaimOptions>();
    auto wait_seconds = std::make_shared<int>(0);
    auto settle_ms = std::make_shared<int>(500);
    auto timeout_s = std::make_shared<int>(10);
    auto payload = std::make_shared<std::string>();
    auto* verb = app.add_subcommand(
        "claim",
        "Claim a module in staging for an OEM account (onboarding-by-claim): connect to the\n"
        "staging endpoint as the OEM's claim-thing (mTLS, MQTT 3.1.1, client id = UUID) and\n"
        "publish {\"Endpoint\": \"<OEM endpoint>\"} on <ThingName>/expresslink_config, QoS 1.\n"
        "Prints one line: accepted (PUBACK, no disconnect within --settle) or refused.\n"
        "Exit 0 accepted, 1 refused (or, with --wait, the module did not leave), 2 bad input.");
    verb->add_option("--staging", options->staging,
                     "Staging endpoint host[:port] (port 8883 by default). Names under "
                     ".elsim.test are looked up in DIR/world.json; others are real host names. "
                     "Default with --world: the world's staging account");
    verb->add_option("--claim-cert", options->claim_cert, "Claim-thing certificate (PEM)")
        ->required();
    verb->add_option("--claim-key", options->claim_key, "Claim-thing private key (PEM)")
        ->required();
    verb->add_option("--uuid", options->uuid,
                     "The claim-thing UUID from registration (the MQTT client id)")
        ->required();
    verb->add_option("--thing", options->thing, "ThingName of the module to claim")->required();
    auto* endpoint = verb->add_option(
        "--endpoint", options->endpoint,
        "OEM account ATS endpoint host[:port] to send the module to (with --world, also an "
        "account name of the world, e.g. oem-a)");
    auto* raw = verb->add_option("--raw-payload", *payload,
                                 "Testing: publish this payload verbatim instead of the "
                                 "Endpoint JSON (to see the staging account refuse it)");
    endpoint->excludes(raw);
    verb->add_option("--root-ca", options->root_ca,
                     "CA file to verify the staging endpoint (default: serverCaFile of "
                     "--world; for real AWS: AmazonRootCA1.pem)");
    verb->add_option("--world", options->world,
                     "World directory (world.json: endpoints map and serverCaFile)");
    verb->add_option("--wait", *wait_seconds,
                     "Also watch $aws/events/presence/{disconnected,connected}/<ThingName> for "
                     "SECONDS after the publish: report whether the module left staging and "
                     "did not return")
        ->check(CLI::Range(0, 3600));
    verb->add_option("--settle", *settle_ms,
                     "Milliseconds to wait after PUBACK for the broker to close the connection "
                     "(AWS closes an MQTT 3.1.1 client whose publish it refuses)")
        ->check(CLI::Range(0, 60000))
        ->capture_default_str();
    verb->add_option("--timeout", *timeout_s, "Seconds per MQTT operation (connect, publish)")
        ->check(CLI::Range(1, 600))
        ->capture_default_str();
    verb->callback([options, wait_seconds, settle_ms, timeout_s, payload, raw, &context] {
        options->wait = std::chrono::seconds{*wait_seconds};
        options->settle = std::chrono::milliseconds{*settle_ms};
        options->timeout = std::chrono::seconds{*timeout_s};
        if (raw->count() > 0) {
            options->raw_payload = *payload;
        } else if (options->endpoint.empty()) {
            std::fprintf(stderr, "elsim claim: --endpoint: required\n");
            context.exit_code = kExitBadInput;
            return;
        }
        if (!options->world.empty()) {
            auto world = sim::world::ReadWorld(options->world);
            if (!world) {
                std::fprintf(stderr, "elsim claim: --world %s\n", world.error().message.c_str());
                context.exit_code = kExitBadInput;
                return;
            }
            // Account names stand for their endpoints; --staging defaults to the world's.
            for (const auto& account : world->accounts) {
                if (options->staging.empty() &&
                    account.kind == sim::world::AccountKind::kStaging) {
                    options->staging = account.endpoint;
                }
                if (options->endpoint == account.name) {
                    options->endpoint = account.endpoint;
                }
            }
            // A claim certificate the world's staging account cannot verify would only show as
            // a TLS connect failure: say it before connecting.
            if (auto trusted = sim::world::CheckWorldTrusts(*world, options->claim_cert, {},
                                                            sim::world::ClientRole::kClaimThing);
                !trusted) {
                std::fprintf(stderr, "elsim claim: --claim-cert %s\n",
                             trusted.error().message.c_str());
                context.exit_code = kExitBadInput;
                return;
            }
        }
        if (options->staging.empty()) {
            std::fprintf(stderr, "elsim claim: --staging: required without --world\n");
            context.exit_code = kExitBadInput;
            return;
        }
        const auto report = sim::staging::RunClaim(*options);
        if (report.outcome == sim::staging::ClaimReport::Outcome::kBadInput) {
            std::fprintf(stderr, "elsim claim: %s\n", report.claim_line.c_str());
            context.exit_code = kExitBadInput;
            return;
        }
        std::printf("%s\n", report.claim_line.c_str());
        if (!report.watch_line.empty()) {
            std::printf("%s\n", report.watch_line.c_str());
        }
        std::fflush(stdout);
        context.exit_code = sim::staging::ExitCodeOf(report);
    });
}

}  // namespace elsim
