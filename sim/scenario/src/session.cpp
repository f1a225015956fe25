// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/session.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "actors.hpp"
#include "clock_step.hpp"
#include "aws_run.hpp"
#include "fleet_device.hpp"
#include "linked_module.hpp"
#include "pki/certificate.hpp"
#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/net.hpp"
#include "sim/module/config.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/world.hpp"
#include "sim/staging/claim_client.hpp"
#include "sim/scenario/match.hpp"
#include "sim/world/endpoints.hpp"
#include "sim/world/world.hpp"

namespace sim::scenario {

namespace {

namespace fs = std::filesystem;
namespace ob = sim::onboarding;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using StepOutcome = sim::Result<void, std::string>;

// How long `retry-while` waits before sending the line again.
constexpr auto kRetryPause = std::chrono::milliseconds{250};

StepOutcome Fail(std::string reason) { return sim::Unexpected<std::string>(std::move(reason)); }

std::string Quote(const std::string& text) { return "\"" + text + "\""; }

std::string Seconds(Duration d) {
    if (d.count() % 1000 == 0) {
        return std::to_string(d.count() / 1000) + "s";
    }
    return std::to_string(d.count()) + "ms";
}

// JSON for the timeline: long strings (PEM, policy documents) shortened.
json Shorten(const json& value) {
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (text.size() > 120) {
            return text.substr(0, 60) + "...(" + std::to_string(text.size()) + " chars)";
        }
        return value;
    }
    if (value.is_object()) {
        json out = json::object();
        for (const auto& [key, item] : value.items()) {
            out[key] = Shorten(item);
        }
        return out;
    }
    if (value.is_array()) {
        json out = json::array();
        for (const auto& item : value) {
            out.push_back(Shorten(item));
        }
        return out;
    }
    return value;
}

std::string Compact(const json& value) {
    return Shorten(value).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A saved value as text: strings as they are, anything else as JSON.
std::string AsText(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string LowerHexWithoutZeros(std::string hex) {
    std::transform(hex.begin(), hex.end(), hex.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (hex.rfind("0x", 0) == 0) {
        hex.erase(0, 2);
    }
    const auto first = hex.find_first_not_of('0');
    return first == std::string::npos ? std::string("0") : hex.substr(first);
}

struct ClaimThingRuntime {
    ob::ClaimThing thing;
    std::string staging;  ///< The staging account it is registered in.
    CertificateFiles certificate;
};

// Follows an account's broker log and copies what explains a refusal into the timeline.
class BrokerLogTail {
public:
    BrokerLogTail(Recorder& recorder, std::vector<std::pair<std::string, fs::path>> logs)
        : recorder_(recorder), logs_(std::move(logs)), offsets_(logs_.size(), 0) {
        thread_ = std::thread([this] {
            while (!stop_.load()) {
                ReadNew();
                std::this_thread::sleep_for(20ms);
            }
        });
    }
    ~BrokerLogTail() { Stop(); }
    BrokerLogTail(const BrokerLogTail&) = delete;
    BrokerLogTail& operator=(const BrokerLogTail&) = delete;

    void Stop() {
        if (thread_.joinable()) {
            stop_.store(true);
            thread_.join();
            ReadNew();
        }
    }

private:
    // The plugin's own lines carry the account's reasons (explain mode); mosquitto's
    // connection lines say who came and went.
    static bool Worth(const std::string& line) {
        // How a client's aborted handshake ends is noise; verification failures are not.
        if (line.find("unexpected eof while reading") != std::string::npos ||
            line.find("Client <unknown> disconnected: Protocol error") != std::string::npos) {
            return false;
        }
        if (line.find("plugin ready") != std::string::npos ||
            line.find("control plane http") != std::string::npos) {
            return false;
        }
        return line.find("elsim") != std::string::npos ||
               line.find("disconnect") != std::string::npos ||
               line.find("OpenSSL Error") != std::string::npos ||
               line.find("New client connected") != std::string::npos;
    }

    void ReadNew() {
        for (std::size_t i = 0; i < logs_.size(); ++i) {
            std::ifstream in(logs_[i].second, std::ios::binary);
            if (!in) {
                continue;
            }
            in.seekg(static_cast<std::streamoff>(offsets_[i]));
            std::string line;
            while (std::getline(in, line)) {
                if (in.eof()) {
                    break;  // A partial last line: read it whole next time.
                }
                offsets_[i] += line.size() + 1;
                // Mosquitto prefixes each line with the epoch time: drop it.
                if (const auto colon = line.find(": "); colon != std::string::npos &&
                                                          colon < 14) {
                    line.erase(0, colon + 2);
                }
                if (line.find("decision=deny") != std::string::npos) {
                    recorder_.Add(logs_[i].first, EntryKind::kRefusal, line);
                } else if (Worth(line)) {
                    recorder_.Add(logs_[i].first, EntryKind::kBrokerLog, line);
                }
            }
        }
    }

    Recorder& recorder_;
    std::vector<std::pair<std::string, fs::path>> logs_;
    std::vector<std::size_t> offsets_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

class Session {
public:
    Session(const Scenario& scenario, const SessionOptions& options)
        : scenario_(scenario),
          options_(options),
          recorder_(timeline_, options.on_entry),
          random_(options.seed) {}

    ~Session() { TearDown(); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    ScenarioResult Play();

private:
    // ---- Set-up ----
    StepOutcome StartWorld();
    StepOutcome StartAws();
    void CleanUpAws();
    // A control-plane call as the account sees it: through the AWS run's names and ledger
    // when the target is AWS.
    sim::Result<json, controlplane::AwsErrorReply> RawCall(const std::string& account,
                                                           const std::string& operation,
                                                           const json& arguments);
    std::set<std::string> KeepNames() const;
    StepOutcome RunSetup(const std::string& account, const std::vector<world::SetupCall>& calls,
                         const std::string& where);
    StepOutcome CreateActors();
    StepOutcome CreateModule(const Actor& actor, const ModuleActor& spec);
    StepOutcome CreateClaimThing(const Actor& actor, const ClaimThingActor& spec);
    sim::Result<CertificateFiles, std::string> ClientCertificate(const Actor& actor,
                                                                  const std::string& account,
                                                                  const std::string& which);
    StepOutcome CreateClient(const Actor& actor, const ClientActor& spec);
    StepOutcome CreateJitrHandler(const Actor& actor, const JitrHandlerActor& spec);
    StepOutcome CreateFleetDevice(const Actor& actor, const FleetDeviceActor& spec);
    void TearDown();
    // ---- Linked modules (--modules) ----
    StepOutcome OpenLinks(world::WorldPlan& plan);
    StepOutcome LinkToWorld();
    // Opens the link of one --modules entry and makes its module factory-fresh.
    struct OpenedLink {
        const ModuleActor* spec = nullptr;  ///< null: the scenario has no module actor so named
        std::string factory_endpoint;
    };
    sim::Result<OpenedLink, std::string> OpenLink(const LinkSpec& link);
    StepOutcome OpenLinksToAws();
    std::optional<std::string> SkipReason(const Step& step) const;

    // ---- Steps ----
    StepOutcome RunStep(const Step& step);
    StepOutcome Run(const AtStep& at, Duration within);
    StepOutcome Run(const EventStep& event, Duration within);
    StepOutcome Run(const ClaimStep& claim, Duration within);
    StepOutcome Run(const CallStep& call, Duration within);
    StepOutcome Run(const AssertStep& assertion, Duration within);
    StepOutcome CheckOnce(const AssertStep& assertion);
    StepOutcome Run(const ClientStep& step, Duration within);
    StepOutcome Run(const MessageStep& step, Duration within);
    StepOutcome Run(const PowerStep& step, Duration within);
    StepOutcome Run(const ExpectNotStep& step, Duration within);
    StepOutcome Run(const ParallelStep& step, Duration within);
    StepOutcome Run(const ProvisionStep& step, Duration within);
    StepOutcome Run(const FaultStep& step, Duration within);
    void ReviveBrokers();
    StepOutcome Run(const AdvanceStep& step, Duration within);
    /// The world's time; against real AWS (no local world) the system clock's.
    sim::TimePoint Now() const {
        return world_ ? world_->Clock()->Now() : sim::SystemClock().Now();
    }

    // ---- Helpers ----
    const world::AccountState* Account(const std::string& name) const;
    const world::ManufacturerState* Manufacturer(const std::string& name) const;
    const world::AccountState* StagingOf(const std::string& manufacturer) const;
    controlplane::AwsClient* Client(const std::string& account);
    sim::Result<json, std::string> Call(const std::string& account, const std::string& operation,
                                        const json& arguments, const std::string& participant);
    sim::Result<std::string, std::string> Text(const std::string& text,
                                               const std::string& account = {});
    sim::Result<json, std::string> Json(const json& value, const std::string& account = {});
    std::optional<std::string> Lookup(std::string_view name, const std::string& account);
    std::optional<std::string> VerificationCertificate(const world::ManufacturerState& maker,
                                                       const std::string& account);
    const CertificateFiles* CertificateOf(const std::string& actor) const;
    std::string AccountReason(const std::string& client_id);
    StepOutcome Save(const SaveList& save, const json& reply);

    const Scenario& scenario_;
    SessionOptions options_;
    Timeline timeline_;
    Recorder recorder_;
    sim::SeededRandom random_;
    std::mutex random_mutex_;

    std::unique_ptr<world::RunningWorld> world_;
    world::WorldState state_;
    std::unique_ptr<BrokerLogTail> tail_;
    std::mutex clients_mutex_;
    std::map<std::string, std::unique_ptr<controlplane::AwsClient>> clients_;
    std::mutex saved_mutex_;
    std::map<std::string, std::string> saved_;

    std::map<std::string, std::unique_ptr<ModuleLink>> modules_;
    std::map<std::string, std::unique_ptr<LinkedModule>> linked_;  // Until CreateModule.
    std::vector<LinkedModule*> linked_all_;  // Owned by linked_ or modules_.
    std::map<std::string, std::string> software_only_;  // Actor -> why it was not created.
    std::map<std::string, std::string> module_staging_;  // module actor -> its staging account
    std::map<std::string, ClaimThingRuntime> claim_things_;
    std::map<std::string, std::unique_ptr<ClientRuntime>> mqtt_clients_;
    std::map<std::string, FleetDeviceRuntime> fleet_devices_;
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> handlers_;
    // Accounts with an armed restart/kill fault -> "broker going down" lines seen in its log.
    std::map<std::string, std::size_t> armed_crashes_;

    std::unique_ptr<AwsRun> aws_;  // Set when the target is AWS (options_.aws_accounts).
    aws::TargetView target_;
};

// ---- Play ---------------------------------------------------------------------------------------

ScenarioResult Session::Play() {
    ScenarioResult result;
    result.id = scenario_.id;
    result.file = scenario_.file;
    result.seed = options_.seed;
    const auto started = SteadyClock::now();
    recorder_.Add("runner", EntryKind::kNote,
                  "scenario " + scenario_.id + " (seed " + std::to_string(options_.seed) + ")");

    auto fail_setup = [&](const std::string& what, const std::string& reason) {
        result.outcome = Outcome::kError;
        result.failure = StepFailure{what, 0, reason};
        recorder_.Add("runner", EntryKind::kStepFail, what + ": " + reason);
    };

    if (auto s = options_.aws_accounts ? StartAws() : StartWorld(); !s) {
        fail_setup("world up", s.error());
    } else {
        bool ok = true;
        for (const auto& account : scenario_.world.accounts) {
            if (aws_ && !account.setup.empty() && target_.own_accounts.count(account.name) == 0) {
                recorder_.Add("runner", EntryKind::kNote,
                              "world set-up of " + account.name +
                                  " skipped: sim-only (not an account of accounts.yaml)");
                continue;
            }
            if (!account.setup.empty()) {
                if (auto r = RunSetup(account.name, account.setup, "world set-up"); !r) {
                    fail_setup("world set-up of " + account.name, r.error());
                    ok = false;
                    break;
                }
            }
        }
        for (const auto& [account, calls] : scenario_.setup) {
            if (!ok) {
                break;
            }
            if (auto r = RunSetup(account, calls, "set-up"); !r) {
                fail_setup("set-up of " + account, r.error());
                ok = false;
            }
        }
        if (ok) {
            if (auto r = CreateActors(); !r) {
                fail_setup("actors", r.error());
                ok = false;
            }
        }
        if (ok) {
            for (const auto& step : scenario_.steps) {
                if (options_.interrupted != nullptr && options_.interrupted->load()) {
                    result.outcome = Outcome::kError;
                    result.failure = StepFailure{step.name, step.line,
                                                 "interrupted before this step (SIGINT/SIGTERM "
                                                 "or the scenario's timeout)"};
                    recorder_.Add("runner", EntryKind::kNote, "interrupted: cleaning up");
                    break;
                }
                if (options_.on_step) {
                    options_.on_step(step.name);
                }
                ReviveBrokers();
                if (auto r = RunStep(step); !r) {
                    result.outcome = Outcome::kFail;
                    result.failure = StepFailure{step.name, step.line, r.error()};
                    break;
                }
            }
        }
    }
    TearDown();
    result.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    result.timeline = timeline_.Entries();
    return result;
}

void Session::TearDown() {
    stopping_.store(true);
    for (auto& handler : handlers_) {
        handler.join();
    }
    handlers_.clear();
    mqtt_clients_.clear();
    for (auto* linked : linked_all_) {
        linked->RestoreRootCa();
    }
    linked_all_.clear();
    modules_.clear();
    linked_.clear();
    CleanUpAws();
    {
        // Closed before the brokers stop: a control plane waits for its idle keep-alive
        // connections before it exits.
        std::lock_guard<std::mutex> lock(clients_mutex_);
        clients_.clear();
    }
    if (world_) {
        world_->Stop();
        world_.reset();
        recorder_.Add("runner", EntryKind::kNote, "world down");
    }
    if (tail_) {
        tail_->Stop();
        tail_.reset();
    }
}

// ---- Linked modules -----------------------------------------------------------------------------

StepOutcome Session::OpenLinks(world::WorldPlan& plan) {
    if (options_.links.empty()) {
        return {};
    }
    if (!options_.module_cas.empty()) {
        // Warm manufacturer CAs: the world loads CA files it finds instead of making new ones.
        const fs::path into = options_.world_dir / "pki" / "manufacturers";
        for (const auto& maker : plan.spec.manufacturers) {
            const fs::path cert = options_.module_cas / (maker.name + "-ca.pem");
            const fs::path key = options_.module_cas / (maker.name + "-ca.key");
            std::error_code ec;
            if (!fs::exists(cert, ec) || !fs::exists(key, ec)) {
                continue;
            }
            fs::create_directories(into, ec);
            fs::copy_file(cert, into / cert.filename(), fs::copy_options::overwrite_existing, ec);
            fs::copy_file(key, into / key.filename(), fs::copy_options::overwrite_existing, ec);
            if (ec) {
                return Fail("--module-cas: " + ec.message());
            }
            recorder_.Add("runner", EntryKind::kNote,
                          "manufacturer " + maker.name + "'s CA from " + cert.string());
        }
    }
    std::map<std::string, std::string> staging_endpoint;  // staging account -> linked Endpoint
    for (const auto& link : options_.links) {
        auto opened = OpenLink(link);
        if (!opened) {
            return Fail(opened.error());
        }
        if (opened->spec == nullptr) {
            continue;
        }
        const auto& spec = *opened->spec;
        const std::string& factory = opened->factory_endpoint;
        // A linked module's staging sub-state is decided by its own factory Endpoint
        // (ExpressLink Programmer's Guide, "Onboarding": staging while Endpoint is the factory
        // default), so its maker's staging account answers at that name.
        const auto address = module::ParseEndpoint(factory);
        if (!address) {
            return Fail(link.actor + ": its factory Endpoint '" + factory + "' is not host[:port]");
        }
        // The world's accounts answer at AWS-shaped names (the broker plugin checks this).
        const std::string shape = "-ats.iot." + plan.spec.region + ".";
        if (address->host.find(shape) == std::string::npos) {
            return Fail(link.actor + ": its factory Endpoint " + factory +
                        " is not <prefix>-ats.iot." + plan.spec.region +
                        ".<domain>, the form a world's account answers at");
        }
        bool placed = false;
        for (auto& account : plan.accounts) {
            if (account.spec.kind != world::AccountKind::kStaging ||
                account.spec.manufacturer != spec.manufacturer) {
                continue;
            }
            auto [it, fresh] = staging_endpoint.emplace(account.spec.name, factory);
            if (!fresh && it->second != factory) {
                return Fail(link.actor + ": its factory Endpoint " + factory + " is not " +
                            it->second + ", another linked module's: one staging account "
                            "cannot answer at both");
            }
            account.endpoint = address->host;
            account.spec.port = address->port;
            recorder_.Add(account.spec.name, EntryKind::kNote,
                          "answers at " + factory + ", " + link.actor + "'s factory Endpoint");
            placed = true;
            break;
        }
        if (!placed) {
            return Fail(link.actor + ": no staging account for manufacturer " + spec.manufacturer);
        }
    }
    return {};
}

sim::Result<Session::OpenedLink, std::string> Session::OpenLink(const LinkSpec& link) {
    const auto actor = std::find_if(
        scenario_.actors.begin(), scenario_.actors.end(), [&](const Actor& a) {
            return a.name == link.actor && std::holds_alternative<ModuleActor>(a.kind);
        });
    if (actor == scenario_.actors.end()) {
        recorder_.Add("runner", EntryKind::kNote,
                      "--modules " + ToString(link) + ": no module actor " + link.actor +
                          " here; not used");
        return OpenedLink{};
    }
    auto opened = LinkedModule::Open(link.actor, link, recorder_);
    if (!opened) {
        return sim::Unexpected<std::string>(opened.error());
    }
    LinkedModule& module = **opened;
    linked_all_.push_back(&module);
    linked_[link.actor] = std::move(*opened);
    auto factory = module.MakeFactoryFresh();
    if (!factory) {
        return sim::Unexpected<std::string>(link.actor + " (" + module.LinkedVia() +
                                            "): " + factory.error());
    }
    return OpenedLink{&std::get<ModuleActor>(actor->kind), *factory};
}

StepOutcome Session::OpenLinksToAws() {
    for (const auto& link : options_.links) {
        auto opened = OpenLink(link);
        if (!opened) {
            return Fail(opened.error());
        }
        if (opened->spec != nullptr) {
            // A real module keeps its own factory Endpoint: AWS's staging account for its
            // manufacturer answers there, whatever accounts.yaml names as staging-endpoint.
            recorder_.Add(link.actor, EntryKind::kNote,
                          "linked module against AWS: factory Endpoint " + opened->factory_endpoint);
        }
    }
    return {};
}

StepOutcome Session::LinkToWorld() {
    if (linked_all_.empty()) {
        return {};
    }
    if (!options_.module_hosts.empty()) {
        auto map = sim::ReadFile(options_.world_dir / "endpoints.json");
        if (!map) {
            return Fail("the world's endpoints map: " + map.error().message);
        }
        if (auto s = sim::WriteFileAtomically(options_.module_hosts, *map); !s) {
            return Fail("--module-hosts: " + s.error().message);
        }
        recorder_.Add("runner", EntryKind::kNote,
                      "the world's endpoints map written to " + options_.module_hosts.string());
    }
    auto root = sim::ReadFile(state_.server_ca_file);
    if (!root) {
        return Fail(root.error().message);
    }
    for (auto* linked : linked_all_) {
        if (auto s = linked->TrustRootCa(*root); !s) {
            return Fail(linked->name() + ": " + s.error());
        }
    }
    return {};
}

std::optional<std::string> Session::SkipReason(const Step& step) const {
    return std::visit(
        [&](const auto& body) -> std::optional<std::string> {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, PowerStep>) {
                auto it = modules_.find(body.module);
                if (it != modules_.end() && !it->second->LinkedVia().empty()) {
                    return "software-only: power steps drive a software module; " + body.module +
                           " is linked over " + it->second->LinkedVia() +
                           " (power it at its bench)";
                }
            } else if constexpr (std::is_same_v<T, ClientStep> || std::is_same_v<T, MessageStep>) {
                if (auto it = software_only_.find(body.client); it != software_only_.end()) {
                    return "software-only: " + it->second;
                }
            } else if constexpr (std::is_same_v<T, ExpectNotStep>) {
                return SkipReason(body.inner.front());
            }
            return std::nullopt;
        },
        step.body);
}

// ---- Set-up -------------------------------------------------------------------------------------

StepOutcome Session::StartWorld() {
    world::UpOptions up;
    up.directory = options_.world_dir;
    up.explain = true;  // The account's reasons go to the broker log, and so to the timeline.
    up.seed = options_.seed;
    world::WorldPlan plan;
    {
        std::lock_guard<std::mutex> lock(random_mutex_);
        plan = world::PlanWorld(scenario_.world, random_);
    }
    if (auto s = OpenLinks(plan); !s) {
        return s;
    }
    auto running = world::RunningWorld::Start(up, plan);
    if (!running) {
        return Fail(running.error().message);
    }
    world_ = std::move(*running);
    state_ = world_->State();
    std::vector<std::pair<std::string, fs::path>> logs;
    for (const auto& account : state_.accounts) {
        recorder_.Add(account.name, EntryKind::kNote,
                      std::string(world::ToString(account.kind)) + " account " +
                          account.account_id + " up: " + account.endpoint + " at " +
                          account.address + ":" + std::to_string(account.mqtt_port));
        logs.emplace_back(account.name, account.log_file);
    }
    tail_ = std::make_unique<BrokerLogTail>(recorder_, std::move(logs));
    return LinkToWorld();
}

StepOutcome Session::StartAws() {
    const auto& accounts = *options_.aws_accounts;
    if (auto covered = aws::CheckCovers(accounts, scenario_); !covered) {
        return Fail(covered.error().message);
    }
    aws_ = std::make_unique<AwsRun>(accounts, options_.run_prefix, options_.ledger);
    state_ = world::WorldState{};
    state_.directory = options_.world_dir.string();
    state_.server_ca_file = accounts.ca_file.string();
    recorder_.Add("runner", EntryKind::kNote,
                  "target aws: run prefix " + options_.run_prefix + ", ledger " +
                      options_.ledger.string());
    for (const auto& spec : scenario_.world.accounts) {
        const auto& mapping = *accounts.Find(spec.name);
        world::AccountState account;
        account.name = spec.name;
        account.kind = spec.kind;
        std::string host;
        if (mapping.IsStaging()) {
            host = mapping.staging_endpoint;
            if (const auto colon = host.rfind(':'); colon != std::string::npos) {
                try {
                    account.mqtt_port = static_cast<std::uint16_t>(std::stoi(host.substr(colon + 1)));
                } catch (const std::exception&) {
                    return Fail(accounts.file.string() + ": accounts." + spec.name +
                                ".staging-endpoint: bad port in '" + host + "'");
                }
                host.erase(colon);
            }
        } else {
            auto endpoint = aws_->Open(spec.name);
            if (!endpoint) {
                return Fail(endpoint.error());
            }
            host = *endpoint;
            account.account_id = mapping.account_id;
            if (state_.region.empty()) {
                state_.region = mapping.region;
            } else if (state_.region != mapping.region) {
                return Fail(accounts.file.string() + ": accounts." + spec.name + ".region: " +
                            mapping.region + ", but the scenario's world has one region (" +
                            state_.region + ")");
            }
            target_.own_accounts.insert(spec.name);
        }
        account.endpoint = host;
        account.address = aws_->Resolve(host);
        recorder_.Add(spec.name, EntryKind::kNote,
                      std::string(world::ToString(spec.kind)) + " account " +
                          (mapping.IsStaging() ? std::string("(AWS's)")
                                               : mapping.account_id + " (" + mapping.region + ")") +
                          ": MQTT " + host + ":" + std::to_string(account.mqtt_port) +
                          (account.address != host ? " at " + account.address : ""));
        state_.accounts.push_back(std::move(account));
    }
    for (const auto& maker : scenario_.world.manufacturers) {
        if (auto it = accounts.manufacturers.find(maker.name); it != accounts.manufacturers.end()) {
            state_.manufacturers.push_back(world::ManufacturerState{
                maker.name, it->second.ca_certificate.string(), it->second.ca_key.string()});
        }
    }
    if (auto s = OpenLinksToAws(); !s) {
        return s;
    }
    for (const auto& actor : scenario_.actors) {
        if (linked_.count(actor.name) != 0) {
            continue;  // A real module presents its own birth certificate.
        }
        if (auto why = aws::UnavailableActor(actor, accounts)) {
            target_.unavailable_actors[actor.name] = *why;
        }
    }
    return LinkToWorld();
}

void Session::CleanUpAws() {
    if (!aws_) {
        return;
    }
    if (options_.keep_resources) {
        recorder_.Add("runner", EntryKind::kNote,
                      "--keep: left in place; remove with: elsim aws cleanup --prefix " +
                          aws_->prefix());
    } else {
        const int failed = aws_->Cleanup(false, [&](const std::string& line) {
            recorder_.Add("runner", EntryKind::kNote, line);
        });
        recorder_.Add("runner", EntryKind::kNote,
                      failed == 0 ? "clean-up done: everything this run created is deleted"
                                  : "clean-up: " + std::to_string(failed) +
                                        " resource(s) left; see above, then elsim aws cleanup "
                                        "--prefix " +
                                        aws_->prefix());
    }
    {
        std::lock_guard<std::mutex> lock(clients_mutex_);
        aws_.reset();
    }
}

sim::Result<json, controlplane::AwsErrorReply> Session::RawCall(const std::string& account,
                                                                const std::string& operation,
                                                                const json& arguments) {
    if (aws_) {
        return aws_->Call(account, operation, arguments, KeepNames());
    }
    auto* client = Client(account);
    if (client == nullptr) {
        return sim::Unexpected<controlplane::AwsErrorReply>(controlplane::AwsErrorReply{
            0, "InvalidRequest", "no control plane for account " + account, "", nullptr});
    }
    return client->CallOperation(operation, arguments);
}

// The names a module's or client's certificate gives its thing: never prefixed.
std::set<std::string> Session::KeepNames() const {
    std::set<std::string> keep;
    for (const auto& [name, module] : modules_) {
        keep.insert(module->certificate().common_name);
    }
    for (const auto& [name, client] : mqtt_clients_) {
        keep.insert(client->certificate().common_name);
    }
    return keep;
}

StepOutcome Session::RunSetup(const std::string& account,
                              const std::vector<world::SetupCall>& calls,
                              const std::string& where) {
    for (const auto& call : calls) {
        auto reply = Call(account, call.operation, call.arguments, account);
        if (!reply) {
            return Fail(where + " line " + std::to_string(call.line) + ": " + call.operation +
                        ": " + reply.error());
        }
        if (auto s = Save(call.save, *reply); !s) {
            return Fail(where + " line " + std::to_string(call.line) + ": " + s.error());
        }
    }
    return {};
}

StepOutcome Session::CreateActors() {
    for (const auto& actor : scenario_.actors) {
        StepOutcome made = std::visit(
            [&](const auto& spec) -> StepOutcome {
                using T = std::decay_t<decltype(spec)>;
                if constexpr (std::is_same_v<T, ModuleActor>) {
                    return CreateModule(actor, spec);
                } else if constexpr (std::is_same_v<T, ClaimThingActor>) {
                    return CreateClaimThing(actor, spec);
                } else if constexpr (std::is_same_v<T, ClientActor>) {
                    return CreateClient(actor, spec);
                } else if constexpr (std::is_same_v<T, FleetDeviceActor>) {
                    return CreateFleetDevice(actor, spec);
                } else {
                    return CreateJitrHandler(actor, spec);
                }
            },
            actor.kind);
        if (!made) {
            return Fail("actor " + actor.name + " (line " + std::to_string(actor.line) +
                        "): " + made.error());
        }
    }
    return {};
}

StepOutcome Session::CreateModule(const Actor& actor, const ModuleActor& spec) {
    if (aws_ && target_.unavailable_actors.count(actor.name) != 0) {
        recorder_.Add(actor.name, EntryKind::kNote,
                      "not created: " + target_.unavailable_actors[actor.name]);
        return {};
    }
    const auto* maker = Manufacturer(spec.manufacturer);
    const auto* staging = StagingOf(spec.manufacturer);
    if (maker == nullptr || staging == nullptr) {
        return Fail("no staging account for manufacturer " + spec.manufacturer);
    }
    if (auto linked = linked_.find(actor.name); linked != linked_.end()) {
        if (!spec.broken.empty()) {
            return Fail("broken: " + spec.broken + " is software-only: a linked module presents "
                        "its own birth certificate");
        }
        if (!spec.started) {
            recorder_.Add(actor.name, EntryKind::kNote,
                          "started: false is software-only: a linked module is powered at its "
                          "bench");
        }
        recorder_.Add(actor.name, EntryKind::kNote,
                      "module " + linked->second->certificate().common_name + " (" +
                          spec.manufacturer + ", linked over " + linked->second->LinkedVia() +
                          "), factory Endpoint " + ob::EndpointOf(*staging));
        if (aws_) {
            // The run owns the linked module's certificate and thing in an account only when
            // that account does not hold them yet (JITP will create them during the run); a
            // module onboarded there before keeps what it has.
            const auto& certificate = linked->second->certificate();
            for (const auto& own : target_.own_accounts) {
                auto held = [&](const char* operation, const char* key,
                                const std::string& value) -> std::optional<bool> {
                    auto reply = aws_->Call(own, operation, nlohmann::json{{key, value}}, {key});
                    if (reply) {
                        return true;
                    }
                    if (reply.error().type == "ResourceNotFoundException") {
                        return false;
                    }
                    return std::nullopt;
                };
                const auto cert_held =
                    held("DescribeCertificate", "certificateId", certificate.certificate_id);
                const auto thing_held = held("DescribeThing", "thingName", certificate.common_name);
                if (!cert_held || !thing_held) {
                    return Fail("account " + own + ": cannot tell whether it holds " +
                                actor.name + "'s certificate and thing already");
                }
                if (!*cert_held) {
                    aws_->Record(own, aws::Created{"certificate", certificate.certificate_id, ""});
                }
                if (!*thing_held) {
                    aws_->Record(own, aws::Created{"identity-thing", certificate.common_name, ""});
                }
                if (*cert_held || *thing_held) {
                    recorder_.Add(actor.name, EntryKind::kNote,
                                  "account " + own + " holds its " +
                                      (*cert_held ? std::string("certificate") : "thing") +
                                      " already: left as it is after the run");
                }
            }
        }
        modules_[actor.name] = std::move(linked->second);
        linked_.erase(linked);
        module_staging_[actor.name] = staging->name;
        return {};
    }
    const fs::path dir = options_.world_dir / "actors" / actor.name;
    fs::path identity;
    if (spec.broken.empty()) {
        auto identities = ob::MakeBirthIdentities(*maker, 1, dir / "identity");
        if (!identities) {
            return Fail(identities.error().message);
        }
        identity = identities->front();
    } else {
        // A broken birth identity (pki's broken cases), signed as the case says.
        auto root = pki::LoadCaFiles(maker->ca_certificate_file, maker->ca_key_file);
        if (!root) {
            return Fail(root.error().message);
        }
        auto out = pki::StagedDirectory::Begin(dir / "broken", /*force=*/true);
        if (!out) {
            return Fail(out.error().message);
        }
        pki::CaChain chain{std::move(*root), std::nullopt};
        // Expired and not-yet-valid relative to world time.
        if (auto cases = pki::WriteBroken(chain, Now(), *out); !cases) {
            return Fail(cases.error().message);
        }
        if (auto s = out->Commit(); !s) {
            return Fail(s.error().message);
        }
        const fs::path case_dir = dir / "broken" / spec.broken;
        auto files = LoadCertificateFiles(case_dir / "cert.pem", case_dir / "key.pem");
        if (!files) {
            return Fail("broken case '" + spec.broken + "': " + files.error().message);
        }
        // A module's identity folder is named by its ThingName (the certificate's CN).
        identity = dir / "identity" / (files->common_name.empty() ? actor.name : files->common_name);
        std::error_code ec;
        fs::create_directories(identity, ec);
        fs::copy_file(case_dir / "cert.pem", identity / "cert.pem",
                      fs::copy_options::overwrite_existing, ec);
        fs::copy_file(case_dir / "key.pem", identity / "key.pem",
                      fs::copy_options::overwrite_existing, ec);
        if (ec) {
            return Fail(identity.string() + ": " + ec.message());
        }
    }
    auto certificate = LoadCertificateFiles(identity / "cert.pem", identity / "key.pem");
    if (!certificate) {
        return Fail(certificate.error().message);
    }
    world::EndpointsMap endpoints;
    for (const auto& account : state_.accounts) {
        // A software module reaches loopback only (endpoints.hpp), also when the target is AWS.
        if (!aws_ || sim::IsLoopbackIpv4(account.address)) {
            endpoints.Add(account.endpoint,
                          world::ResolvedAddress{account.address, account.mqtt_port});
        }
    }
    module::FleetOptions fleet;
    fleet.staging_endpoint = ob::EndpointOf(*staging);
    fleet.root_ca_file = state_.server_ca_file;
    fleet.resolver = endpoints.MakeResolver();
    fleet.state_dir = (dir / "state").string();
    fleet.clock = world_ ? world_->Clock() : nullptr;  // against AWS: the system clock
    {
        std::lock_guard<std::mutex> lock(random_mutex_);
        fleet.backoff_seed = random_.Next64();
    }
    auto runtime = std::make_unique<ModuleRuntime>(actor.name, std::move(fleet), identity,
                                                   std::move(*certificate), recorder_);
    recorder_.Add(actor.name, EntryKind::kNote,
                  "module " + runtime->certificate().common_name + " (" + spec.manufacturer +
                      (spec.broken.empty() ? "" : ", broken: " + spec.broken) +
                      "), factory Endpoint " + ob::EndpointOf(*staging));
    if (spec.started) {
        if (auto s = runtime->Start(); !s) {
            return Fail(s.error().message);
        }
    }
    if (aws_) {
        // This run generated the identity: its certificate and the thing named by it (JITP)
        // are the run's to delete.
        for (const auto& own : target_.own_accounts) {
            aws_->Record(own, aws::Created{"certificate", runtime->certificate().certificate_id, ""});
            aws_->Record(own, aws::Created{"identity-thing", runtime->certificate().common_name, ""});
        }
    }
    modules_[actor.name] = std::move(runtime);
    module_staging_[actor.name] = staging->name;
    return {};
}

StepOutcome Session::CreateClaimThing(const Actor& actor, const ClaimThingActor& spec) {
    if (aws_) {
        // The OEM's own claim-thing (OEM guide Appendix A), registered with staging by the
        // module maker: its files and UUID come from accounts.yaml.
        const auto* mapping = options_.aws_accounts->Find(spec.account);
        std::string staging_name;
        for (const auto& account : state_.accounts) {
            if (account.kind == world::AccountKind::kStaging) {
                staging_name = account.name;
                break;
            }
        }
        if (mapping == nullptr || !mapping->claim_thing || staging_name.empty()) {
            return Fail("accounts." + spec.account + ".claim-thing is not given");
        }
        ob::ClaimThing thing{spec.account, mapping->claim_thing->uuid,
                             mapping->claim_thing->certificate, mapping->claim_thing->key};
        auto certificate = LoadCertificateFiles(thing.certificate_file, thing.key_file);
        if (!certificate) {
            return Fail("accounts." + spec.account + ".claim-thing: " + certificate.error().message);
        }
        recorder_.Add(actor.name, EntryKind::kNote,
                      "claim-thing of " + spec.account + " from accounts.yaml: " + thing.uuid);
        claim_things_[actor.name] = ClaimThingRuntime{thing, staging_name, std::move(*certificate)};
        return {};
    }
    const world::AccountState* staging = nullptr;
    for (const auto& account : state_.accounts) {
        if (account.kind == world::AccountKind::kStaging) {
            staging = &account;
            break;
        }
    }
    if (staging == nullptr) {
        return Fail("the world has no staging account to register a claim-thing in");
    }
    auto* oem = Client(spec.account);
    auto* staging_client = Client(staging->name);
    if (oem == nullptr || staging_client == nullptr) {
        return Fail("no control plane for " + spec.account + " or " + staging->name);
    }
    sim::Result<ob::ClaimThing> thing = [&] {
        std::lock_guard<std::mutex> lock(random_mutex_);
        return ob::ObtainClaimThing(*oem, *staging_client, state_, *staging, spec.account,
                                    options_.world_dir / "actors" / actor.name, random_);
    }();
    if (!thing) {
        return Fail(thing.error().message);
    }
    auto certificate = LoadCertificateFiles(thing->certificate_file, thing->key_file);
    if (!certificate) {
        return Fail(certificate.error().message);
    }
    recorder_.Add(actor.name, EntryKind::kNote,
                  "claim-thing of " + spec.account + " registered in " + staging->name +
                      " as " + thing->uuid);
    claim_things_[actor.name] = ClaimThingRuntime{*thing, staging->name, std::move(*certificate)};
    return {};
}

sim::Result<CertificateFiles, std::string> Session::ClientCertificate(const Actor& actor,
                                                                       const std::string& account,
                                                                       const std::string& which) {
    using R = sim::Result<CertificateFiles, std::string>;
    if (const auto* existing = CertificateOf(which)) {
        return *existing;
    }
    const fs::path dir = options_.world_dir / "actors" / actor.name;
    const bool claim = which.rfind("claim:", 0) == 0;
    if (which == "new" || claim) {
        // claim:TEMPLATE: a provisioning claim certificate of the account (5 minutes).
        auto reply = claim ? Call(account, "CreateProvisioningClaim",
                                  json{{"templateName", which.substr(6)}}, actor.name)
                           : Call(account, "CreateKeysAndCertificate",
                                  json{{"setAsActive", true}}, actor.name);
        if (!reply) {
            return R(sim::Unexpected<std::string>(reply.error()));
        }
        std::error_code ec;
        fs::create_directories(dir, ec);
        const auto cert = dir / "cert.pem";
        const auto key = dir / "key.pem";
        if (!sim::WriteFileAtomically(cert, (*reply)["certificatePem"].get<std::string>()) ||
            !sim::WriteFileAtomically(key, (*reply)["keyPair"]["PrivateKey"].get<std::string>(),
                                      fs::perms::owner_read | fs::perms::owner_write)) {
            return R(sim::Unexpected<std::string>("cannot write " + dir.string()));
        }
        auto files = LoadCertificateFiles(cert, key);
        if (!files) {
            return R(sim::Unexpected<std::string>(files.error().message));
        }
        return *files;
    }
    if (const auto* maker = Manufacturer(which)) {
        auto identities = ob::MakeBirthIdentities(*maker, 1, dir);
        if (!identities) {
            return R(sim::Unexpected<std::string>(identities.error().message));
        }
        auto files = LoadCertificateFiles(identities->front() / "cert.pem",
                                          identities->front() / "key.pem");
        if (!files) {
            return R(sim::Unexpected<std::string>(files.error().message));
        }
        if (aws_) {
            aws_->Record(account, aws::Created{"certificate", files->certificate_id, ""});
            aws_->Record(account, aws::Created{"identity-thing", files->common_name, ""});
        }
        return *files;
    }
    return R(sim::Unexpected<std::string>("certificate '" + which +
                                          "': not an actor defined earlier, 'new', "
                                          "'claim:TEMPLATE' or a manufacturer"));
}

StepOutcome Session::CreateClient(const Actor& actor, const ClientActor& spec) {
    const auto* account = Account(spec.account);
    if (account == nullptr) {
        return Fail("no account " + spec.account);
    }
    if (auto it = modules_.find(spec.certificate);
        it != modules_.end() && !it->second->LinkedVia().empty()) {
        software_only_[actor.name] = "client " + actor.name + " presents " + spec.certificate +
                                     "'s birth key, which stays inside a linked module";
        recorder_.Add(actor.name, EntryKind::kNote,
                      "not created: " + software_only_[actor.name] + " (its steps are skipped)");
        return {};
    }
    auto certificate = ClientCertificate(actor, spec.account, spec.certificate);
    if (!certificate) {
        return Fail(certificate.error());
    }
    // The client id may name the client's own certificate (${d1.thingName}).
    const CertificateFiles own = *certificate;
    auto client_id = Substitute(spec.client_id.empty() ? actor.name : spec.client_id,
                                [&](std::string_view name) -> std::optional<std::string> {
                                    const std::string prefix = actor.name + ".";
                                    if (name.substr(0, prefix.size()) == prefix) {
                                        const auto field = name.substr(prefix.size());
                                        if (field == "thingName") return own.common_name;
                                        if (field == "serial") return own.serial;
                                        if (field == "certificateId") return own.certificate_id;
                                        return std::nullopt;
                                    }
                                    return Lookup(name, spec.account);
                                });
    if (!client_id) {
        return Fail("client-id: " + client_id.error().message);
    }
    ClientRuntime::Endpoint endpoint{account->name, account->address, account->mqtt_port,
                                     state_.server_ca_file};
    mqtt_clients_[actor.name] = std::make_unique<ClientRuntime>(
        actor.name, *client_id, std::move(endpoint), std::move(*certificate), recorder_);
    return {};
}

StepOutcome Session::CreateFleetDevice(const Actor& actor, const FleetDeviceActor& spec) {
    const auto* account = Account(spec.account);
    if (account == nullptr) {
        return Fail("no account " + spec.account);
    }
    auto claim = ClientCertificate(actor, spec.account, spec.claim);
    if (!claim) {
        return Fail(claim.error());
    }
    FleetDeviceRuntime device;
    device.name = actor.name;
    device.spec = spec;
    for (const auto& [key, value] : spec.parameters) {
        auto text = Text(value, spec.account);
        if (!text) {
            return Fail("parameters." + key + ": " + text.error());
        }
        device.parameters[key] = *text;
    }
    device.claim = std::move(*claim);
    device.endpoint = ob::EndpointOf(*account);
    device.world_dir = options_.world_dir;
    device.root_ca = state_.server_ca_file;
    device.out_dir = options_.world_dir / "actors" / actor.name / "identities";
    fleet_devices_[actor.name] = std::move(device);
    return {};
}

StepOutcome Session::Run(const ProvisionStep& step, Duration within) {
    auto it = fleet_devices_.find(step.device);
    if (it == fleet_devices_.end()) {
        return Fail("no device actor " + step.device);
    }
    return RunFleetDevice(it->second, step, within, recorder_);
}

StepOutcome Session::CreateJitrHandler(const Actor& actor, const JitrHandlerActor& spec) {
    // Not emulated: the rules engine that invokes a Lambda function. The handler stands in for
    // both: an MQTT client of the account subscribed to the JITR registration events, with a
    // certificate and a policy of its own (they appear in the account's registry).
    const std::string policy = "elsim-jitr-handler";
    const json document = {
        {"Version", "2012-10-17"},
        {"Statement",
         {{{"Effect", "Allow"},
           {"Action", {"iot:Connect", "iot:Subscribe", "iot:Receive"}},
           {"Resource", "*"}}}}};
    if (auto r = Call(spec.account, "CreatePolicy",
                      json{{"policyName", policy}, {"policyDocument", document.dump()}},
                      actor.name);
        !r) {
        return Fail(r.error());
    }
    auto certificate = ClientCertificate(actor, spec.account, "new");
    if (!certificate) {
        return Fail(certificate.error());
    }
    const auto* account = Account(spec.account);
    const std::string arn = "arn:aws:iot:" + state_.region + ":" + account->account_id +
                            ":cert/" + certificate->certificate_id;
    if (auto r = Call(spec.account, "AttachPolicy", json{{"policyName", policy}, {"target", arn}},
                      actor.name);
        !r) {
        return Fail(r.error());
    }
    std::vector<std::string> whitelist;
    for (const auto& serial : spec.whitelist) {
        auto text = Text(serial, spec.account);
        if (!text) {
            return Fail(text.error());
        }
        whitelist.push_back(LowerHexWithoutZeros(*text));
    }
    ClientRuntime::Endpoint endpoint{account->name, account->address, account->mqtt_port,
                                     state_.server_ca_file};
    auto client = std::make_unique<ClientRuntime>(actor.name, actor.name, std::move(endpoint),
                                                  std::move(*certificate), recorder_);
    if (auto r = client->Connect(10s); !r) {
        return Fail("connect: " + r.error());
    }
    // AWS IoT Core developer guide, "Just-in-time registration of client certificates": the
    // registration event is published on $aws/events/certificates/registered/<caCertificateId>.
    const std::string filter = "$aws/events/certificates/registered/+";
    if (auto r = client->Subscribe(filter, 5s); !r) {
        return Fail("subscribe: " + r.error());
    }
    ClientRuntime* raw = client.get();
    mqtt_clients_[actor.name] = std::move(client);
    handlers_.emplace_back([this, raw, filter, whitelist, name = actor.name,
                            account_name = spec.account, policy_name = spec.policy] {
        while (!stopping_.load()) {
            auto message = raw->WaitMessage(
                filter, [](const std::string&, const std::string&) { return true; }, 100ms);
            if (!message) {
                continue;
            }
            const json event = json::parse(message->second, nullptr, false);
            if (!event.is_object() || !event.contains("certificateId")) {
                recorder_.Add(name, EntryKind::kNote, "ignored: not a registration event");
                continue;
            }
            const std::string id = event["certificateId"].get<std::string>();
            auto described = Call(account_name, "DescribeCertificate",
                                  json{{"certificateId", id}}, name);
            if (!described) {
                continue;
            }
            auto info = pki::ParseCertificatePem(
                (*described)["certificateDescription"].value("certificatePem", ""));
            if (!info) {
                recorder_.Add(name, EntryKind::kNote, "ignored: certificate does not parse");
                continue;
            }
            const std::string serial = LowerHexWithoutZeros(info->serial_hex);
            if (std::find(whitelist.begin(), whitelist.end(), serial) == whitelist.end()) {
                recorder_.Add(name, EntryKind::kNote,
                              "serial " + serial + " not in the whitelist: left PENDING_ACTIVATION");
                continue;
            }
            const std::string thing = info->subject.Get("CN").value_or(serial);
            const std::string certificate_arn =
                (*described)["certificateDescription"].value("certificateArn", "");
            recorder_.Add(name, EntryKind::kNote, "serial " + serial + " whitelisted: activating");
            (void)Call(account_name, "UpdateCertificate",
                       json{{"certificateId", id}, {"newStatus", "ACTIVE"}}, name);
            (void)Call(account_name, "CreateThing", json{{"thingName", thing}}, name);
            (void)Call(account_name, "AttachThingPrincipal",
                       json{{"thingName", thing}, {"principal", certificate_arn}}, name);
            if (!policy_name.empty()) {
                (void)Call(account_name, "AttachPolicy",
                           json{{"policyName", policy_name}, {"target", certificate_arn}}, name);
            }
        }
    });
    return {};
}

// ---- Values -------------------------------------------------------------------------------------

const world::AccountState* Session::Account(const std::string& name) const {
    for (const auto& account : state_.accounts) {
        if (account.name == name) {
            return &account;
        }
    }
    return nullptr;
}

const world::ManufacturerState* Session::Manufacturer(const std::string& name) const {
    for (const auto& maker : state_.manufacturers) {
        if (maker.name == name) {
            return &maker;
        }
    }
    return nullptr;
}

const world::AccountState* Session::StagingOf(const std::string& manufacturer) const {
    for (const auto& spec : scenario_.world.accounts) {
        if (spec.kind == world::AccountKind::kStaging && spec.manufacturer == manufacturer) {
            return Account(spec.name);
        }
    }
    return nullptr;
}

controlplane::AwsClient* Session::Client(const std::string& account) {
    if (aws_) {
        return aws_->Client(account);
    }
    std::lock_guard<std::mutex> lock(clients_mutex_);
    auto& slot = clients_[account];
    if (!slot) {
        const auto* state = Account(account);
        if (state == nullptr) {
            return nullptr;
        }
        auto client = ob::MakeAccountClient(*state, state_.region);
        if (!client) {
            return nullptr;
        }
        slot = std::move(*client);
    }
    return slot.get();
}

sim::Result<json, std::string> Session::Call(const std::string& account,
                                             const std::string& operation, const json& arguments,
                                             const std::string& participant) {
    using R = sim::Result<json, std::string>;
    auto* client = Client(account);
    if (client == nullptr) {
        return R(sim::Unexpected<std::string>("no control plane for account " + account));
    }
    auto args = Json(arguments, account);
    if (!args) {
        return R(sim::Unexpected<std::string>(args.error()));
    }
    recorder_.Add(participant, EntryKind::kCall, account + " " + operation + " " + Compact(*args));
    auto reply = aws_ ? aws_->Call(account, operation, *args, KeepNames())
                      : client->CallOperation(operation, *args);
    if (!reply) {
        const std::string error = reply.error().type + ": " + reply.error().message;
        recorder_.Add(account, EntryKind::kReply, operation + " -> " + error);
        return R(sim::Unexpected<std::string>(error));
    }
    recorder_.Add(account, EntryKind::kReply, operation + " -> " + Compact(*reply));
    return *reply;
}

std::optional<std::string> Session::VerificationCertificate(const world::ManufacturerState& maker,
                                                            const std::string& account) {
    auto* client = Client(account);
    if (client == nullptr) {
        return std::nullopt;
    }
    auto code = client->CallOperation("GetRegistrationCode", json::object());
    if (!code) {
        return std::nullopt;
    }
    auto ca = pki::LoadCaFiles(maker.ca_certificate_file, maker.ca_key_file);
    if (!ca) {
        return std::nullopt;
    }
    const fs::path dir = options_.world_dir / "verification" / (maker.name + "-" + account);
    auto out = pki::StagedDirectory::Begin(dir, /*force=*/true);
    if (!out) {
        return std::nullopt;
    }
    auto issued = pki::WriteVerification(*ca, (*code)["registrationCode"].get<std::string>(),
                                         pki::Days{365}, std::chrono::system_clock::now(), *out);
    if (!issued || !out->Commit()) {
        return std::nullopt;
    }
    auto pem = sim::ReadFile(dir / "verification.pem");
    return pem ? std::optional<std::string>(*pem) : std::nullopt;
}

const CertificateFiles* Session::CertificateOf(const std::string& actor) const {
    if (auto it = modules_.find(actor); it != modules_.end()) {
        return &it->second->certificate();
    }
    if (auto it = claim_things_.find(actor); it != claim_things_.end()) {
        return &it->second.certificate;
    }
    if (auto it = mqtt_clients_.find(actor); it != mqtt_clients_.end()) {
        return &it->second->certificate();
    }
    if (auto it = fleet_devices_.find(actor); it != fleet_devices_.end()) {
        return &it->second.claim;
    }
    return nullptr;
}

std::optional<std::string> Session::Lookup(std::string_view name, const std::string& account) {
    const auto dot = name.find('.');
    if (dot == std::string_view::npos) {
        std::lock_guard<std::mutex> lock(saved_mutex_);
        auto it = saved_.find(std::string(name));
        return it == saved_.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    const std::string head(name.substr(0, dot));
    const std::string field(name.substr(dot + 1));
    if (const auto* state = Account(head)) {
        if (field == "accountId") return state->account_id;
        if (field == "endpoint") return ob::EndpointOf(*state);
        if (field == "region") return state_.region;
        return std::nullopt;
    }
    if (const auto* maker = Manufacturer(head)) {
        if (field == "caCertificate" || field == "caCertificateId") {
            auto files = LoadCertificateFiles(maker->ca_certificate_file, maker->ca_key_file);
            if (!files) {
                return std::nullopt;
            }
            return field == "caCertificate" ? files->certificate_pem : files->certificate_id;
        }
        if (field == "verificationCertificate" && !account.empty()) {
            return VerificationCertificate(*maker, account);
        }
        return std::nullopt;
    }
    if (auto it = claim_things_.find(head); it != claim_things_.end() && field == "uuid") {
        return it->second.thing.uuid;
    }
    if (auto it = fleet_devices_.find(head); it != fleet_devices_.end()) {
        // Its last provisioning; the claim certificate's id.
        if (field == "thingName") return it->second.thing_name;
        if (field == "certificateId") return it->second.certificate_id;
        if (field == "claimCertificateId") return it->second.claim.certificate_id;
        return std::nullopt;
    }
    if (const auto* files = CertificateOf(head)) {
        if (field == "thingName") return files->common_name;
        if (field == "serial") return files->serial;
        if (field == "certificateId") return files->certificate_id;
        if (field == "certificate") return files->certificate_pem;
    }
    return std::nullopt;
}

sim::Result<std::string, std::string> Session::Text(const std::string& text,
                                                    const std::string& account) {
    auto out = Substitute(text, [&](std::string_view name) { return Lookup(name, account); });
    if (!out) {
        return sim::Unexpected<std::string>(out.error().message);
    }
    return *out;
}

sim::Result<json, std::string> Session::Json(const json& value, const std::string& account) {
    auto out = SubstituteJson(value, [&](std::string_view name) { return Lookup(name, account); });
    if (!out) {
        return sim::Unexpected<std::string>(out.error().message);
    }
    return *out;
}

StepOutcome Session::Save(const SaveList& save, const json& reply) {
    for (const auto& [name, path] : save) {
        auto value = EvaluatePath(path, reply);
        if (!value) {
            return Fail("save " + name + ": " + value.error().message);
        }
        if (!value->has_value()) {
            return Fail("save " + name + ": " + path + " is not in the reply");
        }
        std::lock_guard<std::mutex> lock(saved_mutex_);
        saved_[name] = AsText(**value);
        recorder_.Add("runner", EntryKind::kNote, "saved " + name + " = " + saved_[name]);
    }
    return {};
}

// The reason an account gave for refusing `client_id` a moment ago (explain mode puts it in
// the broker log, and the log tail into the timeline), as " (oem-a says: ...)"; "" if none.
std::string Session::AccountReason(const std::string& client_id) {
    if (client_id.empty()) {
        return {};
    }
    const std::string needle = "client_id=" + client_id;
    const auto since = recorder_.Elapsed() - 3s;
    // The log tail reads every 20 ms: give the line a moment to arrive.
    for (int attempt = 0; attempt < 8; ++attempt) {
        const auto entries = timeline_.Entries();
        for (auto it = entries.rbegin(); it != entries.rend() && it->offset >= since; ++it) {
            if (it->kind != EntryKind::kRefusal || it->text.find(needle) == std::string::npos) {
                continue;
            }
            std::string reason = it->text;
            if (const auto at = reason.find("reason="); at != std::string::npos) {
                reason.erase(0, at + 7);
            }
            if (const auto end = reason.find(" cert_id="); end != std::string::npos) {
                reason.erase(end);
            }
            return " (" + it->participant + " says: " + reason + ")";
        }
        std::this_thread::sleep_for(25ms);
    }
    return {};
}

// ---- Steps --------------------------------------------------------------------------------------

StepOutcome Session::RunStep(const Step& step) {
    if (auto reason = SkipReason(step)) {
        recorder_.Add("runner", EntryKind::kStepSkip, step.name + ": " + *reason);
        return {};
    }
    if (aws_) {
        if (auto why = aws::SimOnlyReason(step, target_)) {
            recorder_.Add("runner", EntryKind::kStepSkip, step.name + ": sim-only: " + *why);
            return {};
        }
    }
    recorder_.Add("runner", EntryKind::kStepStart, step.name);
    StepOutcome outcome =
        std::visit([&](const auto& body) -> StepOutcome {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, SleepStep>) {
                std::this_thread::sleep_for(step.within);
                return {};
            } else {
                return Run(body, step.within);
            }
        }, step.body);
    if (outcome) {
        recorder_.Add("runner", EntryKind::kStepPass, step.name);
    } else {
        recorder_.Add("runner", EntryKind::kStepFail, step.name + ": " + outcome.error());
    }
    return outcome;
}

StepOutcome Session::Run(const AtStep& at, Duration within) {
    auto it = modules_.find(at.module);
    if (it == modules_.end()) {
        return Fail("no module " + at.module);
    }
    auto line = Text(at.send);
    if (!line) {
        return Fail(line.error());
    }
    auto substituted = [&](const std::optional<Match>& match) -> sim::Result<std::optional<Match>, std::string> {
        if (!match) {
            return std::optional<Match>();
        }
        auto text = Text(match->text);
        if (!text) {
            return sim::Unexpected<std::string>(text.error());
        }
        return std::optional<Match>(Match{match->kind, *text});
    };
    auto expect = substituted(at.expect);
    auto retry_while = substituted(at.retry_while);
    if (!expect || !retry_while) {
        return Fail(!expect ? expect.error() : retry_while.error());
    }
    std::vector<Match> extra_lines;
    for (const auto& match : at.lines) {
        auto one = substituted(match);
        if (!one) {
            return Fail(one.error());
        }
        extra_lines.push_back(**one);
    }
    const auto deadline = SteadyClock::now() + within;
    while (true) {
        const auto left = std::chrono::duration_cast<Duration>(deadline - SteadyClock::now());
        auto lines = it->second->At(*line, std::max(left, Duration{1}));
        if (lines.empty()) {
            return Fail("no answer to " + *line + " within " + Seconds(within));
        }
        if (*retry_while && Matches(**retry_while, lines.front()) &&
            SteadyClock::now() + kRetryPause < deadline) {
            std::this_thread::sleep_for(kRetryPause);
            // A broker a fault took down during this step (its "going down" line can reach the
            // log after the step began) is started again between retries, not only before
            // the next step.
            ReviveBrokers();
            continue;
        }
        if (*expect && !Matches(**expect, lines.front())) {
            return Fail("expected " + Describe(**expect) + ", observed " + Quote(lines.front()) +
                        AccountReason(it->second->certificate().common_name));
        }
        for (std::size_t i = 0; i < extra_lines.size(); ++i) {
            if (i + 1 >= lines.size()) {
                return Fail("expected line " + std::to_string(i + 2) + " " +
                            Describe(extra_lines[i]) + ", observed no such line");
            }
            if (!Matches(extra_lines[i], lines[i + 1])) {
                return Fail("expected line " + std::to_string(i + 2) + " " +
                            Describe(extra_lines[i]) + ", observed " + Quote(lines[i + 1]));
            }
        }
        return {};
    }
}

StepOutcome Session::Run(const EventStep& event, Duration within) {
    auto it = modules_.find(event.module);
    if (it == modules_.end()) {
        return Fail("no module " + event.module);
    }
    auto& module = *it->second;
    // "OK <id> <param> <MNEMONIC>[ <detail>]" (ExpressLink programmer's guide, "EVENT?").
    auto matches = [&](const std::string& line) {
        std::istringstream words(line);
        std::string ok;
        std::string id;
        std::string param;
        std::string mnemonic;
        words >> ok >> id >> param >> mnemonic;
        return mnemonic == event.mnemonic &&
               (!event.param || param == std::to_string(*event.param));
    };
    // Events are read in order: the step passes over every event before the one it matches.
    // Events it read without finding a match stay for later steps.
    auto& unmatched = module.Unmatched();
    for (auto seen = unmatched.begin(); seen != unmatched.end(); ++seen) {
        if (matches(*seen)) {
            unmatched.erase(unmatched.begin(), std::next(seen));
            return {};
        }
    }
    const auto deadline = SteadyClock::now() + within;
    std::vector<std::string> observed(unmatched.begin(), unmatched.end());
    while (true) {
        auto line = module.PollEvent();
        if (line && !line->empty()) {
            if (matches(*line)) {
                unmatched.clear();
                return {};
            }
            unmatched.push_back(*line);
            observed.push_back(*line);
            continue;
        }
        if (SteadyClock::now() >= deadline) {
            std::string seen;
            for (const auto& o : observed) {
                seen += (seen.empty() ? "" : ", ") + Quote(o);
            }
            return Fail("expected event " + event.mnemonic + " within " + Seconds(within) +
                        ", observed " + (seen.empty() ? std::string("none") : seen) +
                        (line ? "" : " (the module is off or silent)"));
        }
        std::this_thread::sleep_for(20ms);
    }
}

StepOutcome Session::Run(const ClaimStep& claim, Duration within) {
    auto by = claim_things_.find(claim.by);
    if (by == claim_things_.end()) {
        return Fail("no claim-thing " + claim.by);
    }
    std::string thing;
    if (!claim.module.empty()) {
        const auto* files = CertificateOf(claim.module);
        if (files == nullptr) {
            return Fail("no module " + claim.module);
        }
        thing = files->common_name;
    } else {
        auto text = Text(claim.thing);
        if (!text) {
            return Fail(text.error());
        }
        thing = *text;
    }
    std::string endpoint;
    if (const auto* account = Account(claim.endpoint)) {
        endpoint = ob::EndpointOf(*account);
    } else {
        auto text = Text(claim.endpoint);
        if (!text) {
            return Fail(text.error());
        }
        endpoint = *text;
    }
    std::string staging_name = claim.staging;
    if (staging_name.empty()) {
        auto home = module_staging_.find(claim.module);
        staging_name = home != module_staging_.end() ? home->second : by->second.staging;
    }
    const auto* staging = Account(staging_name);
    if (staging == nullptr) {
        return Fail("no staging account " + staging_name);
    }
    staging::ClaimOptions options;
    options.staging = ob::EndpointOf(*staging);
    options.claim_cert = by->second.thing.certificate_file;
    options.claim_key = by->second.thing.key_file;
    if (aws_) {
        // The staging endpoint of accounts.yaml, at the address its hosts map gives (else
        // DNS), verified with its ca-file; no world.
        options.staging = staging->address + ":" + std::to_string(staging->mqtt_port);
        options.root_ca = options_.aws_accounts->ca_file;
    } else {
        options.world = options_.world_dir;
    }
    options.uuid = by->second.thing.uuid;
    options.thing = thing;
    options.endpoint = endpoint;
    options.settle = 300ms;
    options.timeout = within;
    if (claim.payload) {
        auto text = Text(*claim.payload);
        if (!text) {
            return Fail(text.error());
        }
        options.raw_payload = *text;
    }
    recorder_.Add(claim.by, EntryKind::kClaim,
                  "claims " + thing + " for " + endpoint + " at " + staging_name +
                      (claim.payload ? " with payload " + *options.raw_payload : ""));
    const auto report = staging::RunClaim(options);
    recorder_.Add(claim.by, EntryKind::kClaim, report.claim_line);
    const bool accepted = report.outcome == staging::ClaimReport::Outcome::kAccepted;
    if (report.outcome == staging::ClaimReport::Outcome::kBadInput) {
        return Fail("the claim could not be sent: " + report.claim_line);
    }
    if (accepted != claim.expect_accepted) {
        return Fail(std::string("expected the claim ") +
                    (claim.expect_accepted ? "accepted" : "refused") + ", observed " +
                    Quote(report.claim_line));
    }
    return {};
}

StepOutcome Session::Run(const CallStep& call, Duration /*within*/) {
    auto reply = Call(call.account, call.operation, call.args, "runner");
    if (!call.expect_error.empty()) {
        if (reply) {
            return Fail("expected " + call.expect_error + ", observed success " +
                        Compact(*reply));
        }
        const std::string type = reply.error().substr(0, reply.error().find(':'));
        if (type != call.expect_error) {
            return Fail("expected " + call.expect_error + ", observed " + reply.error());
        }
        return {};
    }
    if (!reply) {
        return Fail(call.operation + " failed: " + reply.error());
    }
    for (const auto& expectation : call.expect) {
        auto expected = Json(expectation.expected, call.account);
        if (!expected) {
            return Fail(expected.error());
        }
        if (auto s = CheckExpectation(JsonExpectation{expectation.path, *expected}, *reply); !s) {
            return Fail(s.error().message);
        }
    }
    return Save(call.save, *reply);
}

StepOutcome Session::CheckOnce(const AssertStep& assertion) {
    const std::string& account = assertion.account;
    const auto* state = Account(account);
    if (state == nullptr) {
        return Fail("no account " + account);
    }
    auto subject = Text(assertion.subject);
    if (!subject) {
        return Fail(subject.error());
    }
    switch (assertion.kind) {
    case AssertStep::Kind::kCertificate: {
        std::string id = *subject;
        if (const auto* files = CertificateOf(*subject)) {
            id = files->certificate_id;
        }
        auto reply = RawCall(account, "DescribeCertificate", json{{"certificateId", id}});
        std::string observed;
        if (reply) {
            observed = (*reply)["certificateDescription"].value("status", "");
        } else if (reply.error().type == "ResourceNotFoundException") {
            observed = "absent";
        } else {
            return Fail("DescribeCertificate: " + reply.error().type + ": " + reply.error().message);
        }
        if (observed != assertion.status) {
            return Fail("certificate " + id.substr(0, 12) + "... in " + account + ": expected " +
                        assertion.status + ", observed " + observed);
        }
        return {};
    }
    case AssertStep::Kind::kThing: {
        auto reply = RawCall(account, "DescribeThing", json{{"thingName", *subject}});
        if (!reply && reply.error().type != "ResourceNotFoundException") {
            return Fail("DescribeThing: " + reply.error().type + ": " + reply.error().message);
        }
        if (reply.has_value() != assertion.exists) {
            return Fail("thing " + *subject + " in " + account + ": expected " +
                        (assertion.exists ? "to exist" : "not to exist") + ", observed " +
                        (reply ? "it exists" : "ResourceNotFoundException"));
        }
        if (reply && !assertion.attributes.is_null()) {
            auto expected = Json(assertion.attributes, account);
            if (!expected) {
                return Fail(expected.error());
            }
            if (auto s = CheckExpectation(JsonExpectation{"$.attributes", *expected}, *reply); !s) {
                return Fail("thing " + *subject + ": " + s.error().message);
            }
        }
        return {};
    }
    case AssertStep::Kind::kPolicyAttached: {
        const auto* files = CertificateOf(assertion.attached_to);
        if (files == nullptr) {
            return Fail("no actor " + assertion.attached_to);
        }
        const std::string arn = "arn:aws:iot:" + state_.region + ":" + state->account_id +
                                ":cert/" + files->certificate_id;
        auto reply = RawCall(account, "ListAttachedPolicies", json{{"target", arn}});
        if (!reply) {
            return Fail("ListAttachedPolicies: " + reply.error().type + ": " + reply.error().message);
        }
        std::string names;
        for (const auto& policy : (*reply)["policies"]) {
            if (policy.value("policyName", "") == *subject) {
                return {};
            }
            names += (names.empty() ? "" : ", ") + policy.value("policyName", "");
        }
        return Fail("policy " + *subject + " attached to " + assertion.attached_to +
                    "'s certificate: observed " + (names.empty() ? "no policy" : names));
    }
    case AssertStep::Kind::kCounts: {
        auto count = [&](const char* operation, const char* member) -> sim::Result<int, std::string> {
            auto reply = RawCall(account, operation, json::object());
            if (!reply) {
                return sim::Unexpected<std::string>(std::string(operation) + ": " +
                                                    reply.error().type);
            }
            return static_cast<int>((*reply)[member].size());
        };
        if (assertion.things) {
            auto n = count("ListThings", "things");
            if (!n) {
                return Fail(n.error());
            }
            if (*n != *assertion.things) {
                return Fail("things in " + account + ": expected " +
                            std::to_string(*assertion.things) + ", observed " + std::to_string(*n));
            }
        }
        if (assertion.certificates) {
            auto n = count("ListCertificates", "certificates");
            if (!n) {
                return Fail(n.error());
            }
            if (*n != *assertion.certificates) {
                return Fail("certificates in " + account + ": expected " +
                            std::to_string(*assertion.certificates) + ", observed " +
                            std::to_string(*n));
            }
        }
        return {};
    }
    }
    return Fail("unknown assertion");
}

StepOutcome Session::Run(const AssertStep& assertion, Duration within) {
    const auto deadline = SteadyClock::now() + within;
    while (true) {
        auto outcome = CheckOnce(assertion);
        if (outcome || SteadyClock::now() >= deadline) {
            if (outcome) {
                recorder_.Add(assertion.account, EntryKind::kRegistry, "assertion holds");
            }
            return outcome;
        }
        std::this_thread::sleep_for(100ms);
    }
}

StepOutcome Session::Run(const ClientStep& step, Duration within) {
    auto it = mqtt_clients_.find(step.client);
    if (it == mqtt_clients_.end()) {
        return Fail("no MQTT client " + step.client);
    }
    auto& client = *it->second;
    auto topic = Text(step.topic);
    auto payload = Text(step.payload);
    if (!topic || !payload) {
        return Fail(!topic ? topic.error() : payload.error());
    }
    StepOutcome outcome;
    const char* success = "";
    const char* refusal = "";
    switch (step.action) {
    case ClientStep::Action::kConnect:
        outcome = client.Connect(within);
        success = "connected";
        refusal = "refused";
        break;
    case ClientStep::Action::kDisconnect:
        return client.Disconnect(within);
    case ClientStep::Action::kSubscribe:
        outcome = client.Subscribe(*topic, within);
        success = "granted";
        refusal = "refused";
        break;
    case ClientStep::Action::kPublish:
        outcome = client.Publish(*topic, *payload, step.qos, step.repeat, within, 300ms);
        success = "delivered";
        refusal = "refused";
        break;
    }
    if (outcome.has_value() == step.expect_success) {
        return {};
    }
    return Fail(std::string("expected ") + (step.expect_success ? success : refusal) +
                ", observed " +
                (outcome ? success : refusal + std::string(": ") + outcome.error()) +
                (outcome ? std::string() : AccountReason(client.ClientId())));
}

StepOutcome Session::Run(const MessageStep& step, Duration within) {
    auto it = mqtt_clients_.find(step.client);
    if (it == mqtt_clients_.end()) {
        return Fail("no MQTT client " + step.client);
    }
    auto filter = Text(step.topic);
    if (!filter) {
        return Fail(filter.error());
    }
    std::vector<JsonExpectation> expectations;
    for (const auto& e : step.json) {
        auto expected = Json(e.expected);
        if (!expected) {
            return Fail(expected.error());
        }
        expectations.push_back(JsonExpectation{e.path, *expected});
    }
    std::optional<Match> payload_match;
    if (step.payload) {
        auto text = Text(step.payload->text);
        if (!text) {
            return Fail(text.error());
        }
        payload_match = Match{step.payload->kind, *text};
    }
    std::string last_reason;
    auto message = it->second->WaitMessage(
        *filter,
        [&](const std::string&, const std::string& payload) {
            if (payload_match && !Matches(*payload_match, payload)) {
                last_reason = "payload " + Quote(payload) + " does not match " +
                              Describe(*payload_match);
                return false;
            }
            if (!expectations.empty()) {
                const json document = json::parse(payload, nullptr, false);
                for (const auto& e : expectations) {
                    if (auto s = CheckExpectation(e, document); !s) {
                        last_reason = s.error().message;
                        return false;
                    }
                }
            }
            return true;
        },
        within);
    if (!message) {
        return Fail("expected a message on " + *filter + " within " + Seconds(within) +
                    ", observed " + (last_reason.empty() ? "none" : last_reason));
    }
    if (!step.save.empty()) {
        return Save(step.save, json::parse(message->second, nullptr, false));
    }
    return {};
}

StepOutcome Session::Run(const PowerStep& step, Duration /*within*/) {
    auto it = modules_.find(step.module);
    if (it == modules_.end()) {
        return Fail("no module " + step.module);
    }
    if (step.action != PowerStep::Action::kStart) {
        it->second->Stop();
    }
    if (step.action != PowerStep::Action::kStop) {
        if (auto s = it->second->Start(); !s) {
            return Fail("power on: " + s.error().message);
        }
    }
    return {};
}

// What a step waits for, in words ("event MSG of m2"), for expect-not's report.
std::string Describe(const Step& step) {
    return std::visit(
        [&](const auto& body) -> std::string {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, EventStep>) {
                return "event " + body.mnemonic + " of " + body.module;
            } else if constexpr (std::is_same_v<T, MessageStep>) {
                return "a message on " + body.topic + " for " + body.client;
            } else if constexpr (std::is_same_v<T, AtStep>) {
                return body.module + " answered " + body.send + " as expected";
            } else if constexpr (std::is_same_v<T, ClaimStep>) {
                return std::string("the claim by ") + body.by + " was " +
                       (body.expect_accepted ? "accepted" : "refused");
            } else if constexpr (std::is_same_v<T, AssertStep>) {
                return "the assertion on " + body.account + " held";
            } else {
                return step.name;
            }
        },
        step.body);
}

StepOutcome Session::Run(const ExpectNotStep& step, Duration within) {
    Step inner = step.inner.front();
    inner.within = within;
    auto outcome = std::visit(
        [&](const auto& body) -> StepOutcome {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, SleepStep> || std::is_same_v<T, AdvanceStep>) {
                return Fail("sleep and advance cannot be negated");
            } else {
                return Run(body, within);
            }
        },
        inner.body);
    if (outcome) {
        return Fail("expected nothing within " + Seconds(within) + ", but this happened: " +
                    Describe(inner));
    }
    return {};
}

StepOutcome Session::Run(const AdvanceStep& step, Duration /*within*/) {
    // Software modules in this process: their timers run on the world clock. A linked module
    // (a real one, or `elsim module` in its own process) keeps its own time.
    std::vector<ModuleRuntime*> running;
    for (auto& [name, module] : modules_) {
        if (auto* software = dynamic_cast<ModuleRuntime*>(module.get())) {
            running.push_back(software);
        }
    }
    if (!world_) {
        return Fail("advance needs a local world: the world clock is the emulator's");
    }
    return AdvanceWorldClock(*world_->Clock(), step.by, running, recorder_);
}

StepOutcome Session::Run(const ParallelStep& step, Duration /*within*/) {
    std::vector<StepOutcome> outcomes(step.steps.size());
    std::vector<std::thread> threads;
    threads.reserve(step.steps.size());
    for (std::size_t i = 0; i < step.steps.size(); ++i) {
        threads.emplace_back([&, i] { outcomes[i] = RunStep(step.steps[i]); });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (!outcomes[i]) {
            return Fail(step.steps[i].name + " (line " + std::to_string(step.steps[i].line) +
                        "): " + outcomes[i].error());
        }
    }
    return {};
}

}  // namespace

ScenarioResult PlayScenario(const Scenario& scenario, const SessionOptions& options) {
    Session session(scenario, options);
    return session.Play();
}

}  // namespace sim::scenario

// ---- Faults ---------------------------------------------------------------------------------------

namespace sim::scenario {
namespace {

// How many times the plugin said it takes its broker down (a restart or kill fault fired).
std::size_t CrashesLogged(const std::string& log_file) {
    std::ifstream in(log_file, std::ios::binary);
    std::size_t count = 0;
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("broker going down") != std::string::npos) {
            ++count;
        }
    }
    return count;
}

}  // namespace

StepOutcome Session::Run(const FaultStep& fault, Duration /*within*/) {
    const auto* account = Account(fault.account);
    if (account == nullptr || !world_) {
        return Fail("no account " + fault.account);
    }
    json rule = fault.rule;
    if (!fault.client.empty()) {
        // An actor's MQTT client id, or the text as written.
        std::string client_id;
        if (modules_.count(fault.client) != 0) {
            client_id = CertificateOf(fault.client)->common_name;  // a module connects as its ThingName
        } else if (auto thing = claim_things_.find(fault.client); thing != claim_things_.end()) {
            client_id = thing->second.thing.uuid;
        } else if (auto client = mqtt_clients_.find(fault.client); client != mqtt_clients_.end()) {
            client_id = client->second->ClientId();
        } else {
            auto text = Text(fault.client);
            if (!text) {
                return Fail(text.error());
            }
            client_id = *text;
        }
        rule["client"] = client_id;
    }
    const std::string kind = rule.value("kind", "");
    const bool crash = kind == "restart" || kind == "kill";
    if (crash && rule.value("on", "now") == "now") {
        // The runner owns the brokers: it takes this one down and starts it again.
        recorder_.Add(fault.account, EntryKind::kNote,
                      "fault " + kind + ": broker " +
                          (kind == "kill" ? "killed (SIGKILL)" : "stopped (SIGTERM)"));
        {
            std::lock_guard<std::mutex> lock(clients_mutex_);
            clients_.erase(fault.account);
        }
        if (kind == "kill") {
            if (auto killed = world_->KillBroker(fault.account, SIGKILL);
                !killed && killed.error().code != sim::ErrorCode::kFailedPrecondition) {
                return Fail("broker of " + fault.account + " not killed: " +
                            killed.error().message);
            }
        }
        // A running broker is stopped with SIGTERM first; its state is on disk.
        if (auto s = world_->RestartBroker(fault.account); !s) {
            return Fail("broker of " + fault.account + " did not start again: " + s.error().message);
        }
        recorder_.Add(fault.account, EntryKind::kNote, "broker up again, state kept");
        return {};
    }
    auto* client = Client(fault.account);
    if (client == nullptr) {
        return Fail("no control plane for " + fault.account);
    }
    auto reply = client->Call("POST", "/_elsim/faults", {}, rule);
    if (!reply) {
        return Fail("the account refused the fault: " + reply.error().message);
    }
    const std::string id = reply->value("faultId", std::string());
    recorder_.Add(fault.account, EntryKind::kNote,
                  "fault armed " + id + ": " + reply->value("fault", std::string()));
    // The account's broker takes a new rule up at its next tick (about every 100 ms); only
    // then does a rule that acts on open connections (a drop now, a delay or blackhole with a
    // window) reach them. The step ends once it has, so the next step meets the fault.
    const auto deadline = SteadyClock::now() + 5s;
    for (;;) {
        auto listed = client->Call("GET", "/_elsim/faults");
        if (!listed) {
            return Fail("the account did not list its faults: " + listed.error().message);
        }
        bool pending = false;
        for (const auto& item : listed->value("faults", json::array())) {
            if (item.value("id", std::string()) == id && !item.value("applied", true)) {
                pending = true;
            }
        }
        if (!pending) {
            break;
        }
        if (SteadyClock::now() >= deadline) {
            return Fail("the account did not take " + id + " up within 5 s");
        }
        std::this_thread::sleep_for(10ms);
    }
    if (crash && armed_crashes_.count(fault.account) == 0) {
        armed_crashes_[fault.account] = CrashesLogged(account->log_file);
    }
    return {};
}

// A broker that a restart or kill fault took down is started again before the next step (the
// world's supervisor brings it back); its state is on disk.
void Session::ReviveBrokers() {
    for (auto it = armed_crashes_.begin(); it != armed_crashes_.end();) {
        const auto* account = Account(it->first);
        if (account == nullptr || !world_ || CrashesLogged(account->log_file) <= it->second) {
            ++it;
            continue;
        }
        const auto deadline = SteadyClock::now() + 15s;
        const auto running = [&] {
            const auto pid = world_->BrokerPid(it->first);
            return pid && *pid > 0;
        };
        while (running() && SteadyClock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        {
            std::lock_guard<std::mutex> lock(clients_mutex_);
            clients_.erase(it->first);
        }
        if (auto s = world_->RestartBroker(it->first); !s) {
            recorder_.Add(it->first, EntryKind::kNote, "broker did not start again: " + s.error().message);
        } else {
            recorder_.Add(it->first, EntryKind::kNote,
                          "broker went down (fault); started again, state kept");
        }
        it = armed_crashes_.erase(it);
    }
}

}  // namespace sim::scenario
