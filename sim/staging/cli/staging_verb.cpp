// SPDX-License-Identifier: Apache-2.0
// `elsim staging register-oem | things`: the staging operator's verbs, over the staging
// account's control plane (sim/staging/README.md).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/operator_view.hpp"
#include "sim/staging/staging_client.hpp"
#include "sim/world/world_state.hpp"
#include "verbs.hpp"

namespace elsim {

namespace {

namespace fs = std::filesystem;

struct AccountArgs {
    fs::path world;
    std::string staging = "staging";
    std::string control_plane;  // URL; overrides world.json
    std::string account_id;     // overrides world.json
    std::string region;         // overrides world.json
};

struct Target {
    std::string url;
    std::string account_id;
    std::string region;
};

// Finds the staging account's control plane: --control-plane, else world.json's
// controlPlaneUrl of the account named --staging (which must be a staging account).
sim::Result<Target> ResolveAccount(const AccountArgs& args) {
    Target target{args.control_plane, args.account_id, args.region};
    if (!args.world.empty()) {
        const fs::path file = args.world / "world.json";
        auto text = sim::ReadFile(file);
        if (!text) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "--world: cannot read " + file.string());
        }
        auto world = sim::world::WorldStateFromJson(*text);
        if (!world) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "--world: " + file.string() + ": " + world.error().message);
        }
        const sim::world::AccountState* found = nullptr;
        for (const auto& account : world->accounts) {
            if (account.name == args.staging) {
                found = &account;
            }
        }
        if (found == nullptr || found->kind != sim::world::AccountKind::kStaging) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "--staging: no staging account '" + args.staging + "' in " +
                                      file.string());
        }
        if (target.url.empty()) {
            target.url = found->control_plane_url;
        }
        if (target.account_id.empty()) {
            target.account_id = found->account_id;
        }
        if (target.region.empty()) {
            target.region = world->region;
        }
    }
    if (target.url.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--control-plane: the staging account has no control plane URL "
                              "(world.json controlPlaneUrl is empty); pass --control-plane URL");
    }
    if (target.account_id.empty() || target.region.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--account-id/--region: required without --world");
    }
    return target;
}

// Credentials: the standard AWS sources when present; else, for the emulator, the account's
// emulated credentials (sim::controlplane::EmulatedAccountConfig, also used by
// sim::oem_account::MakeAccountClient). Unlike MakeAccountClient, this consults the
// environment first: `elsim staging` speaks for one account, which may be a world run with
// --verify-signatures, whereas `elsim onboard` holds clients for two accounts at once, which a
// single set of environment credentials cannot serve. The target may also come from
// --control-plane/--account-id without any world.json, so the two cannot share the lookup.
sim::Result<std::unique_ptr<sim::controlplane::AwsClient>> MakeClient(const Target& target) {
    auto config = sim::controlplane::ClientConfigFromEnvironment(target.url, target.region);
    // An emulated account's access key id is its 12-digit account id. Environment credentials
    // naming another emulated account (AWS_ACCESS_KEY_ID exported for an OEM account, to drive
    // it with the AWS CLI) are not this account's: the staging account's own are used then.
    const auto names_other_account = [&target](const std::string& key_id) {
        return key_id.size() == 12 &&
               key_id.find_first_not_of("0123456789") == std::string::npos &&
               key_id != target.account_id;
    };
    if (!config || names_other_account(config->credentials.access_key_id)) {
        config = sim::controlplane::EmulatedAccountConfig(target.url, target.region,
                                                          target.account_id);
    }
    auto client =
        sim::controlplane::MakeAwsClient(std::move(*config), std::make_shared<sim::SystemClock>());
    if (!client) {
        return sim::MakeError(client.error().code, "--control-plane: " + client.error().message);
    }
    return client;
}

void AddAccountOptions(CLI::App& verb, AccountArgs& args) {
    verb.add_option("--world", args.world, "World directory (world.json)");
    verb.add_option("--staging", args.staging, "Name of the staging account in world.json")
        ->capture_default_str();
    verb.add_option("--control-plane", args.control_plane,
                    "Control-plane URL of the staging account (overrides world.json)");
    verb.add_option("--account-id", args.account_id, "Staging account id (overrides world.json)");
    verb.add_option("--region", args.region, "Region (overrides world.json)");
}

int Fail(const char* verb, const sim::Error& error) {
    std::fprintf(stderr, "elsim staging %s: %s\n", verb, error.message.c_str());
    return error.code == sim::ErrorCode::kInvalidArgument ? kExitBadInput : kExitFailed;
}

}  // namespace

void AddStagingVerb(CLI::App& app, VerbContext& context) {
    auto* staging = app.add_subcommand(
        "staging", "The staging account's operator: register OEM claim-things, list modules");
    staging->require_subcommand(1);

    auto reg_args = std::make_shared<AccountArgs>();
    auto oem_name = std::make_shared<std::string>();
    auto cert_file = std::make_shared<fs::path>();
    auto* reg = staging->add_subcommand(
        "register-oem",
        "Register an OEM's claim-thing (OEM guide Appendix A): upload the claim certificate\n"
        "(never the private key), get the UUID the claim script uses as MQTT client id.\n"
        "Prints the UUID on stdout.");
    AddAccountOptions(*reg, *reg_args);
    reg->add_option("--name", *oem_name, "OEM (company) name, [A-Za-z0-9._-]{1,64}")->required();
    reg->add_option("--certificate", *cert_file,
                    "Claim-thing certificate PEM (created Inactive in the OEM's own account)")
        ->required();
    reg->callback([reg_args, oem_name, cert_file, &context] {
        auto pem = sim::ReadFile(*cert_file);
        if (!pem) {
            context.exit_code = Fail("register-oem", sim::Error{sim::ErrorCode::kInvalidArgument,
                                                                "--certificate: cannot read " +
                                                                    cert_file->string()});
            return;
        }
        sim::OsRandom random;
        auto plan = sim::staging::PlanOemRegistration(*oem_name, *pem, random);
        if (!plan) {
            context.exit_code = Fail("register-oem", plan.error());
            return;
        }
        auto target = ResolveAccount(*reg_args);
        if (!target) {
            context.exit_code = Fail("register-oem", target.error());
            return;
        }
        auto client = MakeClient(*target);
        if (!client) {
            context.exit_code = Fail("register-oem", client.error());
            return;
        }
        auto record =
            sim::staging::RegisterOemRemote(**client, *plan, target->region, target->account_id);
        if (!record) {
            context.exit_code = Fail("register-oem", record.error());
            return;
        }
        std::printf("%s\n", record->uuid.c_str());
        std::fprintf(stderr, "registered oem=%s uuid=%s certificate_id=%s\n",
                     record->oem_name.c_str(), record->uuid.c_str(),
                     record->certificate_id.c_str());
        context.exit_code = kExitOk;
    });

    auto list_args = std::make_shared<AccountArgs>();
    auto* things = staging->add_subcommand(
        "things",
        "The operator view: every module in staging (present = logged in once), whether it is\n"
        "connected, and its last claim (claim-thing UUID, OEM, endpoint, time), then the\n"
        "registered claim-things.");
    AddAccountOptions(*things, *list_args);
    things->callback([list_args, &context] {
        auto target = ResolveAccount(*list_args);
        if (!target) {
            context.exit_code = Fail("things", target.error());
            return;
        }
        auto client = MakeClient(*target);
        if (!client) {
            context.exit_code = Fail("things", client.error());
            return;
        }
        auto records = sim::staging::ListStagingThings(**client);
        if (!records) {
            context.exit_code = Fail("things", records.error());
            return;
        }
        const auto view = sim::staging::BuildOperatorView(*records);
        std::printf("%s", sim::staging::RenderOperatorView(view).c_str());
        context.exit_code = kExitOk;
    });
}

}  // namespace elsim
