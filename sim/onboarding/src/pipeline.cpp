// SPDX-License-Identifier: Apache-2.0
#include "sim/onboarding/pipeline.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "text.hpp"
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/oem_account/oem_account.hpp"
#include "sim/onboarding/at.hpp"

namespace sim::onboarding {

namespace fs = std::filesystem;
using controlplane::AwsClient;
using internal::AwsMessage;
using internal::StartsWith;
using internal::Wrap;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---- Set-up shared by the main job and the bench ------------------------------------------------

sim::Status RaiseDescriptorLimitFor(std::size_t modules) {
    // Per module: its socket here and in a broker, and one more for a connection being replaced.
    auto raised = sim::RaiseDescriptorLimit(static_cast<rlim_t>(3 * modules + 512));
    if (!raised) {
        return sim::MakeError(raised.error().code, "--modules: " + std::to_string(modules) +
                                                       " modules: " + raised.error().message);
    }
    return {};
}

sim::Result<OnboardingSetup> SetUpOnboarding(const OnboardingSetupOptions& options,
                                             const std::function<void(const std::string&)>& print) {
    auto out = [&](const std::string& line) {
        if (print) {
            print(line);
        }
    };
    if (options.claim_things == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--claim-things: must be at least 1");
    }
    OnboardingSetup setup;
    setup.directory = options.directory;
    auto world = LocalWorld::Start(options.world_file, options.directory / "world",
                                   options.explain, options.on_broker_exit);
    if (!world) {
        return sim::Unexpected<sim::Error>(world.error());
    }
    setup.world = std::move(*world);
    const std::string& region = setup.world->State().region;
    auto staging = setup.world->Account("", world::AccountKind::kStaging);
    auto oem = setup.world->Account(options.oem_account, world::AccountKind::kOem);
    auto manufacturer = setup.world->Manufacturer(options.manufacturer);
    if (!staging || !oem || !manufacturer) {
        return sim::Unexpected<sim::Error>(!staging ? staging.error()
                                                    : (!oem ? oem.error() : manufacturer.error()));
    }
    setup.staging = *staging;
    setup.oem = *oem;
    setup.server_ca_file = setup.world->State().server_ca_file;
    setup.manufacturer = *manufacturer;
    out("world up: " + std::to_string(setup.world->State().accounts.size()) + " accounts in " +
        (options.directory / "world").string() + " (staging " + staging->endpoint + ", " +
        oem->name + " " + oem->endpoint + ")");

    auto staging_client = MakeAccountClient(*staging, region);
    if (!staging_client) {
        return sim::Unexpected<sim::Error>(staging_client.error());
    }
    setup.staging_client = std::move(*staging_client);
    auto oem_client = MakeAccountClient(*oem, region);
    if (!oem_client) {
        return sim::Unexpected<sim::Error>(oem_client.error());
    }
    setup.oem_client = std::move(*oem_client);

    // Claim-things (Appendix A).
    // Assumed: an OEM may register several claim-things (one per registration-portal
    // instance); each keeps one MQTT session (client id = its UUID) open at staging.
    sim::OsRandom random;
    for (std::size_t i = 0; i < options.claim_things; ++i) {
        auto claim_thing =
            ObtainClaimThing(*setup.oem_client, *setup.staging_client, setup.world->State(),
                             setup.staging, "elsim-" + oem->name,
                             options.directory / ("claim-thing-" + std::to_string(i + 1)), random);
        if (!claim_thing) {
            return sim::Unexpected<sim::Error>(claim_thing.error());
        }
        out("claim-thing registered in staging: uuid=" + claim_thing->uuid +
            " oem=" + claim_thing->oem_name);
        setup.claim_things.push_back(std::move(*claim_thing));
    }

    // OEM account (Appendix B and C).
    auto ca_pem = sim::ReadFile(manufacturer->ca_certificate_file);
    if (!ca_pem) {
        return sim::Unexpected<sim::Error>(ca_pem.error());
    }
    oem_account::SetupOptions account_setup;
    account_setup.region = region;
    account_setup.account_id = oem->account_id;
    auto configured = oem_account::ConfigureOemAccount(
        *setup.oem_client, *ca_pem, account_setup, [&](const oem_account::SetupStep& s) {
            out(setup.oem.name + ": " + s.operation + " " + s.outcome + " " + s.detail);
        });
    if (!configured) {
        return sim::Unexpected<sim::Error>(Wrap("OEM account " + oem->name, configured.error()));
    }
    return setup;
}

sim::Result<std::vector<ModuleJob>> MakeJobs(const module::Fleet& fleet,
                                             const std::vector<fs::path>& identities) {
    if (fleet.modules().size() != identities.size()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "modules and identities differ in number");
    }
    std::vector<ModuleJob> jobs;
    jobs.reserve(identities.size());
    for (std::size_t i = 0; i < identities.size(); ++i) {
        ModuleJob job;
        job.module = fleet.modules()[i];
        job.thing_name = identities[i].filename().string();
        auto id = pki::CertificateIdOfFile(identities[i] / "cert.pem");
        if (!id) {
            return sim::Unexpected<sim::Error>(id.error());
        }
        job.certificate_id = *id;
        jobs.push_back(std::move(job));
    }
    return jobs;
}

sim::Result<std::vector<std::unique_ptr<staging::ClaimSession>>> OpenClaimSessions(
    const OnboardingSetup& setup, int max_publishes_per_second) {
    // Opened in parallel: each connect waits on Paho's receive loop (up to a second when the
    // process is otherwise idle), not on the CPU.
    std::vector<std::optional<sim::Result<std::unique_ptr<staging::ClaimSession>>>> opened(
        setup.claim_things.size());
    std::vector<std::thread> threads;
    threads.reserve(setup.claim_things.size());
    for (std::size_t i = 0; i < setup.claim_things.size(); ++i) {
        threads.emplace_back([&, i] {
            const auto& thing = setup.claim_things[i];
            staging::ClaimSessionOptions options;
            options.staging = EndpointOf(setup.staging);
            options.claim_cert = thing.certificate_file;
            options.claim_key = thing.key_file;
            options.world = setup.directory / "world";
            options.uuid = thing.uuid;
            options.max_publishes_per_second = max_publishes_per_second;
            opened[i].emplace(staging::ClaimSession::Open(options));
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    std::vector<std::unique_ptr<staging::ClaimSession>> sessions;
    for (std::size_t i = 0; i < opened.size(); ++i) {
        auto& session = *opened[i];
        if (!session) {
            return sim::Unexpected<sim::Error>(
                Wrap("claim-thing " + setup.claim_things[i].uuid, session.error()));
        }
        sessions.push_back(std::move(*session));
    }
    return sessions;
}

// ---- The pipeline ----------------------------------------------------------------------------

namespace {

// One module through the whole story. Returns the failed step as the error; stamps `outcome`.
sim::Status OnboardOne(const ModuleJob& job, const OnboardingSetup& setup,
                       staging::ClaimSession& claims, std::mutex& client_mutex,
                       const PipelineOptions& options, ModuleOutcome& outcome,
                       const std::function<void(const std::string&)>& step) {
    auto& module = *job.module;
    const auto& oem = setup.oem;
    auto fail = [](const std::string& message) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition, message);
    };
    auto stopped = [&] { return options.interrupted != nullptr && options.interrupted->load(); };

    // 1. First connection: the staging account (ExpressLink Programmer's Guide 12.1.2, 12.3.2).
    outcome.started = Clock::now();
    std::vector<std::string> staging_failures;
    auto connected = ConnectWithRetry(module, 0, std::chrono::seconds{15}, &staging_failures);
    if (!connected) {
        return fail("connect to staging: " + connected.error().message);
    }
    if (!staging_failures.empty()) {
        step("connect to staging retried after " + staging_failures.front());
    }
    const std::string where = At(module, "AT+CONNECT?");
    if (where.find("STAGING") == std::string::npos) {
        return fail("CONNECT? after the first connect: '" + where + "', expected STAGING");
    }
    outcome.staging_connected = Clock::now();
    step("connected to staging (" + where + ")");
    if (stopped()) {
        return fail("interrupted");
    }

    // 2. The claim (OEM guide, "Claim implementation"): the registration app publishes {"Endpoint":
    // <OEM endpoint>} over its claim-thing's open session. The module's CONNECT answers only after
    // the SUBACK of <ThingName>/expresslink_config, so the claim reaches it; if the module still
    // does not leave staging, the claim is sent again (the OEM guide: "the registration app should
    // time out and let the user retry").
    const std::string oem_endpoint = EndpointOf(oem);
    std::vector<std::string> events;
    bool left = false;
    for (int attempt = 1; attempt <= 3 && !left && !stopped(); ++attempt) {
        const auto claim_started = Clock::now();
        const auto report = claims.Claim(job.thing_name, oem_endpoint);
        const auto claim_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - claim_started);
        if (report.outcome != staging::ClaimReport::Outcome::kAccepted && report.sent) {
            // The PUBLISH went out but its PUBACK did not come back (staging died or the
            // connection dropped): staging may have delivered the claim all the same. The module
            // says which: it leaves staging if the claim reached it.
            outcome.claim_sent = true;
            step("claim attempt " + std::to_string(attempt) + " unconfirmed: " +
                 report.claim_line);
            left = WaitForEvent(module, " CONLOST", std::chrono::seconds{3}, &events).has_value();
            if (left) {
                outcome.claimed = Clock::now();
                step("the unconfirmed claim reached the module");
            } else if (attempt == 3) {
                return fail("claim: " + report.claim_line +
                            "; the module did not leave staging (claim sent, PUBACK lost)");
            }
            continue;
        }
        if (report.outcome != staging::ClaimReport::Outcome::kAccepted) {
            if (attempt == 3 || report.outcome == staging::ClaimReport::Outcome::kBadInput) {
                return fail("claim: " + report.claim_line +
                            (outcome.claim_sent ? " (an earlier claim was sent, PUBACK lost)"
                                                : ""));
            }
            step("claim attempt " + std::to_string(attempt) +
                 " refused, retrying: " + report.claim_line);
            continue;
        }
        outcome.claim_sent = true;
        outcome.claimed = Clock::now();
        step("claimed for " + oem_endpoint + " (PUBACK in " + std::to_string(claim_ms.count()) +
             " ms)");
        // PG-PROV 12.3.2: MSG, the Endpoint stored, then the self-disconnect (CONLOST).
        left = WaitForEvent(module, " CONLOST", std::chrono::seconds{3}, &events).has_value();
    }
    if (!left) {
        return fail("the module did not leave staging after the claim (events: " +
                    std::to_string(events.size()) + ")");
    }
    outcome.left_staging = Clock::now();
    const bool got_msg = std::any_of(events.begin(), events.end(), [](const std::string& e) {
        return e.find(" MSG") != std::string::npos;
    });
    step(std::string("left staging (") + (got_msg ? "MSG, " : "") + "CONLOST)");

    // 3. 3. Reconnect to the OEM account: JITP on first connect closes the connection once (as
    // devices observe it on AWS; a host tolerates that one retry); the module refuses a new attempt
    // during its back-off (ERR14 1), so the host retries after it.
    std::vector<std::string> dropped;
    connected = ConnectWithRetry(module, 1, std::chrono::seconds{20}, &dropped);
    if (!connected) {
        return fail("connect to " + oem.name + ": " + connected.error().message);
    }
    if (!dropped.empty()) {
        step("first connect to " + oem.name + " closed by JITP (" + dropped.front() +
             "), retried after back-off");
    }
    const std::string customer = At(module, "AT+CONNECT?");
    if (customer.find("CUSTOMER") == std::string::npos ||
        customer.find("CONNECTED") == std::string::npos) {
        return fail("CONNECT? after the claim: '" + customer + "', expected CONNECTED CUSTOMER");
    }
    outcome.connected = Clock::now();
    step("connected to " + oem.name + " (" + customer + ")");

    // 4. A first message.
    if (options.publish) {
        const std::string topic = job.thing_name + "/onboarded";
        if (const auto set = At(module, "AT+CONF Topic1=" + topic); set != "OK") {
            return fail("AT+CONF Topic1: " + set);
        }
        if (const auto sent = At(module, "AT+SEND1 hello from " + job.thing_name);
            !StartsWith(sent, "OK")) {
            return fail("AT+SEND1: " + sent);
        }
        step("published on " + topic);
    }

    // 5. The OEM account's view: the thing exists, its certificate ACTIVE and attached.
    if (!options.verify) {
        return {};
    }
    auto& oem_client = *setup.oem_client;
    std::lock_guard<std::mutex> lock(client_mutex);
    auto thing = oem_client.Call("GET", AwsClient::Path({"things", job.thing_name}));
    if (!thing) {
        return fail(AwsMessage("DescribeThing", thing.error()));
    }
    auto certificate =
        oem_client.Call("GET", AwsClient::Path({"certificates", job.certificate_id}));
    if (!certificate) {
        return fail(AwsMessage("DescribeCertificate", certificate.error()));
    }
    const std::string status =
        certificate->value("certificateDescription", json::object()).value("status", "");
    if (status != "ACTIVE") {
        return fail("certificate " + job.certificate_id + " is " + status + ", not ACTIVE");
    }
    auto principals =
        oem_client.Call("GET", AwsClient::Path({"things", job.thing_name, "principals"}));
    if (!principals) {
        return fail(AwsMessage("ListThingPrincipals", principals.error()));
    }
    const std::string principals_text = principals->dump();
    if (principals_text.find(job.certificate_id) == std::string::npos) {
        return fail("the certificate is not attached to thing " + job.thing_name);
    }
    step("verified: thing exists, certificate ACTIVE and attached");
    return {};
}

}  // namespace

std::vector<ModuleOutcome> RunOnboardingPipeline(
    const OnboardingSetup& setup, const std::vector<ModuleJob>& jobs,
    const std::vector<std::unique_ptr<staging::ClaimSession>>& sessions,
    const PipelineOptions& options,
    const std::function<void(std::size_t, const std::string&)>& step) {
    std::vector<ModuleOutcome> outcomes(jobs.size());
    if (jobs.empty()) {
        return outcomes;
    }
    if (sessions.empty()) {
        for (auto& outcome : outcomes) {
            outcome.error = "no claim session";
        }
        return outcomes;
    }
    std::atomic<std::size_t> next{0};
    std::mutex client_mutex;
    auto worker = [&] {
        for (std::size_t index = next.fetch_add(1); index < jobs.size();
             index = next.fetch_add(1)) {
            auto& outcome = outcomes[index];
            auto module_step = [&](const std::string& text) {
                if (step) {
                    step(index, text);
                }
            };
            sim::Status status;
            if (options.interrupted != nullptr && options.interrupted->load()) {
                status = sim::MakeError(sim::ErrorCode::kUnavailable, "interrupted");
            } else {
                try {
                    status = OnboardOne(jobs[index], setup, *sessions[index % sessions.size()],
                                        client_mutex, options, outcome, module_step);
                } catch (const std::exception& e) {
                    status = sim::MakeError(sim::ErrorCode::kInternal, e.what());
                }
            }
            outcome.ok = status.has_value();
            if (!status) {
                outcome.error = status.error().message;
            }
        }
    };
    std::vector<std::thread> threads;
    const std::size_t count = std::max<std::size_t>(1, std::min(options.workers, jobs.size()));
    threads.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        threads.emplace_back(worker);
    }
    for (auto& thread : threads) {
        thread.join();
    }
    return outcomes;
}

}  // namespace sim::onboarding
