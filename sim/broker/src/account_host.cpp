// SPDX-License-Identifier: Apache-2.0
#include "account_host.hpp"

#include <algorithm>
#include <csignal>
#include <functional>
#include <thread>
#include <variant>
#include <utility>

#include <nlohmann/json.hpp>
#include <pthread.h>

#include "pki/capath.hpp"
#include "pki/certificate.hpp"
#include "sim/broker/file_default_mode_ca_index.hpp"
#include "sim/control_plane/issuer.hpp"
#include "sim/core/adapters.hpp"
#include "sim/staging/first_login.hpp"
#include "sim/staging/staging.hpp"
#include "worker_pool.hpp"

namespace sim::broker {
namespace fs = std::filesystem;
namespace account = sim::account;
namespace cp = sim::controlplane;

namespace {

// "<prefix>-ats.iot.<region>.<domain>" -> settings whose DescribeEndpoint returns it.
sim::Status ApplyEndpoint(const std::string& endpoint, const std::string& region,
                          account::AccountSettings& settings) {
    const std::string middle = "-ats.iot." + region + ".";
    const auto at = endpoint.find(middle);
    if (at == std::string::npos || at == 0 || at + middle.size() >= endpoint.size()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "plugin_opt_endpoint: '" + endpoint + "' is not <prefix>-ats.iot." +
                                  region + ".<domain>");
    }
    settings.endpoint_prefix = endpoint.substr(0, at);
    settings.domain = endpoint.substr(at + middle.size());
    return {};
}

// Blocks every signal in threads started while alive: mosquitto's handlers must run on its
// own thread (a SIGTERM taken by an HTTP worker would not wake the broker's loop).
class BlockSignals {
public:
    BlockSignals() {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous_);
    }
    ~BlockSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
    BlockSignals(const BlockSignals&) = delete;
    BlockSignals& operator=(const BlockSignals&) = delete;

private:
    sigset_t previous_{};
};

// The world's DEFAULT-mode CA index under `<shared_dir>/default-mode-cas/` (created when the
// shared directory exists but the slot directory does not yet).
sim::Result<std::shared_ptr<FileDefaultModeCaIndex>> OpenSharedIndex(const fs::path& shared_dir) {
    std::error_code ec;
    if (!fs::is_directory(shared_dir, ec)) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "plugin_opt_shared_dir: " + shared_dir.string() +
                (fs::exists(shared_dir, ec) ? ": not a directory" : ": no such directory"));
    }
    const fs::path slots = shared_dir / "default-mode-cas";
    fs::create_directories(slots, ec);
    auto index = FileDefaultModeCaIndex::Open(slots);
    if (!index) {
        return sim::MakeError(index.error().code,
                              "plugin_opt_shared_dir: " + index.error().message);
    }
    return std::shared_ptr<FileDefaultModeCaIndex>(std::move(*index));
}

// Calls `visit` with every CA certificate of `registry`, page by page (ListCACertificates,
// 250 a page, at most 10000 pages); stops early if a page cannot be listed.
void ForEachCaCertificate(const account::Registry& registry,
                          const std::function<void(const account::CaCertificate&)>& visit) {
    account::PageRequest page;
    page.page_size = 250;
    for (int guard = 0; guard < 10000; ++guard) {
        auto listed = registry.ListCACertificates(page);
        if (!listed) {
            return;
        }
        for (const auto& summary : listed->certificates) {
            if (const auto* ca = registry.FindCaCertificate(summary.certificate_id)) {
                visit(*ca);
            }
        }
        if (!listed->next_marker) {
            return;
        }
        page.marker = listed->next_marker;
    }
}

// Registry::Load re-claimed the slot of every DEFAULT-mode CA the account has. A slot it still
// holds for a CA it no longer has is left from a crash between the claim and the commit of
// RegisterCACertificate (or between DeleteCACertificate's commit and its release): free it, as
// the registry would have.
sim::Status ReleaseStaleSlots(cp::HostedAccount& hosted, FileDefaultModeCaIndex& index) {
    std::set<std::string> keep;
    hosted.Read([&](const account::Registry& registry) {
        ForEachCaCertificate(registry, [&](const account::CaCertificate& ca) {
            if (ca.certificate_mode == account::CertificateMode::kDefault) {
                keep.insert(ca.certificate_id);
            }
        });
    });
    const auto& settings = hosted.settings();
    auto released = index.ReleaseAllExcept(settings.region, settings.account_id, keep);
    if (!released) {
        return sim::MakeError(released.error().code,
                              "plugin_opt_shared_dir: " + released.error().message);
    }
    for (const auto& id : *released) {
        sim::Logger("broker")->warn("default-mode CA slot released at start ca_id={} account={}",
                                    id, settings.account_id);
    }
    return {};
}

// Hands ExecuteFleetRequest what the adapter issued before taking the account lock (key
// generation and signing stay outside it).
class PreIssued final : public account::FleetIssuer {
public:
    std::optional<account::AwsResult<Keys>> keys;
    std::optional<account::AwsResult<pki::CertificateInfo>> certificate;
    account::AwsResult<Keys> CreateKeysAndCertificate() override {
        return keys ? *keys : account::Fail(account::error_type::kInternalFailure, "not issued");
    }
    account::AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(std::string_view) override {
        return certificate ? *certificate
                           : account::Fail(account::error_type::kInternalFailure, "not issued");
    }
};

}  // namespace

// AWS IoT Core Developer Guide, "Pre-provisioning hooks", "Pre-provisioning hook return
// value": the function must complete and return within 5 seconds, or the provisioning request
// fails.
constexpr std::chrono::seconds kHookTimeLimit{5};

AccountHost::AccountHost(AccountHostOptions options) : options_(std::move(options)) {}

AccountHost::~AccountHost() {
    // Workers first: their jobs use the account. A running hook is cancelled.
    stopping_ = true;
    hook_workers_.reset();
    key_workers_.reset();
    if (server_) {
        server_->Stop();
    }
    server_.reset();
    view_.reset();
    hosted_.reset();
}

std::string AccountHost::ControlPlaneUrl() const { return server_ ? server_->endpoint() : ""; }

sim::Result<std::unique_ptr<AccountHost>> AccountHost::Start(const AccountHostOptions& options) {
    if (options.account_dir.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "plugin_opt_account_dir is missing");
    }
    if (options.account_id.size() != 12 ||
        options.account_id.find_first_not_of("0123456789") != std::string::npos) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "plugin_opt_account_id: '" + options.account_id +
                                  "' is not 12 digits");
    }
    std::unique_ptr<AccountHost> host(new AccountHost(options));
    host->clock_ = options.clock ? options.clock : std::make_shared<sim::SystemClock>();
    host->random_ = options.seed ? std::make_shared<sim::OsRandom>(*options.seed)
                                 : std::make_shared<sim::OsRandom>();

    cp::HostedAccount::Options account_options;
    account_options.settings.account_id = options.account_id;
    account_options.settings.region = options.region;
    if (auto s = ApplyEndpoint(options.endpoint, options.region, account_options.settings); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    std::error_code ec;
    fs::create_directories(options.account_dir, ec);
    account_options.database = options.account_dir / "registry.sqlite";
    // Assumed: an account's registry survives a crash of its broker process (WAL, no fsync
    // per commit); power loss may lose the last writes. Keeps first connects fast.
    account_options.durability = cp::Durability::kProcessCrash;
    account_options.keep_effects = true;
    account_options.secret_access_key = options.secret_access_key;
    std::shared_ptr<FileDefaultModeCaIndex> shared_index;
    if (!options.shared_dir.empty()) {
        auto index = OpenSharedIndex(options.shared_dir);
        if (!index) {
            return sim::Unexpected<sim::Error>(index.error());
        }
        shared_index = std::move(*index);
    }
    auto hosted =
        cp::HostedAccount::Open(account_options, host->clock_, host->random_, shared_index);
    if (!hosted) {
        return sim::Unexpected<sim::Error>(hosted.error());
    }
    host->hosted_ = std::move(*hosted);
    if (shared_index) {
        if (auto s = ReleaseStaleSlots(*host->hosted_, *shared_index); !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
    }

    if (options.staging) {
        if (options.manufacturer_ca.empty()) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "plugin_opt_manufacturer_ca is required for kind=staging");
        }
        auto pem = sim::ReadFile(options.manufacturer_ca);
        if (!pem) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "plugin_opt_manufacturer_ca: " + pem.error().message);
        }
        auto info = pki::ParseCertificatePem(*pem);
        if (!info) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "plugin_opt_manufacturer_ca: " + options.manufacturer_ca.string() +
                                      ": " + info.error().message);
        }
        std::string failure;
        auto ran = host->hosted_->Run([&](account::Registry& registry) {
            if (auto set_up = sim::staging::SetUpStagingAccount(registry, *info); !set_up) {
                failure = set_up.error().message;
            }
        });
        if (!failure.empty() || !ran) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "staging set-up: " + (failure.empty() ? ran.error().message
                                                                        : failure));
        }
        host->claim_rules_.staging_hosts = {options.endpoint};
        if (!options.address.empty()) {
            host->claim_rules_.staging_hosts.push_back(options.address);
        }
    }

    // The AWS IoT CA that signs CreateKeysAndCertificate/CSR certificates: clients holding one
    // must pass this listener's TLS verification.
    auto issuer = cp::PkiCertificateIssuer::LoadOrCreate(options.account_dir / "aws-iot-ca",
                                                         host->clock_);
    if (!issuer) {
        return sim::Unexpected<sim::Error>(issuer.error());
    }
    host->issuer_ = *issuer;
    if (!options.capath.empty()) {
        if (auto s = pki::AddCaToCapath(options.capath, (*issuer)->aws_ca().info().pem);
            !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
        if (auto s = host->SyncCapathAll(); !s) {
            return sim::Unexpected<sim::Error>(s.error());
        }
        AccountHost* self = host.get();
        host->hosted_->SetWriteObserver(
            [self](const std::string& operation, const std::string& reply_body,
                   const account::Registry& registry) {
                self->OnWrite(operation, reply_body, registry);
            });
    }

    if (!options.lambda_functions.empty()) {
        auto functions = LoadLambdaFunctions(options.lambda_functions);
        if (!functions) {
            return sim::MakeError(functions.error().code,
                                  "plugin_opt_lambda_functions: " + functions.error().message);
        }
        host->lambda_functions_ = std::move(*functions);
    }
    // RSA key generation keeps a core busy: at most one worker per core. Hooks mostly wait.
    host->key_workers_ = std::make_unique<WorkerPool>(
        std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4));
    host->hook_workers_ = std::make_unique<WorkerPool>(16);

    RegistryAccess access;
    auto shared = host->hosted_;
    access.run = [shared](const std::function<void(account::Registry&)>& work) {
        // The device waits for no fsync: the group committer writes these a few ms later and
        // logs a failed commit itself.
        if (auto ran = shared->Run(work, false); !ran) {
            sim::Logger("broker")->error("registry write: {}", ran.error().message);
        }
    };
    access.read = [shared](const std::function<void(const account::Registry&)>& work) {
        shared->Read(work);
    };
    access.take_effects = [shared] { return shared->TakeEffects(); };
    if (options.staging) {
        auto clock = host->clock_;
        access.before_authenticate = [clock](account::Registry& registry,
                                             const pki::CertificateInfo& certificate) {
            const auto plan = sim::staging::PlanFirstLogin(registry, certificate, clock->Now());
            if (plan.kind == sim::staging::FirstLoginKind::kCreate) {
                // A failure leaves the certificate unknown: AuthenticateDevice refuses it.
                if (auto applied = sim::staging::ApplyFirstLogin(registry, plan); !applied) {
                    sim::Logger("broker")->warn("staging first login certificate={}: {}: {}",
                                                certificate.certificate_id,
                                                applied.error().type, applied.error().message);
                }
            }
        };
    }
    host->view_ = std::make_unique<RegistryAccountView>(std::move(access));

    if (!options.control_plane.empty()) {
        const auto colon = options.control_plane.rfind(':');
        cp::ServerOptions server_options;
        int port = -1;
        if (colon != std::string::npos) {
            server_options.host = options.control_plane.substr(0, colon);
            try {
                port = std::stoi(options.control_plane.substr(colon + 1));
            } catch (const std::exception&) {
                port = -1;
            }
        }
        if (port <= 0 || port > 65535) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "plugin_opt_control_plane: '" + options.control_plane +
                                      "' is not ADDRESS:PORT");
        }
        server_options.port = port;
        server_options.threads = 4;
        server_options.faults = host->faults_;
        server_options.verify_signatures = !options.secret_access_key.empty();
        BlockSignals block;
        auto server = cp::ControlPlaneServer::Start(server_options, {host->hosted_},
                                                    std::move(*issuer), host->random_);
        if (!server) {
            return sim::MakeError(server.error().code,
                                  "plugin_opt_control_plane: " + server.error().message);
        }
        host->server_ = std::move(*server);
    }
    return host;
}

void AccountHost::AddToCapath(const std::string& id, const std::string& pem) {
    std::lock_guard lock(capath_mutex_);
    if (in_capath_.count(id) != 0) {
        return;
    }
    if (auto s = pki::AddCaToCapath(options_.capath, pem); s) {
        in_capath_.insert(id);
    } else {
        sim::Logger("broker")->error("capath {}: {}", options_.capath.string(), s.error().message);
    }
}

sim::Status AccountHost::SyncCapathAll() {
    std::vector<std::pair<std::string, std::string>> to_add;
    hosted_->Read([&](const account::Registry& registry) {
        ForEachCaCertificate(registry, [&](const account::CaCertificate& ca) {
            to_add.emplace_back(ca.certificate_id, ca.info.pem);
        });
    });
    for (const auto& [id, pem] : to_add) {
        AddToCapath(id, pem);
    }
    // Not synced at start: self-signed certificates registered without a CA (added when they
    // are registered; a restarted broker trusts them again once re-registered).
    return {};
}

void AccountHost::OnWrite(const std::string& operation, const std::string& reply_body,
                          const account::Registry& registry) {
    const bool ca = operation == "RegisterCACertificate";
    const bool device =
        operation == "RegisterCertificate" || operation == "RegisterCertificateWithoutCA";
    if (!ca && !device) {
        return;
    }
    const auto reply = nlohmann::json::parse(reply_body, nullptr, false);
    if (!reply.is_object() || !reply.contains("certificateId") ||
        !reply["certificateId"].is_string()) {
        return;
    }
    const std::string id = reply["certificateId"].get<std::string>();
    if (ca) {
        if (const auto* found = registry.FindCaCertificate(id)) {
            // A registered CA is trusted at once (deactivation is enforced by AuthenticateDevice:
            // OpenSSL keeps CAs it has loaded).
            AddToCapath(id, found->info.pem);
        }
        return;
    }
    // Assumed: a certificate registered without a CA (SNI_ONLY; staging claim-things) must
    // pass mosquitto's TLS verification; a self-signed one is trusted by adding it to the
    // capath. One signed by a CA the broker does not know still fails TLS (Not emulated).
    if (const auto* found = registry.FindCertificate(id)) {
        if (found->info.subject == found->info.issuer && pki::IsSignedBy(found->info, found->info)) {
            AddToCapath(id, found->info.pem);
        }
    }
}

void AccountHost::OnAccepted(const std::string& client_id, const std::string& certificate_id) {
    if (!options_.staging) {
        return;
    }
    sim::staging::Session session;
    hosted_->Read([&](const account::Registry& registry) {
        session = sim::staging::ClassifyConnection(registry, certificate_id, client_id);
    });
    if (auto presence = staging_sessions_.Accept(client_id, std::move(session), clock_->Now())) {
        ApplyStagingRecord(*presence, "presence (connected)");
    }
}

void AccountHost::OnDisconnected(const std::string& client_id) {
    if (auto presence = staging_sessions_.Disconnect(client_id, clock_->Now())) {
        ApplyStagingRecord(*presence, "presence (disconnected)");
    }
}

AccountHost::ClaimCheck AccountHost::CheckClaim(const std::string& client_id,
                                                std::string_view topic, std::string_view payload,
                                                bool retain, std::string& reason) {
    if (!options_.staging) {
        return ClaimCheck::kNotClaimThing;
    }
    auto outcome = staging_sessions_.CheckClaim(claim_rules_, client_id, topic, payload, retain,
                                                clock_->Now());
    if (outcome.check == ClaimCheck::kRefused) {
        reason = std::move(outcome.reason);
    }
    if (outcome.record) {
        ApplyStagingRecord(*outcome.record, "claim record");
    }
    return outcome.check;
}

void AccountHost::ApplyStagingRecord(const account::UpdateThingRequest& record,
                                     std::string_view what) {
    account::AwsStatus updated;
    // The broker thread waits for no fsync: the group committer writes this a few ms later and
    // logs a failed commit itself.
    const auto ran = hosted_->Run(
        [&](account::Registry& registry) { updated = registry.UpdateThing(record); }, false);
    if (!ran) {
        sim::Logger("broker")->error("staging {} thing={}: {}", what, record.thing_name,
                                     ran.error().message);
    } else if (!updated && !sim::staging::IsExpectedRecordFailure(updated.error())) {
        sim::Logger("broker")->error("staging {} thing={}: {}: {}", what, record.thing_name,
                                     updated.error().type, updated.error().message);
    }
}

namespace {

// ExecuteFleetRequest under the account's exclusive lock.
account::FleetReply Execute(cp::HostedAccount& hosted, account::FleetIssuer& issued,
                            const account::FleetRequest& request,
                            const account::FleetCaller& caller,
                            const std::map<std::string, std::string>& overrides = {}) {
    account::FleetReply reply;
    auto ran = hosted.Run(
        [&](account::Registry& registry) {
            reply = account::ExecuteFleetRequest(registry, issued, request, caller, overrides);
        },
        false);
    if (!ran) {
        return account::RejectFleetRequest(request.topic, 500, "InternalFailure",
                                           ran.error().message);
    }
    return reply;
}

}  // namespace

void AccountHost::Answer(FleetAnswer answer) {
    std::lock_guard lock(answers_mutex_);
    answers_.push_back(std::move(answer));
}

std::vector<FleetAnswer> AccountHost::TakeFleetAnswers() {
    std::lock_guard lock(answers_mutex_);
    return std::exchange(answers_, {});
}

void AccountHost::RunHook(const account::FleetRequest& request,
                          const account::FleetCaller& caller,
                          const account::PreProvisioningHookCall& hook) {
    const auto function = lambda_functions_.find(hook.hook.target_arn);
    account::FleetReply reply;
    if (function == lambda_functions_.end()) {
        // Assumed: a hook whose function does not exist fails as a failing function does.
        reply = account::RejectByHook(request.topic,
                                      "no function " + hook.hook.target_arn + " in the world");
    } else if (auto output = InvokeLambda(function->second, hook.input.dump(),
                                          std::chrono::milliseconds(kHookTimeLimit), stopping_);
               !output) {
        reply = account::RejectByHook(request.topic, output.error().message);
    } else if (auto overrides = account::ParsePreProvisioningHookOutput(*output); !overrides) {
        reply = account::RejectByHook(
            request.topic, "the output does not allow provisioning (allowProvisioning: true, "
                           "parameterOverrides: strings)");
    } else {
        PreIssued nothing;
        reply = Execute(*hosted_, nothing, request, caller, *overrides);
    }
    Answer({caller.client_id, caller.certificate_id, request.topic.topic, std::move(reply)});
}

std::optional<account::FleetReply> AccountHost::HandleFleetRequest(
    const std::string& client_id, const std::string& certificate_id, std::string_view topic,
    std::string_view payload) {
    const auto fleet_topic = account::ParseFleetTopic(topic);
    if (!fleet_topic) {
        return std::nullopt;
    }
    auto parsed = account::ParseFleetRequest(*fleet_topic, payload);
    if (auto* rejected = std::get_if<account::FleetReply>(&parsed)) {
        return std::move(*rejected);
    }
    auto request = std::get<account::FleetRequest>(std::move(parsed));
    const account::FleetCaller caller{certificate_id, client_id};
    PreIssued issued;
    switch (fleet_topic->operation) {
        case account::FleetOperation::kCreateKeysAndCertificate:
            // Key generation takes tens of milliseconds: a worker does it, so that other
            // clients are not held up; the reply is published at a later TICK.
            key_workers_->Post([this, request = std::move(request), caller] {
                PreIssued keys;
                if (auto made = issuer_->CreateKeysAndCertificate(); made) {
                    keys.keys = account::FleetIssuer::Keys{made->certificate, made->private_key_pem};
                } else {
                    keys.keys = sim::Unexpected<account::AwsError>(made.error());
                }
                Answer({caller.client_id, caller.certificate_id, request.topic.topic,
                        Execute(*hosted_, keys, request, caller)});
            });
            return std::nullopt;
        case account::FleetOperation::kCreateCertificateFromCsr:
            issued.certificate = issuer_->CreateCertificateFromCsr(request.certificate_signing_request);
            break;
        case account::FleetOperation::kRegisterThing: {
            std::optional<account::PreProvisioningHookCall> hook;
            hosted_->Read([&](const account::Registry& registry) {
                hook = account::PreProvisioningHookFor(registry, request, caller);
            });
            if (hook) {
                // The function may run for up to its time limit: a worker waits for it.
                hook_workers_->Post([this, request = std::move(request), caller,
                                     hook = std::move(*hook)] { RunHook(request, caller, hook); });
                return std::nullopt;
            }
            break;
        }
    }
    return Execute(*hosted_, issued, request, caller);
}

}  // namespace sim::broker
