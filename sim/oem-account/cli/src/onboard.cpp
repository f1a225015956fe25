// SPDX-License-Identifier: Apache-2.0
#include "sim/oem_account/onboard.hpp"

#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkdtemp
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "pki/certificate.hpp"
#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/oem_account/oem_account.hpp"
#include "sim/staging/claim_client.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/staging_client.hpp"

namespace sim::oem_account {

namespace fs = std::filesystem;
using controlplane::AwsClient;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint16_t kDefaultMqttPort = 8883;

sim::Error Wrap(std::string_view step, const sim::Error& error) {
    return sim::Error{error.code, std::string(step) + ": " + error.message};
}

std::string AwsMessage(std::string_view operation, const controlplane::AwsErrorReply& reply) {
    if (reply.status == 0) {
        return std::string(operation) + ": control plane unreachable: " + reply.message;
    }
    return std::string(operation) + ": " + reply.type + ": " + reply.message;
}

bool StartsWith(const std::string& text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

std::string Seconds(std::chrono::milliseconds elapsed) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(elapsed.count()) / 1000.0);
    return buffer;
}

}  // namespace

// ---- LocalWorld ------------------------------------------------------------------------------

LocalWorld::LocalWorld(std::unique_ptr<world::RunningWorld> world) : world_(std::move(world)) {}

LocalWorld::~LocalWorld() { Stop(); }

sim::Result<std::unique_ptr<LocalWorld>> LocalWorld::Start(const fs::path& config_file,
                                                           const fs::path& directory,
                                                           bool explain) {
    world::UpOptions options;
    options.explain = explain;
    options.config_file = config_file;
    options.directory = directory;
    sim::OsRandom random;
    auto plan = world::ValidateWorld(options, random);
    if (!plan) {
        return sim::Unexpected<sim::Error>(plan.error());
    }
    auto running = world::RunningWorld::Start(options, *plan);
    if (!running) {
        return sim::Unexpected<sim::Error>(running.error());
    }
    return std::unique_ptr<LocalWorld>(new LocalWorld(std::move(*running)));
}

const world::WorldState& LocalWorld::State() const { return world_->State(); }

void LocalWorld::Stop() {
    if (world_) {
        world_->Stop();
        world_.reset();
    }
}

sim::Result<world::AccountState> LocalWorld::Account(const std::string& name,
                                                     world::AccountKind kind) const {
    for (const auto& account : State().accounts) {
        if (account.kind == kind && (name.empty() || account.name == name)) {
            return account;
        }
    }
    return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                          std::string("--account: no ") + world::ToString(kind) + " account" +
                              (name.empty() ? std::string() : " '" + name + "'") +
                              " in the world");
}

sim::Result<world::ManufacturerState> LocalWorld::Manufacturer(const std::string& name) const {
    for (const auto& manufacturer : State().manufacturers) {
        if (name.empty() || manufacturer.name == name) {
            return manufacturer;
        }
    }
    return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                          "--manufacturer: no manufacturer '" + name + "' in the world");
}

module::EndpointsMap LocalWorld::Endpoints() const {
    module::EndpointsMap map;
    for (const auto& account : State().accounts) {
        map.Add(account.endpoint, module::ResolvedAddress{account.address, account.mqtt_port});
    }
    return map;
}

std::string EndpointOf(const world::AccountState& account) {
    if (account.mqtt_port == kDefaultMqttPort) {
        return account.endpoint;
    }
    return account.endpoint + ":" + std::to_string(account.mqtt_port);
}

sim::Result<std::unique_ptr<AwsClient>> MakeAccountClient(const world::AccountState& account,
                                                          const std::string& region) {
    if (account.control_plane_url.empty()) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              "account " + account.name +
                                  ": the world runs no control plane for it (controlPlaneUrl "
                                  "is empty in world.json)");
    }
    // The world's emulated credentials only, never the environment's: onboarding holds clients
    // for the staging and the OEM account at once (see `elsim staging`'s MakeClient).
    auto client = controlplane::MakeAwsClient(
        controlplane::EmulatedAccountConfig(account.control_plane_url, region,
                                            account.account_id),
        std::make_shared<sim::SystemClock>());
    if (!client) {
        return sim::MakeError(client.error().code,
                              "account " + account.name + ": controlPlaneUrl: " +
                                  client.error().message);
    }
    return client;
}

// ---- Set-up pieces -----------------------------------------------------------------------------

sim::Result<ClaimThing> ObtainClaimThing(AwsClient& oem, AwsClient& staging,
                                         const world::WorldState& world,
                                         const world::AccountState& staging_account,
                                         const std::string& oem_name, const fs::path& dir,
                                         sim::Random& random) {
    // Appendix A steps 4-6: an AWS-issued certificate ("Auto-generate new certificate"),
    // "Inactive" in the OEM's own account.
    // Assumed: the world's issuing CA stands for the one Amazon CA that signs AWS-issued
    // certificates of every account (world.hpp layout), so the claim certificate is made with
    // pki's WriteClaim under that CA and registered INACTIVE in the OEM account
    // (RegisterCertificateWithoutCA), rather than by CreateKeysAndCertificate, whose issuer is
    // per emulated account and not trusted by the staging broker.
    const fs::path pki_dir = fs::path(world.directory) / "pki";
    auto aws_ca = pki::LoadCaFiles(pki_dir / "issuing-ca.pem", pki_dir / "issuing-ca.key");
    if (!aws_ca) {
        return sim::Unexpected<sim::Error>(Wrap("world issuing CA", aws_ca.error()));
    }
    auto out = pki::StagedDirectory::Begin(dir, /*force=*/true);
    if (!out) {
        return sim::Unexpected<sim::Error>(out.error());
    }
    auto issued = pki::WriteClaim(*aws_ca, std::chrono::system_clock::now(), *out);
    if (!issued) {
        return sim::Unexpected<sim::Error>(Wrap("claim certificate", issued.error()));
    }
    if (auto s = out->Commit(); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    ClaimThing thing;
    thing.oem_name = oem_name;
    thing.certificate_file = dir / "cert.pem";
    thing.key_file = dir / "private.key";
    auto certificate_pem = sim::ReadFile(thing.certificate_file);
    if (!certificate_pem) {
        return sim::Unexpected<sim::Error>(certificate_pem.error());
    }
    auto registered = oem.Call("POST", AwsClient::Path({"certificate", "register-no-ca"}), {},
                               json{{"certificatePem", *certificate_pem}, {"status", "INACTIVE"}});
    if (!registered && registered.error().type != "ResourceAlreadyExistsException") {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              AwsMessage("RegisterCertificateWithoutCA", registered.error()));
    }
    // Register as an OEM (Appendix A "Register as an OEM with AWS" step 3): the certificate
    // only, never the private key; the service answers with the UUID.
    auto plan = staging::PlanOemRegistration(oem_name, *certificate_pem, random);
    if (!plan) {
        return sim::Unexpected<sim::Error>(Wrap("claim-thing", plan.error()));
    }
    auto record =
        staging::RegisterOemRemote(staging, *plan, world.region, staging_account.account_id);
    if (!record) {
        return sim::Unexpected<sim::Error>(Wrap("RegisterOem", record.error()));
    }
    thing.uuid = record->uuid;
    return thing;
}

sim::Result<std::vector<fs::path>> MakeBirthIdentities(
    const world::ManufacturerState& manufacturer, std::size_t count, const fs::path& dir) {
    auto ca = pki::LoadCaFiles(manufacturer.ca_certificate_file, manufacturer.ca_key_file);
    if (!ca) {
        return sim::Unexpected<sim::Error>(Wrap("manufacturer CA", ca.error()));
    }
    auto out = pki::StagedDirectory::Begin(dir, /*force=*/true);
    if (!out) {
        return sim::Unexpected<sim::Error>(out.error());
    }
    pki::ModulesOptions options;
    options.count = count;
    options.organization = manufacturer.name;
    auto records = pki::WriteModules(*ca, options, std::chrono::system_clock::now(), *out);
    if (!records) {
        return sim::Unexpected<sim::Error>(Wrap("birth identities", records.error()));
    }
    if (auto s = out->Commit(); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    std::vector<fs::path> identities;
    identities.reserve(records->size());
    for (const auto& record : *records) {
        identities.push_back(dir / record.thing_name);
    }
    return identities;
}

sim::Result<std::unique_ptr<module::Fleet>> StartModules(const LocalWorld& world,
                                                         const world::AccountState& staging,
                                                         const std::vector<fs::path>& identities,
                                                         const fs::path& state_dir) {
    return StartModules(world.State(), staging, identities, state_dir);
}

sim::Result<std::unique_ptr<module::Fleet>> StartModules(const world::WorldState& world,
                                                         const world::AccountState& staging,
                                                         const std::vector<fs::path>& identities,
                                                         const fs::path& state_dir) {
    module::EndpointsMap endpoints;
    for (const auto& account : world.accounts) {
        endpoints.Add(account.endpoint,
                      module::ResolvedAddress{account.address, account.mqtt_port});
    }
    module::FleetOptions options;
    options.staging_endpoint = EndpointOf(staging);
    options.root_ca_file = world.server_ca_file;
    options.resolver = endpoints.MakeResolver();
    options.state_dir = state_dir.string();
    return module::Fleet::Start(options, identities);
}

// ---- AT helpers --------------------------------------------------------------------------------

std::string At(module::SoftwareModule& module, const std::string& line,
               std::chrono::milliseconds timeout) {
    auto lines = module.Command(line, timeout);
    return lines.empty() ? std::string() : lines.front();
}

sim::Result<std::string> WaitForEvent(module::SoftwareModule& module, const std::string& mnemonic,
                                      std::chrono::milliseconds timeout,
                                      std::vector<std::string>* seen) {
    // The EVENT pin (expresslink.md §5) says when to look: it rises when an event is queued,
    // so hundreds of waiting hosts do not poll AT+EVENT? in a loop. A slow poll stays as a
    // safety net.
    struct Pin {
        std::mutex mutex;
        std::condition_variable raised_cv;
        bool raised = false;
    };
    auto pin = std::make_shared<Pin>();
    module.SetEventPinHandler([pin](bool high) {
        if (high) {
            std::lock_guard<std::mutex> lock(pin->mutex);
            pin->raised = true;
            pin->raised_cv.notify_all();
        }
    });
    struct Unhook {
        module::SoftwareModule& module;
        ~Unhook() { module.SetEventPinHandler(nullptr); }
    } unhook{module};
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const std::string line = At(module, "AT+EVENT?", std::chrono::seconds{5});
        if (line.find(mnemonic) != std::string::npos) {
            return line;
        }
        if (line != "OK" && !line.empty()) {
            if (seen != nullptr) {
                seen->push_back(line);
            }
            continue;  // drain the queue before waiting
        }
        const auto now = Clock::now();
        if (now >= deadline) {
            return sim::MakeError(sim::ErrorCode::kUnavailable,
                                  "no" + mnemonic + " event within " +
                                      std::to_string(timeout.count()) + " ms");
        }
        std::unique_lock<std::mutex> lock(pin->mutex);
        pin->raised_cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds{250}),
                                  [&] { return pin->raised; });
        pin->raised = false;
    }
}

sim::Result<std::string> ConnectWithRetry(module::SoftwareModule& module, int tolerated_failures,
                                          std::chrono::milliseconds deadline_after,
                                          std::vector<std::string>* failures) {
    const auto deadline = Clock::now() + deadline_after;
    int failed = 0;
    std::string last;
    while (Clock::now() < deadline) {
        const auto attempt_started = Clock::now();
        last = At(module, "AT+CONNECT", std::chrono::seconds{20});
        if (StartsWith(last, "OK 1 CONNECTED")) {
            return last;
        }
        if (StartsWith(last, "ERR14 1")) {
            // Back-off (hint 1): the module refuses attempts for a while after a failure.
            std::this_thread::sleep_for(std::chrono::milliseconds{100});
            continue;
        }
        if (failures != nullptr) {
            // How long the attempt took tells a refusal (milliseconds) from a timeout.
            failures->push_back(last + " (after " +
                                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   Clock::now() - attempt_started)
                                                   .count()) +
                                " ms)");
        }
        if (!StartsWith(last, "ERR14") || ++failed > tolerated_failures) {
            break;
        }
    }
    return sim::MakeError(sim::ErrorCode::kUnavailable,
                          last.empty() ? std::string("AT+CONNECT: no answer") : last);
}

// ---- Set-up shared by the main job and the bench -------------------------------------------------

sim::Status RaiseDescriptorLimitFor(std::size_t modules) {
    // Per module: its socket here and in a broker, plus a retired Paho client for up to 2 s.
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
    auto world = LocalWorld::Start(options.world_file, options.directory / "world", options.explain);
    if (!world) {
        return sim::Unexpected<sim::Error>(world.error());
    }
    setup.world = std::move(*world);
    const std::string& region = setup.world->State().region;
    auto staging = setup.world->Account("", world::AccountKind::kStaging);
    auto oem = setup.world->Account(options.oem_account, world::AccountKind::kOem);
    auto manufacturer = setup.world->Manufacturer(options.manufacturer);
    if (!staging || !oem || !manufacturer) {
        return sim::Unexpected<sim::Error>(
            !staging ? staging.error() : (!oem ? oem.error() : manufacturer.error()));
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
        auto claim_thing = ObtainClaimThing(
            *setup.oem_client, *setup.staging_client, setup.world->State(), setup.staging,
            "elsim-" + oem->name, options.directory / ("claim-thing-" + std::to_string(i + 1)),
            random);
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
    SetupOptions account_setup;
    account_setup.region = region;
    account_setup.account_id = oem->account_id;
    auto configured = ConfigureOemAccount(*setup.oem_client, *ca_pem, account_setup,
                                          [&](const SetupStep& s) {
                                              out(setup.oem.name + ": " + s.operation + " " +
                                                  s.outcome + " " + s.detail);
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

sim::Result<std::unique_ptr<module::PahoWaker>> StartWaker(const OnboardingSetup& setup,
                                                           const fs::path& dir,
                                                           std::chrono::milliseconds period) {
    auto identity = MakeBirthIdentities(setup.manufacturer, 1, dir);
    if (!identity) {
        return sim::Unexpected<sim::Error>(Wrap("waker identity", identity.error()));
    }
    const auto& path = identity->front();
    module::PahoWakerOptions options;
    options.uri = "ssl://" + setup.oem.address + ":" + std::to_string(setup.oem.mqtt_port);
    options.client_id = path.filename().string();
    options.topic = options.client_id + "/waker";
    options.root_ca_file = setup.server_ca_file;
    options.certificate_file = path / "cert.pem";
    options.private_key_file = path / "key.pem";
    options.period = period;
    return module::PahoWaker::Start(options);
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

    // 1. First connection: the staging account (expresslink.md §8.4, §9.1 item 2).
    // Assumed: a host retries a failed first connect after the module's back-off (observed:
    // under load a TLS handshake to staging fails now and then).
    outcome.started = Clock::now();
    std::vector<std::string> staging_failures;
    auto connected = ConnectWithRetry(module, 2, std::chrono::seconds{15}, &staging_failures);
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

    // 2. The claim (§9.3): the registration app publishes {"Endpoint": <OEM endpoint>} over
    // its claim-thing's open session. The module's CONNECT answers only after the SUBACK of
    // <ThingName>/expresslink_config, so the claim reaches it; if the module still does not
    // leave staging, the claim is sent again (the OEM guide: "the registration app should time
    // out and let the user retry").
    const std::string oem_endpoint = EndpointOf(oem);
    std::vector<std::string> events;
    bool left = false;
    for (int attempt = 1; attempt <= 3 && !left && !stopped(); ++attempt) {
        const auto claim_started = Clock::now();
        const auto report = claims.Claim(job.thing_name, oem_endpoint);
        const auto claim_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - claim_started);
        if (report.outcome != staging::ClaimReport::Outcome::kAccepted) {
            if (attempt == 3 || report.outcome == staging::ClaimReport::Outcome::kBadInput) {
                return fail("claim: " + report.claim_line);
            }
            step("claim attempt " + std::to_string(attempt) + " refused, retrying: " +
                 report.claim_line);
            continue;
        }
        outcome.claimed = Clock::now();
        step("claimed for " + oem_endpoint + " (PUBACK in " + std::to_string(claim_ms.count()) +
             " ms)");
        // §9.1 items 3-5: MSG, the Endpoint stored, then the self-disconnect (CONLOST).
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

    // 3. Reconnect to the OEM account: JITP on first connect closes the connection once
    // (expresslink.md §9.3 "a harness should tolerate one retry"); the module refuses a new
    // attempt during its back-off (ERR14 1), so the host retries after it.
    // Assumed: like the staging connect, one more failure is retried. That extra ERR14 4 is
    // not AWS behaviour being emulated but a client-side artefact under load, investigated with
    // 400-module runs in explain mode (about 1 module in 40 with ~150 handshakes in flight on 2
    // loaded cores; none with a handful of modules): for an affected module the OEM broker logs
    // only the JITP refusal and, later, the accepted connect, so the failed attempt never
    // reached MQTT CONNECT (not the plugin, and not the 1 CONNECT/s throttle, which explain
    // mode would log as THROTTLED); instead mosquitto logs the client ending the TLS handshake
    // ("unexpected eof while reading"), one per extra failure. The attempt failed after 1 ms
    // to 1.8 s (" (after N ms)" in the step line), never after Paho's 10 s connect timeout,
    // and switching off the adapter's hint-3 TCP probe did not change the count. It also hits
    // staging connects (1 in ~400 modules; 2-3% of modules in 1000-module bench runs count
    // either kind). What remains is the client process abandoning a handshake while Paho C runs
    // every TLS handshake of every module on its one receive thread. The likeliest path, found
    // later with perf traces: Paho C closes one connection from two threads at once (the send
    // thread processing a module's DISCONNECT, the receive thread a socket error); its close(0)
    // form is now caught by sim/module/paho_stdin_guard.hpp (0-6 per 1,000-module run), and the
    // same race on a descriptor that a new module's socket has just reused would end that
    // socket's handshake, which is this symptom. It cannot be fixed from outside Paho C.
    std::vector<std::string> dropped;
    connected = ConnectWithRetry(module, 2, std::chrono::seconds{20}, &dropped);
    if (!connected) {
        return fail("connect to " + oem.name + ": " + connected.error().message);
    }
    if (!dropped.empty()) {
        step("first connect to " + oem.name + " closed by JITP (" + dropped.front() +
             "), retried after back-off");
    }
    if (dropped.size() > 1) {
        step("connect to " + oem.name + " retried once more after " + dropped.back());
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
    const module::PahoWaker::Activation wake(options.waker);
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

// ---- The main job ------------------------------------------------------------------------------

namespace {

// Serialises output; each line starts with the time since the job started.
struct Printer {
    std::mutex mutex;
    std::function<void(const std::string&)> print;
    Clock::time_point started = Clock::now();
    void operator()(const std::string& line) {
        char stamp[24];
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        std::snprintf(stamp, sizeof stamp, "[%6.2f s] ", static_cast<double>(ms.count()) / 1000.0);
        std::lock_guard<std::mutex> lock(mutex);
        if (print) {
            print(stamp + line);
        }
    }
};

// Removes a temporary directory at scope exit unless told to keep it.
class DirectoryGuard {
public:
    DirectoryGuard(fs::path dir, bool remove) : dir_(std::move(dir)), remove_(remove) {}
    ~DirectoryGuard() {
        if (remove_) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }
    DirectoryGuard(const DirectoryGuard&) = delete;
    DirectoryGuard& operator=(const DirectoryGuard&) = delete;

private:
    fs::path dir_;
    bool remove_;
};

}  // namespace

sim::Result<OnboardSummary> RunOnboard(const OnboardOptions& options,
                                       const std::function<void(const std::string&)>& print) {
    const auto started = Clock::now();
    Printer out;
    out.print = print;
    if (options.modules == 0 || options.modules > 10000) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--modules: must be 1..10000, got " +
                                  std::to_string(options.modules));
    }
    if (options.workers == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "--workers: must be at least 1");
    }
    if (options.claim_things == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--claim-things: must be at least 1");
    }
    std::error_code ec;
    if (!fs::is_regular_file(options.world_file, ec)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--world: " + options.world_file.string() + ": no such file");
    }
    if (auto raised = RaiseDescriptorLimitFor(options.modules); !raised) {
        return sim::Unexpected<sim::Error>(raised.error());
    }
    fs::path dir = options.directory;
    bool temporary = false;
    if (dir.empty()) {
        std::string pattern = (fs::temp_directory_path() / "elsim-onboard-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            return sim::MakeError(sim::ErrorCode::kIo, "cannot create a temporary directory");
        }
        dir = pattern;
        temporary = true;
    } else if (fs::exists(dir / "world.pid", ec)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--dir: " + dir.string() + " holds a running world (world.pid)");
    }
    DirectoryGuard guard(dir, temporary && !options.keep);
    auto interrupted = [&] { return options.interrupted != nullptr && options.interrupted->load(); };

    OnboardingSetupOptions setup_options;
    setup_options.world_file = options.world_file;
    setup_options.directory = dir;
    setup_options.oem_account = options.oem_account;
    setup_options.manufacturer = options.manufacturer;
    // More claim-things than modules would only register unused ones.
    setup_options.claim_things = std::min(options.claim_things, options.modules);
    setup_options.explain = options.explain;
    auto setup = SetUpOnboarding(setup_options, [&](const std::string& line) { out(line); });
    if (!setup) {
        return sim::Unexpected<sim::Error>(setup.error());
    }

    // Birth identities and modules.
    auto identities = MakeBirthIdentities(setup->manufacturer, options.modules, dir / "modules");
    if (!identities) {
        return sim::Unexpected<sim::Error>(identities.error());
    }
    out("birth identities: " + std::to_string(identities->size()) + " signed by " +
        setup->manufacturer.name + "'s CA");
    auto fleet = StartModules(*setup->world, setup->staging, *identities, dir / "module-state");
    if (!fleet) {
        return sim::Unexpected<sim::Error>(fleet.error());
    }
    auto jobs = MakeJobs(**fleet, *identities);
    if (!jobs) {
        return sim::Unexpected<sim::Error>(jobs.error());
    }
    out("modules started: " + std::to_string(jobs->size()) + " on " + setup->staging.endpoint);
    auto sessions = OpenClaimSessions(*setup);
    if (!sessions) {
        return sim::Unexpected<sim::Error>(sessions.error());
    }
    out("claim sessions open: " + std::to_string(sessions->size()) + " to " +
        sessions->front()->uri() + " (at most 100 claims/s each)");

    // Per-module stories, many in flight.
    const bool per_module_lines = jobs->size() <= 1000;
    const std::size_t tenth = std::max<std::size_t>(1, jobs->size() / 10);
    std::atomic<std::size_t> onboarded{0};
    auto label = [&](std::size_t index) {
        return "module " + std::to_string(index + 1) + " " + (*jobs)[index].thing_name + ": ";
    };
    PipelineOptions pipeline;
    pipeline.workers = options.workers;
    pipeline.interrupted = options.interrupted;
    auto outcomes = RunOnboardingPipeline(
        *setup, *jobs, *sessions, pipeline, [&](std::size_t index, const std::string& text) {
            if (per_module_lines) {
                out(label(index) + text);
            }
            if (text.rfind("verified:", 0) == 0) {
                const std::size_t done = ++onboarded;
                if (!per_module_lines && done % tenth == 0) {
                    out("onboarded " + std::to_string(done) + "/" + std::to_string(jobs->size()));
                }
            }
        });
    OnboardSummary summary;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (outcomes[i].ok) {
            ++summary.onboarded;
        } else {
            ++summary.failed;
            out(label(i) + "FAILED: " + outcomes[i].error);
        }
    }
    sessions->clear();
    fleet->reset();
    setup->world->Stop();
    out("world down");

    summary.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    summary.summary_line = "onboarded " + std::to_string(summary.onboarded) + "/" +
                           std::to_string(jobs->size()) + " modules in " +
                           Seconds(summary.elapsed) +
                           (summary.failed > 0 ? " (" + std::to_string(summary.failed) +
                                                     " failed)"
                                               : std::string()) +
                           (interrupted() ? " (interrupted)" : std::string());
    if (options.keep || !temporary) {
        summary.summary_line += "; kept " + dir.string();
    }
    return summary;
}

}  // namespace sim::oem_account
