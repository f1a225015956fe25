// SPDX-License-Identifier: Apache-2.0
// `elsim onboard` (the main job) and `elsim oem-account setup` (OEM guide Appendix B and C
// against a running world). sim/oem-account/README.md.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "sim/core/adapters.hpp"
#include "sim/oem_account/oem_account.hpp"
#include "sim/oem_account/onboard.hpp"
#include "sim/onboarding/world.hpp"
#include "sim/world/world.hpp"
#include "verbs.hpp"

namespace elsim {

namespace {

namespace fs = std::filesystem;
namespace oem = sim::oem_account;

std::atomic<bool> g_interrupted{false};

void OnOnboardStopSignal(int /*signal*/) { g_interrupted.store(true); }

// SIGINT/SIGTERM only set a flag: the job stops at its next step and tears the world down.
// Whatever the job is blocked in, the process ends within kStopGrace of the signal: a watchdog
// then exits (the brokers die with this process, PR_SET_PDEATHSIG).
constexpr std::chrono::seconds kStopGrace{30};

class StopSignals {
public:
    StopSignals() {
        struct sigaction action {};
        action.sa_handler = OnOnboardStopSignal;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &previous_int_);
        sigaction(SIGTERM, &action, &previous_term_);
        watchdog_ = std::thread([this] {
            std::unique_lock lock(mutex_);
            while (!done_ && !g_interrupted.load()) {
                changed_.wait_for(lock, std::chrono::milliseconds{100});
            }
            if (done_) {
                return;
            }
            if (!changed_.wait_for(lock, kStopGrace, [this] { return done_; })) {
                std::fprintf(stderr,
                             "elsim onboard: still not stopped %lld s after the stop signal; "
                             "exiting\n",
                             static_cast<long long>(kStopGrace.count()));
                std::fflush(nullptr);
                std::_Exit(kExitFailed);
            }
        });
    }
    ~StopSignals() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        changed_.notify_all();
        watchdog_.join();
        sigaction(SIGINT, &previous_int_, nullptr);
        sigaction(SIGTERM, &previous_term_, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    struct sigaction previous_int_ {};
    struct sigaction previous_term_ {};
    std::mutex mutex_;
    std::condition_variable changed_;
    bool done_ = false;
    std::thread watchdog_;
};

struct OnboardArgs {
    oem::OnboardOptions options;
    std::string world_file = sim::world::BundledWorldFile().string();
    std::string dir;
};

int RunOnboardVerb(const OnboardArgs& args) {
    oem::OnboardOptions options = args.options;
    options.world_file = args.world_file;
    options.directory = args.dir;
    options.interrupted = &g_interrupted;
    StopSignals signals;
    auto summary = oem::RunOnboard(options, [](const std::string& line) {
        std::fprintf(stdout, "%s\n", line.c_str());
        std::fflush(stdout);
    });
    if (!summary) {
        std::fprintf(stderr, "elsim onboard: %s\n", summary.error().message.c_str());
        switch (summary.error().code) {
            case sim::ErrorCode::kInvalidArgument:
                return kExitBadInput;
            // Addresses or ports in use, mosquitto or the plugin missing, no free address block,
            // files that cannot be written: the machine, not the request.
            case sim::ErrorCode::kNotFound:
            case sim::ErrorCode::kUnavailable:
            case sim::ErrorCode::kResourceExhausted:
            case sim::ErrorCode::kIo:
                return kExitEnvironment;
            default:
                return kExitFailed;
        }
    }
    std::fprintf(stdout, "%s\n", summary->summary_line.c_str());
    std::fflush(stdout);
    const bool all = summary->failed == 0 && summary->onboarded == options.modules;
    return all && !g_interrupted.load() ? kExitOk : kExitFailed;
}

struct SetupArgs {
    fs::path world;
    std::string account;
    std::string manufacturer;
    bool without_ca = false;
    bool without_template = false;
    bool without_auto_registration = false;
};

int RunSetupVerb(const SetupArgs& args) {
    auto fail = [](sim::ErrorCode code, const std::string& message) {
        std::fprintf(stderr, "elsim oem-account setup: %s\n", message.c_str());
        return code == sim::ErrorCode::kInvalidArgument ? kExitBadInput : kExitFailed;
    };
    if (static_cast<int>(args.without_ca) + static_cast<int>(args.without_template) +
            static_cast<int>(args.without_auto_registration) >
        1) {
        return fail(sim::ErrorCode::kInvalidArgument,
                    "--without-ca, --without-template and --without-auto-registration exclude "
                    "each other");
    }
    auto world = sim::world::ReadWorld(args.world);
    if (!world) {
        return fail(sim::ErrorCode::kInvalidArgument, "--world: " + world.error().message);
    }
    const sim::world::AccountState* account = nullptr;
    for (const auto& a : world->accounts) {
        if (a.name == args.account) {
            account = &a;
        }
    }
    if (account == nullptr || account->kind != sim::world::AccountKind::kOem) {
        return fail(sim::ErrorCode::kInvalidArgument,
                    "--account: no OEM account '" + args.account + "' in " +
                        (args.world / "world.json").string());
    }
    const sim::world::ManufacturerState* manufacturer = nullptr;
    for (const auto& m : world->manufacturers) {
        if (m.name == args.manufacturer) {
            manufacturer = &m;
        }
    }
    if (manufacturer == nullptr) {
        return fail(sim::ErrorCode::kInvalidArgument,
                    "--manufacturer: no manufacturer '" + args.manufacturer + "' in " +
                        (args.world / "world.json").string());
    }
    auto ca_pem = sim::ReadFile(manufacturer->ca_certificate_file);
    if (!ca_pem) {
        return fail(sim::ErrorCode::kInvalidArgument, "--manufacturer: " + ca_pem.error().message);
    }
    auto client = sim::onboarding::MakeAccountClient(*account, world->region);
    if (!client) {
        return fail(client.error().code, client.error().message);
    }
    oem::SetupOptions options;
    options.region = world->region;
    options.account_id = account->account_id;
    if (args.without_ca) {
        options.variant = oem::SetupVariant::kWithoutCa;
    } else if (args.without_template) {
        options.variant = oem::SetupVariant::kWithoutTemplate;
    } else if (args.without_auto_registration) {
        options.variant = oem::SetupVariant::kWithoutAutoRegistration;
    }
    auto report = oem::ConfigureOemAccount(**client, *ca_pem, options, [&](const auto& step) {
        std::fprintf(stdout, "%s: %s %s %s\n", account->name.c_str(), step.operation.c_str(),
                     step.outcome.c_str(), step.detail.c_str());
        std::fflush(stdout);
    });
    if (!report) {
        return fail(report.error().code, report.error().message);
    }
    std::fprintf(stdout, "%s configured (%s): caCertificateId=%s policy=%s template=%s\n",
                 account->name.c_str(), oem::ToString(options.variant),
                 report->ca_certificate_id.empty() ? "-" : report->ca_certificate_id.c_str(),
                 report->policy_name.c_str(),
                 report->template_name.empty() ? "-" : report->template_name.c_str());
    return kExitOk;
}

}  // namespace

void AddOnboardVerb(CLI::App& app, VerbContext& context) {
    // elsim onboard
    auto args = std::make_shared<OnboardArgs>();
    auto* onboard = app.add_subcommand(
        "onboard",
        "The main job: a real onboarding-by-claim on a local world. One manufacturer CA, one\n"
        "staging account, one OEM account set up as the OEM guide's Appendix B and C say\n"
        "(through its control plane), N software modules that connect to staging, are claimed,\n"
        "move to the OEM account, are provisioned by JITP and publish a message. Prints each\n"
        "step and a one-line summary; exit 0 all onboarded, 1 a module failed, 2 bad input, 3\n"
        "the machine cannot run it (addresses in use, mosquitto missing).");
    onboard->add_option("--world", args->world_file, "World file (YAML)")
        ->check(CLI::ExistingFile)
        ->capture_default_str();
    onboard->add_option("--dir", args->dir,
                        "Working directory (default: a temporary one, removed at the end)");
    onboard->add_flag("--keep", args->options.keep, "Keep the temporary directory");
    onboard->add_option("--modules", args->options.modules, "Number of software modules")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    onboard->add_option("--oem-account", args->options.oem_account,
                        "OEM account of the world (default: the first)");
    onboard->add_option("--manufacturer", args->options.manufacturer,
                        "Manufacturer of the world (default: the first)");
    onboard->add_option("--workers", args->options.workers,
                        "Modules onboarded in parallel (each waits out its back-off after the "
                        "JITP drop, so many in flight hide it)")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    onboard->add_option("--claim-things", args->options.claim_things,
                        "Claim-things the OEM registers in staging; each keeps one session open "
                        "and claims at most 100 modules/s through it")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    onboard->add_flag("--explain", args->options.explain,
                      "Brokers log the reason of every refusal (DIR/world/accounts/*/broker.log)");
    onboard->callback([args, &context] { context.exit_code = RunOnboardVerb(*args); });

    // elsim oem-account setup
    auto setup_args = std::make_shared<SetupArgs>();
    auto* oem_account = app.add_subcommand(
        "oem-account", "An OEM account of a running world: configure it for onboarding-by-claim");
    oem_account->require_subcommand(1);
    auto* setup = oem_account->add_subcommand(
        "setup",
        "OEM guide Appendix B and C through the account's control plane: register the\n"
        "manufacturer CA (SNI_ONLY, active, auto-registration), a device policy, a JITP\n"
        "provisioning template, the template linked to the CA. Idempotent. The --without-*\n"
        "variants reproduce misrouted-claim rows 4 and 5.");
    setup->add_option("--world", setup_args->world, "World directory (world.json)")->required();
    setup->add_option("--account", setup_args->account, "OEM account name")->required();
    setup->add_option("--manufacturer", setup_args->manufacturer, "Manufacturer whose CA to trust")
        ->required();
    setup->add_flag("--without-ca", setup_args->without_ca,
                    "Do not register the manufacturer CA (row 4)");
    setup->add_flag("--without-template", setup_args->without_template,
                    "Register the CA with auto-registration but no JITP template (row 5)");
    setup->add_flag("--without-auto-registration", setup_args->without_auto_registration,
                    "Register the CA without auto-registration (row 5)");
    setup->callback([setup_args, &context] { context.exit_code = RunSetupVerb(*setup_args); });
}

}  // namespace elsim
