// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/parse.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "sim/world/world_spec_yaml.hpp"
#include <yaml-cpp/yaml.h>

#include "sim/control_plane/faults.hpp"
#include "sim/core/clock_state.hpp"
#include "sim/core/text.hpp"
#include "sim/scenario/match.hpp"

namespace sim::scenario {
namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 19> kStepKinds = {
    "at",      "event",   "claim", "call", "assert",  "connect",    "disconnect", "subscribe",
    "publish", "message", "start", "stop", "restart", "expect-not", "parallel",   "sleep",
    "provision", "fault", "advance"};

constexpr std::array<const char*, 7> kBrokenCases = {
    "expired",       "not-yet-valid",    "no-client-auth", "unregistered-ca",
    "look-alike-ca", "chain-without-ca", "chain-with-ca"};

enum class ActorKind { kModule, kClaimThing, kClient, kJitrHandler, kFleetDevice };

const char* ActorKindName(ActorKind kind) {
    switch (kind) {
        case ActorKind::kModule:
            return "module";
        case ActorKind::kClaimThing:
            return "claim-thing";
        case ActorKind::kClient:
            return "client";
        case ActorKind::kJitrHandler:
            return "jitr-handler";
        case ActorKind::kFleetDevice:
            return "device";
    }
    return "actor";
}

int LineOf(const YAML::Node& node) { return std::max(1, node.Mark().line + 1); }

bool IsName(std::string_view name) {
    static const std::regex kName("[a-z][a-z0-9-]{0,31}");
    return std::regex_match(name.begin(), name.end(), kName);
}

bool IsSaveName(std::string_view name) {
    static const std::regex kSaveName("[A-Za-z_][A-Za-z0-9_-]*");
    return std::regex_match(name.begin(), name.end(), kSaveName);
}

bool IsOperationName(std::string_view name) {
    static const std::regex kOperation("[A-Z][A-Za-z0-9]*");
    return std::regex_match(name.begin(), name.end(), kOperation);
}

std::string KeyOf(const YAML::Node& key) { return key.IsScalar() ? key.Scalar() : "?"; }

std::string JoinKinds() {
    std::string out;
    for (const char* kind : kStepKinds) {
        out += out.empty() ? "" : ", ";
        out += kind;
    }
    return out;
}

// Parses and checks one scenario; every problem becomes one diagnostic and parsing goes on.
class Parser {
public:
    Parser(const fs::path& file, const FileReader& read_file)
        : file_(file), source_(file.string()), read_file_(read_file) {}

    sim::Result<Scenario, Diagnostics> Run(std::string_view yaml, std::string id);

private:
    // ---- Diagnostics ----
    // Every diagnostic is one printable line, whatever bytes the file quoted into it.
    void Report(int line, const std::string& reason) {
        diagnostics_.emplace_back(line,
                                  source_ + ":" + std::to_string(line) + ": " + sim::OneLine(reason));
    }
    void Report(const YAML::Node& node, std::string reason) {
        Report(LineOf(node), std::move(reason));
    }
    void CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed,
                   const std::string& where) {
        for (const auto& entry : map) {
            const auto key = KeyOf(entry.first);
            if (allowed.count(key) == 0) {
                Report(entry.first, "unknown key '" + key + "' in " + where);
            }
        }
    }

    // ---- Values ----
    std::optional<std::string> Text(const YAML::Node& node, const std::string& what) {
        if (!node.IsScalar()) {
            Report(node, what + " must be a string");
            return std::nullopt;
        }
        return node.Scalar();
    }
    std::optional<Duration> DurationOf(const YAML::Node& node, const std::string& what) {
        auto text = Text(node, what);
        if (!text) {
            return std::nullopt;
        }
        auto duration = ParseDuration(*text);
        if (!duration) {
            Report(node, what + ": " + duration.error().message);
            return std::nullopt;
        }
        return *duration;
    }
    std::optional<int> IntOf(const YAML::Node& node, const std::string& what, int minimum,
                             int maximum) {
        static const std::regex kInteger("-?[0-9]{1,9}");
        if (node.IsScalar() && std::regex_match(node.Scalar(), kInteger)) {
            const int value = std::stoi(node.Scalar());
            if (value >= minimum && value <= maximum) {
                return value;
            }
        }
        Report(node, what + " must be a number from " + std::to_string(minimum) + " to " +
                         std::to_string(maximum));
        return std::nullopt;
    }
    std::optional<bool> BoolOf(const YAML::Node& node, const std::string& what) {
        const auto value = world::YamlToJson(node);
        if (!value.is_boolean()) {
            Report(node, what + " must be true or false");
            return std::nullopt;
        }
        return value.get<bool>();
    }
    // One of `choices` (the first is the default when the node is absent).
    std::optional<std::string> ChoiceOf(const YAML::Node& node, const std::string& what,
                                        std::initializer_list<const char*> choices) {
        if (!node) {
            return *choices.begin();
        }
        const auto text = node.IsScalar() ? node.Scalar() : std::string();
        std::string listed;
        for (const char* choice : choices) {
            if (text == choice) {
                return text;
            }
            listed += listed.empty() ? "" : " or ";
            listed += choice;
        }
        Report(node, what + " must be " + listed);
        return std::nullopt;
    }
    std::optional<Match> MatchOf(const YAML::Node& node, const std::string& what);
    void CheckMatchers(const nlohmann::json& value, const YAML::Node& node,
                       const std::string& what);
    std::vector<JsonExpectation> ExpectationsOf(const YAML::Node& node, const std::string& what);
    SaveList SavesOf(const YAML::Node& node);

    // ---- Names ----
    bool IsAccount(const std::string& name) const {
        return std::any_of(world_.accounts.begin(), world_.accounts.end(),
                           [&](const auto& account) { return account.name == name; });
    }
    const world::AccountSpec* FindAccount(const std::string& name) const {
        for (const auto& account : world_.accounts) {
            if (account.name == name) {
                return &account;
            }
        }
        return nullptr;
    }
    bool IsStagingAccount(const std::string& name) const {
        const auto* account = FindAccount(name);
        return account != nullptr && account->kind == world::AccountKind::kStaging;
    }
    bool IsManufacturer(const std::string& name) const {
        return std::any_of(world_.manufacturers.begin(), world_.manufacturers.end(),
                           [&](const auto& maker) { return maker.name == name; });
    }
    void CheckAccount(const YAML::Node& node, const std::string& name) {
        if (!world_ok_ || IsAccount(name)) {
            return;
        }
        if (actor_kinds_.count(name) != 0) {
            Report(node, "'" + name + "' is an actor, not an account");
        } else {
            Report(node, "unknown account '" + name + "'");
        }
    }
    // The actor named by `node`, which must be one of `kinds`; nullopt after a report.
    FleetDeviceActor ParseFleetDevice(const YAML::Node& body, const std::string& name,
                                      const std::string& where);
    // True when `source` names a certificate for actor `self`: another module, client or
    // claim-thing actor (or device actor, with `devices`: its claim certificate), new, or a
    // manufacturer.
    bool IsCertificateSource(const std::string& source, const std::string& self,
                             bool devices) const {
        const auto other = actor_kinds_.find(source);
        const bool is_actor =
            other != actor_kinds_.end() && source != self &&
            (other->second == ActorKind::kModule || other->second == ActorKind::kClient ||
             other->second == ActorKind::kClaimThing ||
             (devices && other->second == ActorKind::kFleetDevice));
        return is_actor || source == "new" || (world_ok_ ? IsManufacturer(source) : true);
    }
    std::optional<std::string> ActorRef(const YAML::Node& node, const std::string& what,
                                        std::initializer_list<ActorKind> kinds);

    void CheckPlaceholders(const YAML::Node& node, const std::set<std::string>& saved,
                           const std::set<std::string>& skip_keys = {});
    std::optional<std::string> CheckPlaceholder(std::string_view name,
                                                const std::set<std::string>& saved,
                                                const YAML::Node& node);

    // ---- Parts ----
    void ParseWorld(const YAML::Node& node, Scenario& scenario);
    void CollectActorNames(const YAML::Node& node);
    void ParseActors(const YAML::Node& node, Scenario& scenario);
    std::optional<world::SetupCall> ParseSetupCall(const YAML::Node& node,
                                                   std::set<std::string>& saved);
    void ParseSetup(const YAML::Node& node, Scenario& scenario, std::set<std::string>& saved);
    std::optional<Step> ParseStep(const YAML::Node& node, const std::string& number,
                                  std::set<std::string>& saved);
    void ParseAssert(const YAML::Node& node, AssertStep& step);
    FaultStep ParseFault(const YAML::Node& node);

    fs::path file_;
    std::string source_;
    const FileReader& read_file_;
    std::vector<std::pair<int, std::string>> diagnostics_;
    world::WorldSpec world_;
    bool world_ok_ = false;
    std::map<std::string, ActorKind> actor_kinds_;
};

std::optional<Match> Parser::MatchOf(const YAML::Node& node, const std::string& what) {
    if (node.IsScalar()) {
        auto match = ParseMatch(node.Scalar());
        if (!match) {
            Report(node, what + ": " + match.error().message);
            return std::nullopt;
        }
        return *match;
    }
    if (node.IsMap() && node.size() == 1) {
        const auto entry = *node.begin();
        const auto key = KeyOf(entry.first);
        static const std::map<std::string, Match::Kind> kKinds = {
            {"exact", Match::Kind::kExact},
            {"prefix", Match::Kind::kPrefix},
            {"contains", Match::Kind::kContains},
            {"regex", Match::Kind::kRegex}};
        const auto kind = kKinds.find(key);
        if (kind != kKinds.end() && entry.second.IsScalar()) {
            Match match{kind->second, entry.second.Scalar()};
            if (match.kind == Match::Kind::kRegex) {
                auto checked = ParseMatch("/" + match.text + "/");
                if (!checked) {
                    Report(entry.second, what + ": " + checked.error().message);
                    return std::nullopt;
                }
            }
            return match;
        }
    }
    Report(node, what + " must be a MATCH: a string, /regex/, or {prefix|contains|regex|exact: S}");
    return std::nullopt;
}

void Parser::CheckMatchers(const nlohmann::json& value, const YAML::Node& node,
                           const std::string& what) {
    if (value.is_object()) {
        if (value.size() == 1 && value.contains("regex") && value["regex"].is_string()) {
            auto checked = ParseMatch("/" + value["regex"].get<std::string>() + "/");
            if (!checked) {
                Report(node, what + ": " + checked.error().message);
            }
            return;
        }
        if (value.size() == 1 && value.contains("exists") && !value["exists"].is_boolean()) {
            Report(node, what + ": exists must be true or false");
            return;
        }
        for (const auto& item : value) {
            CheckMatchers(item, node, what);
        }
    } else if (value.is_array()) {
        for (const auto& item : value) {
            CheckMatchers(item, node, what);
        }
    }
}

std::vector<JsonExpectation> Parser::ExpectationsOf(const YAML::Node& node,
                                                    const std::string& what) {
    std::vector<JsonExpectation> out;
    if (!node.IsMap()) {
        Report(node, what + " must be a map of JSONPATH: VALUE");
        return out;
    }
    for (const auto& entry : node) {
        const auto path = KeyOf(entry.first);
        auto checked = EvaluatePath(path, nlohmann::json());
        if (!checked) {
            Report(entry.first, checked.error().message);
            continue;
        }
        auto expected = world::YamlToJson(entry.second);
        CheckMatchers(expected, entry.second, path);
        out.push_back({path, std::move(expected)});
    }
    return out;
}

SaveList Parser::SavesOf(const YAML::Node& node) {
    SaveList out;
    if (!node.IsMap()) {
        Report(node, "save must be a map of NAME: JSONPATH");
        return out;
    }
    for (const auto& entry : node) {
        const auto name = KeyOf(entry.first);
        if (!IsSaveName(name)) {
            Report(entry.first, "save name '" + name + "' must match [A-Za-z_][A-Za-z0-9_-]*");
            continue;
        }
        auto path = Text(entry.second, "save " + name);
        if (!path) {
            continue;
        }
        auto checked = EvaluatePath(*path, nlohmann::json());
        if (!checked) {
            Report(entry.second, checked.error().message);
            continue;
        }
        out.emplace_back(name, *path);
    }
    return out;
}

std::optional<std::string> Parser::ActorRef(const YAML::Node& node, const std::string& what,
                                            std::initializer_list<ActorKind> kinds) {
    std::string wanted;
    for (const auto kind : kinds) {
        wanted += wanted.empty() ? "" : " or ";
        wanted += ActorKindName(kind);
    }
    if (!node.IsScalar()) {
        Report(node, what + " must name a " + wanted + " actor");
        return std::nullopt;
    }
    const auto name = node.Scalar();
    const auto found = actor_kinds_.find(name);
    if (found == actor_kinds_.end()) {
        if (world_ok_ && IsAccount(name)) {
            Report(node, "'" + name + "' is an account, not a " + wanted + " actor");
        } else {
            Report(node, "unknown actor '" + name + "'");
        }
        return std::nullopt;
    }
    if (std::find(kinds.begin(), kinds.end(), found->second) == kinds.end()) {
        Report(node,
               "actor '" + name + "' is a " + ActorKindName(found->second) + ", not a " + wanted);
        return std::nullopt;
    }
    return name;
}

// `${X.field}`: X an account, a manufacturer or an actor with a field of its kind (README
// "Values"); `${NAME}`: a name an earlier setup call or step saves.
std::optional<std::string> Parser::CheckPlaceholder(std::string_view name,
                                                    const std::set<std::string>& saved,
                                                    const YAML::Node& node) {
    const std::string whole = "unknown value ${" + std::string(name) + "}: ";
    const auto dot = name.find('.');
    if (dot == std::string_view::npos) {
        if (saved.count(std::string(name)) == 0) {
            Report(node, whole + "no earlier setup call or step saves it");
        }
        return std::string();
    }
    const std::string subject(name.substr(0, dot));
    const std::string field(name.substr(dot + 1));
    std::vector<std::pair<std::string, std::set<std::string>>> kinds;  // what, its fields
    if (world_ok_ && IsAccount(subject)) {
        kinds.push_back({"an account", {"accountId", "endpoint", "region"}});
    }
    if (world_ok_ && IsManufacturer(subject)) {
        kinds.push_back(
            {"a manufacturer", {"caCertificate", "caCertificateId", "verificationCertificate"}});
    }
    if (const auto actor = actor_kinds_.find(subject); actor != actor_kinds_.end()) {
        switch (actor->second) {
            case ActorKind::kModule:
            case ActorKind::kClient:
                kinds.push_back({std::string("a ") + ActorKindName(actor->second),
                                 {"thingName", "serial", "certificateId", "certificate"}});
                break;
            case ActorKind::kClaimThing:
                kinds.push_back({"a claim-thing", {"uuid", "certificateId", "certificate"}});
                break;
            case ActorKind::kJitrHandler:
                kinds.push_back({"a jitr-handler", {}});
                break;
            case ActorKind::kFleetDevice:
                kinds.push_back({"a device", {"thingName", "certificateId", "claimCertificateId"}});
                break;
        }
    }
    if (kinds.empty()) {
        if (world_ok_) {
            Report(node, whole + "'" + subject + "' is not an account, manufacturer or actor");
        }
        return std::string();
    }
    std::string known;
    for (const auto& [what, fields] : kinds) {
        if (fields.count(field) != 0) {
            return std::string();
        }
        std::string list;
        for (const char* ordered : {"accountId", "endpoint", "region", "caCertificate",
                                    "caCertificateId", "verificationCertificate", "thingName",
                                    "serial", "certificateId", "certificate", "uuid"}) {
            if (fields.count(ordered) != 0) {
                list += list.empty() ? "" : ", ";
                list += ordered;
            }
        }
        known += known.empty() ? "" : "; ";
        known += what + (list.empty() ? std::string(" has no fields") : " has " + list);
    }
    Report(node, whole + known);
    return std::string();
}

void Parser::CheckPlaceholders(const YAML::Node& node, const std::set<std::string>& saved,
                               const std::set<std::string>& skip_keys) {
    if (node.IsScalar()) {
        const auto& text = node.Scalar();
        if (text.find("${") == std::string::npos) {
            return;
        }
        auto checked = Substitute(
            text, [&](std::string_view name) { return CheckPlaceholder(name, saved, node); });
        if (!checked) {
            Report(node, checked.error().message);
        }
    } else if (node.IsMap()) {
        for (const auto& entry : node) {
            if (skip_keys.count(KeyOf(entry.first)) == 0) {
                CheckPlaceholders(entry.second, saved);
            }
        }
    } else if (node.IsSequence()) {
        for (const auto& item : node) {
            CheckPlaceholders(item, saved);
        }
    }
}

void Parser::ParseWorld(const YAML::Node& node, Scenario& scenario) {
    if (node.IsMap()) {
        auto spec = world::ParseWorldSpecNode(node, source_);
        if (!spec) {
            diagnostics_.emplace_back(LineOf(node), spec.error().message);
            return;
        }
        world_ = std::move(*spec);
        world_ok_ = true;
        return;
    }
    auto path = Text(node, "world");
    if (!path) {
        return;
    }
    if (path->empty()) {
        Report(node, "world must name a world file or be a map");
        return;
    }
    scenario.world_file = (file_.parent_path() / *path).lexically_normal();
    auto text = read_file_(scenario.world_file);
    if (!text) {
        Report(node, "world: " + text.error().message);
        return;
    }
    auto spec = world::ParseWorldSpec(*text, scenario.world_file.string());
    if (!spec) {
        diagnostics_.emplace_back(LineOf(node), spec.error().message);
        return;
    }
    world_ = std::move(*spec);
    world_ok_ = true;
}

// First pass over actors: names and kinds, so that actors and steps may refer to any actor.
void Parser::CollectActorNames(const YAML::Node& node) {
    if (!node.IsMap()) {
        return;
    }
    for (const auto& entry : node) {
        if (!entry.second.IsMap()) {
            continue;
        }
        const auto name = KeyOf(entry.first);
        const std::pair<const char*, ActorKind> kinds[] = {
            {"module", ActorKind::kModule},
            {"claim-thing", ActorKind::kClaimThing},
            {"client", ActorKind::kClient},
            {"jitr-handler", ActorKind::kJitrHandler},
            {"device", ActorKind::kFleetDevice}};
        for (const auto& [key, kind] : kinds) {
            if (entry.second[key]) {
                actor_kinds_.emplace(name, kind);
                break;
            }
        }
    }
}

void Parser::ParseActors(const YAML::Node& node, Scenario& scenario) {
    if (!node.IsMap()) {
        Report(node,
               "actors must be a map of NAME: {module|claim-thing|client|jitr-handler|device: ...}");
        return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
        const auto name = KeyOf(entry.first);
        const auto& body = entry.second;
        if (!seen.insert(name).second) {
            Report(entry.first, "duplicate actor '" + name + "'");
            continue;
        }
        if (!IsName(name)) {
            Report(entry.first, "actor name '" + name + "' must match [a-z][a-z0-9-]{0,31}");
        } else if (world_ok_ && IsAccount(name)) {
            Report(entry.first, "actor '" + name + "' has the name of an account");
        } else if (world_ok_ && IsManufacturer(name)) {
            Report(entry.first, "actor '" + name + "' has the name of a manufacturer");
        }
        if (!body.IsMap()) {
            Report(body, "actor '" + name + "' must be a map");
            continue;
        }
        std::vector<std::string> kinds;
        for (const auto& item : body) {
            const auto key = KeyOf(item.first);
            if (key == "module" || key == "claim-thing" || key == "client" ||
                key == "jitr-handler" || key == "device") {
                kinds.push_back(key);
            }
        }
        if (kinds.empty()) {
            Report(body,
                   "actor '" + name +
                       "' needs one of module, claim-thing, client, jitr-handler, device");
            continue;
        }
        if (kinds.size() > 1) {
            Report(body[kinds[1]],
                   "actor '" + name + "' has two kinds, '" + kinds[0] + "' and '" + kinds[1] + "'");
            continue;
        }
        const std::string where = "actor '" + name + "'";
        Actor actor{name, ModuleActor{}, LineOf(entry.first)};
        const auto& kind = kinds.front();
        if (kind == "module") {
            CheckKeys(body, {"module", "broken", "started"}, where);
            ModuleActor module;
            if (auto maker = Text(body["module"], "module")) {
                module.manufacturer = *maker;
                if (world_ok_ && !IsManufacturer(*maker)) {
                    Report(body["module"], "unknown manufacturer '" + *maker + "'");
                }
            }
            if (body["broken"]) {
                if (auto broken = Text(body["broken"], "broken")) {
                    module.broken = *broken;
                    if (std::find(kBrokenCases.begin(), kBrokenCases.end(), *broken) ==
                        kBrokenCases.end()) {
                        std::string list;
                        for (const char* known : kBrokenCases) {
                            list += list.empty() ? "" : ", ";
                            list += known;
                        }
                        Report(body["broken"], "broken '" + *broken + "' is not one of " + list);
                    }
                }
            }
            if (body["started"]) {
                module.started = BoolOf(body["started"], "started").value_or(true);
            }
            actor.kind = module;
        } else if (kind == "claim-thing") {
            CheckKeys(body, {"claim-thing"}, where);
            ClaimThingActor claim;
            if (auto account = Text(body["claim-thing"], "claim-thing")) {
                claim.account = *account;
                CheckAccount(body["claim-thing"], *account);
                const auto* spec = FindAccount(*account);
                if (spec != nullptr && spec->kind != world::AccountKind::kOem) {
                    Report(body["claim-thing"],
                           "claim-thing account '" + *account + "' is not an oem account");
                }
            }
            actor.kind = claim;
        } else if (kind == "client") {
            CheckKeys(body, {"client", "certificate", "client-id"}, where);
            ClientActor client;
            client.client_id = name;
            if (auto account = Text(body["client"], "client")) {
                client.account = *account;
                CheckAccount(body["client"], *account);
            }
            if (!body["certificate"]) {
                Report(body, where + " needs certificate (an actor, new, or a manufacturer)");
            } else if (auto certificate = Text(body["certificate"], "certificate")) {
                client.certificate = *certificate;
                const bool is_claim = certificate->rfind("claim:", 0) == 0;
                if (is_claim && certificate->size() == 6) {
                    Report(body["certificate"], "certificate 'claim:' needs a template name");
                } else if (!is_claim &&
                           !IsCertificateSource(*certificate, name, /*devices=*/true)) {
                    Report(body["certificate"],
                           "certificate '" + *certificate +
                               "' is not another module, client, claim-thing or device actor, new, "
                               "claim:TEMPLATE, or a manufacturer");
                }
            }
            if (body["client-id"]) {
                if (auto id = Text(body["client-id"], "client-id")) {
                    if (id->empty()) {
                        Report(body["client-id"], "client-id must not be empty");
                    }
                    client.client_id = *id;
                }
            }
            actor.kind = client;
        } else if (kind == "device") {
            actor.kind = ParseFleetDevice(body, name, where);
        } else {
            CheckKeys(body, {"jitr-handler", "whitelist", "policy"}, where);
            JitrHandlerActor handler;
            if (auto account = Text(body["jitr-handler"], "jitr-handler")) {
                handler.account = *account;
                CheckAccount(body["jitr-handler"], *account);
            }
            if (const auto list = body["whitelist"]) {
                if (!list.IsSequence()) {
                    Report(list, "whitelist must be a list of serial numbers");
                } else {
                    for (const auto& serial : list) {
                        if (auto text = Text(serial, "a whitelist entry")) {
                            handler.whitelist.push_back(*text);
                        }
                    }
                }
            }
            if (body["policy"]) {
                handler.policy = Text(body["policy"], "policy").value_or("");
            }
            actor.kind = handler;
        }
        scenario.actors.push_back(std::move(actor));
    }
}

FleetDeviceActor Parser::ParseFleetDevice(const YAML::Node& body, const std::string& name,
                                          const std::string& where) {
    CheckKeys(body, {"device", "account", "claim", "template", "parameters", "csr", "format"},
              where);
    FleetDeviceActor device;
    if (auto type = ChoiceOf(body["device"], "device", {"fleet"})) {
        (void)type;
    }
    if (!body["account"]) {
        Report(body, where + " needs account (whose broker provisions it)");
    } else if (auto account = Text(body["account"], "account")) {
        device.account = *account;
        CheckAccount(body["account"], *account);
    }
    if (!body["claim"]) {
        Report(body, where + " needs claim (an actor, new, or a manufacturer)");
    } else if (auto claim = Text(body["claim"], "claim")) {
        device.claim = *claim;
        if (!IsCertificateSource(*claim, name, /*devices=*/false)) {
            Report(body["claim"], "claim '" + *claim +
                                      "' is not a module, client or claim-thing actor, new, or "
                                      "a manufacturer");
        }
    }
    if (!body["template"]) {
        Report(body, where + " needs template (the provisioning template's name)");
    } else {
        device.template_name = Text(body["template"], "template").value_or("");
    }
    if (const auto parameters = body["parameters"]) {
        if (!parameters.IsMap()) {
            Report(parameters, "parameters must be a map of NAME: VALUE");
        } else {
            for (const auto& entry : parameters) {
                device.parameters[KeyOf(entry.first)] =
                    Text(entry.second, "a parameter").value_or("");
            }
        }
    }
    if (body["csr"]) {
        device.csr = BoolOf(body["csr"], "csr").value_or(false);
    }
    if (body["format"]) {
        device.cbor = ChoiceOf(body["format"], "format", {"json", "cbor"}).value_or("") == "cbor";
    }
    return device;
}

std::optional<world::SetupCall> Parser::ParseSetupCall(const YAML::Node& node,
                                                       std::set<std::string>& saved) {
    if (!node.IsMap()) {
        Report(node, "a setup entry must be a map {Operation: {...}, save: {...}}");
        return std::nullopt;
    }
    world::SetupCall call;
    call.line = LineOf(node);
    YAML::Node arguments;
    for (const auto& entry : node) {
        const auto key = KeyOf(entry.first);
        if (key == "save") {
            continue;
        }
        if (!call.operation.empty()) {
            Report(entry.first,
                   "a setup entry has two operations, '" + call.operation + "' and '" + key + "'");
            return std::nullopt;
        }
        if (!IsOperationName(key)) {
            Report(entry.first,
                   "operation '" + key + "' is not an AWS IoT action name ([A-Z][A-Za-z0-9]*)");
            return std::nullopt;
        }
        call.operation = key;
        arguments = entry.second;
    }
    if (call.operation.empty()) {
        Report(node, "a setup entry needs an operation");
        return std::nullopt;
    }
    if (arguments.IsMap()) {
        call.arguments = world::YamlToJson(arguments);
    } else if (!arguments.IsNull()) {
        Report(arguments, "the arguments of " + call.operation + " must be a map");
    }
    CheckPlaceholders(node, saved, {"save"});
    if (node["save"]) {
        call.save = SavesOf(node["save"]);
        for (const auto& [name, path] : call.save) {
            saved.insert(name);
        }
    }
    return call;
}

void Parser::ParseSetup(const YAML::Node& node, Scenario& scenario, std::set<std::string>& saved) {
    if (!node.IsMap()) {
        Report(node, "setup must be a map of ACCOUNT: [operations]");
        return;
    }
    for (const auto& entry : node) {
        const auto account = KeyOf(entry.first);
        CheckAccount(entry.first, account);
        if (!entry.second.IsSequence()) {
            Report(entry.second, "setup of '" + account + "' must be a list of operations");
            continue;
        }
        std::vector<world::SetupCall> calls;
        for (const auto& item : entry.second) {
            if (auto call = ParseSetupCall(item, saved)) {
                calls.push_back(std::move(*call));
            }
        }
        scenario.setup.emplace_back(account, std::move(calls));
    }
}

void Parser::ParseAssert(const YAML::Node& node, AssertStep& step) {
    if (!node.IsMap()) {
        Report(node, "assert must be a map {account: A, ...}");
        return;
    }
    CheckKeys(node,
              {"account", "certificate", "status", "thing", "exists", "attributes", "policy",
               "attached-to", "things", "certificates"},
              "an assert");
    if (!node["account"]) {
        Report(node, "assert needs account");
    } else if (auto account = Text(node["account"], "account")) {
        step.account = *account;
        CheckAccount(node["account"], *account);
    }
    std::vector<std::string> forms;
    for (const char* form : {"certificate", "thing", "policy"}) {
        if (node[form]) {
            forms.emplace_back(form);
        }
    }
    if (node["things"] || node["certificates"]) {
        forms.emplace_back("things/certificates");
    }
    if (forms.size() != 1) {
        Report(node, forms.empty()
                         ? "assert needs one of certificate, thing, policy, things/certificates"
                         : "assert takes one of certificate, thing, policy, things/certificates, "
                           "not '" +
                               forms[0] + "' and '" + forms[1] + "'");
        return;
    }
    const auto only = [&](const std::set<std::string>& allowed, const std::string& form) {
        for (const auto& entry : node) {
            const auto key = KeyOf(entry.first);
            if (key != "account" && allowed.count(key) == 0 &&
                (key == "status" || key == "exists" || key == "attributes" ||
                 key == "attached-to")) {
                Report(entry.first, "'" + key + "' does not belong to an assert of " + form);
            }
        }
    };
    if (forms[0] == "certificate") {
        step.kind = AssertStep::Kind::kCertificate;
        only({"certificate", "status"}, "a certificate");
        if (auto subject = Text(node["certificate"], "certificate")) {
            step.subject = *subject;
            static const std::regex kCertificateId("[0-9a-f]{64}");
            if (actor_kinds_.count(*subject) != 0) {
                ActorRef(node["certificate"], "certificate",
                         {ActorKind::kModule, ActorKind::kClient, ActorKind::kClaimThing});
            } else if (!std::regex_match(*subject, kCertificateId) &&
                       subject->find("${") == std::string::npos) {
                Report(node["certificate"],
                       "certificate '" + *subject + "' is neither an actor nor a certificate id");
            }
        }
        if (!node["status"]) {
            Report(node, "assert of a certificate needs status");
        } else if (auto status = ChoiceOf(
                       node["status"], "status",
                       {"ACTIVE", "INACTIVE", "REVOKED", "PENDING_ACTIVATION", "absent"})) {
            step.status = *status;
        }
    } else if (forms[0] == "thing") {
        step.kind = AssertStep::Kind::kThing;
        only({"thing", "exists", "attributes"}, "a thing");
        step.subject = Text(node["thing"], "thing").value_or("");
        if (node["exists"]) {
            step.exists = BoolOf(node["exists"], "exists").value_or(true);
        }
        if (const auto attributes = node["attributes"]) {
            if (!attributes.IsMap()) {
                Report(attributes, "attributes must be a map");
            } else {
                step.attributes = world::YamlToJson(attributes);
                CheckMatchers(step.attributes, attributes, "attributes");
            }
        }
    } else if (forms[0] == "policy") {
        step.kind = AssertStep::Kind::kPolicyAttached;
        only({"policy", "attached-to"}, "a policy");
        step.subject = Text(node["policy"], "policy").value_or("");
        if (!node["attached-to"]) {
            Report(node, "assert of a policy needs attached-to");
        } else {
            step.attached_to =
                ActorRef(node["attached-to"], "attached-to",
                         {ActorKind::kModule, ActorKind::kClient, ActorKind::kClaimThing})
                    .value_or("");
        }
    } else {
        step.kind = AssertStep::Kind::kCounts;
        only({}, "counts");
        if (node["things"]) {
            step.things = IntOf(node["things"], "things", 0, 1'000'000);
        }
        if (node["certificates"]) {
            step.certificates = IntOf(node["certificates"], "certificates", 0, 1'000'000);
        }
    }
}

// `fault: KIND` with account, client, when, count, for, by, op, error: checked by the same rules
// the account applies (sim::faults::RuleFromJson), reported with the scenario's key names.
FaultStep Parser::ParseFault(const YAML::Node& node) {
    FaultStep fault;
    nlohmann::json rule = nlohmann::json::object();
    if (auto kind = Text(node["fault"], "fault")) {
        rule["kind"] = *kind;
    }
    if (!node["account"]) {
        Report(node, "a step of kind 'fault' needs 'account'");
    } else if (auto account = Text(node["account"], "account")) {
        fault.account = *account;
        CheckAccount(node["account"], *account);
    }
    if (node["client"]) {
        if (auto client = Text(node["client"], "client")) {
            fault.client = *client;
            rule["client"] = *client;  // checked here, resolved when the step runs
        }
    }
    if (node["when"]) {
        if (auto when = Text(node["when"], "when")) {
            rule["on"] = *when;
        }
    }
    if (node["count"]) {
        if (auto count = IntOf(node["count"], "count", 0, 1'000'000)) {
            rule["count"] = *count;
        }
    }
    if (node["for"]) {
        if (auto window = DurationOf(node["for"], "for")) {
            rule["windowMs"] = window->count();
        }
    }
    if (node["by"]) {
        if (auto delay = DurationOf(node["by"], "by")) {
            rule["delayMs"] = delay->count();
        }
    }
    if (node["op"]) {
        if (auto op = Text(node["op"], "op")) {
            if (!IsOperationName(*op)) {
                Report(node["op"], "op: '" + *op + "' is not an AWS IoT operation name");
            }
            rule["operation"] = *op;
        }
    }
    if (node["error"]) {
        if (auto error = Text(node["error"], "error")) {
            rule["error"] = *error;
        }
    }
    if (rule.contains("kind")) {
        if (auto checked = faults::RuleFromJson(rule); !checked) {
            std::string message = checked.error().message;
            for (const auto& [wire, key] : {std::pair{"windowMs", "for"}, std::pair{"delayMs", "by"},
                                            std::pair{"operation", "op"}, std::pair{"on", "when"}}) {
                if (message.rfind(std::string(wire) + ":", 0) == 0) {
                    message = key + message.substr(std::string_view(wire).size());
                }
            }
            Report(node, "fault: " + message);
        }
    }
    rule.erase("client");
    fault.rule = std::move(rule);
    return fault;
}

std::optional<Step> Parser::ParseStep(const YAML::Node& node, const std::string& number,
                                      std::set<std::string>& saved) {
    if (!node.IsMap()) {
        Report(node, "a step must be a map with one of " + JoinKinds());
        return std::nullopt;
    }
    std::vector<std::string> kinds;
    for (const auto& entry : node) {
        const auto key = KeyOf(entry.first);
        if (std::find(kStepKinds.begin(), kStepKinds.end(), key) != kStepKinds.end()) {
            kinds.push_back(key);
            if (kinds.size() == 2) {
                Report(entry.first,
                       "a step has two kinds, '" + kinds[0] + "' and '" + kinds[1] + "'");
            }
        }
    }
    if (kinds.empty()) {
        Report(node, "a step needs one of " + JoinKinds());
        return std::nullopt;
    }
    if (kinds.size() > 1) {
        return std::nullopt;
    }
    const std::string kind = kinds.front();
    // Each kind's keys besides `name` and the kind key, and its default `within` (0: none).
    static const std::map<std::string, std::pair<std::set<std::string>, int>> kKinds = {
        {"at", {{"within", "send", "expect", "lines", "retry-while"}, 10'000}},
        {"event", {{"within", "expect", "param"}, 10'000}},
        {"claim", {{"within", "expect"}, 10'000}},
        {"call", {{"expect", "expect-error", "save"}, 0}},  // The client's own timeout.
        {"assert", {{"within"}, 2'000}},
        {"connect", {{"within", "expect"}, 10'000}},
        {"disconnect", {{}, 0}},
        {"subscribe", {{"within", "topic", "expect"}, 5'000}},
        {"publish", {{"within", "topic", "payload", "qos", "expect", "repeat"}, 5'000}},
        {"message", {{"within", "topic", "payload", "json", "save"}, 5'000}},
        {"start", {{}, 0}},
        {"stop", {{}, 0}},
        {"restart", {{}, 0}},
        {"expect-not", {{"for"}, 0}},
        {"parallel", {{}, 0}},
        {"sleep", {{}, 0}},
        {"provision", {{"within", "expect", "error-code", "failed-step"}, 60'000}},
        {"fault", {{"account", "client", "when", "count", "for", "by", "op", "error"}, 0}},
        {"advance", {{}, 0}}};
    const auto& [keys, default_within] = kKinds.at(kind);
    auto allowed = keys;
    allowed.insert({"name", kind});
    const std::string where = "a step of kind '" + kind + "'";
    CheckKeys(node, allowed, where);
    const auto need = [&](const char* key) {
        if (!node[key]) {
            Report(node, where + " needs '" + key + "'");
            return false;
        }
        return true;
    };

    Step step;
    step.line = LineOf(node);
    step.name = "step " + number;
    step.kind = kind;
    if (node["name"]) {
        if (auto name = Text(node["name"], "name")) {
            step.name = *name;
        }
    }
    step.within = Duration(default_within);
    if (node["within"] && allowed.count("within") != 0) {
        if (auto within = DurationOf(node["within"], "within")) {
            step.within = *within;
        }
    }
    CheckPlaceholders(node, saved, {"name", "parallel", "expect-not", "save"});
    const auto& value = node[kind];

    if (kind == "at") {
        AtStep at;
        at.module = ActorRef(value, "at", {ActorKind::kModule}).value_or("");
        if (need("send")) {
            at.send = Text(node["send"], "send").value_or("");
        }
        if (node["expect"]) {
            at.expect = MatchOf(node["expect"], "expect");
        }
        if (const auto lines = node["lines"]) {
            if (!lines.IsSequence()) {
                Report(lines, "lines must be a list of MATCH");
            } else {
                for (const auto& line : lines) {
                    if (auto match = MatchOf(line, "a line")) {
                        at.lines.push_back(std::move(*match));
                    }
                }
            }
        }
        if (node["retry-while"]) {
            at.retry_while = MatchOf(node["retry-while"], "retry-while");
        }
        step.body = std::move(at);
    } else if (kind == "event") {
        EventStep event;
        event.module = ActorRef(value, "event", {ActorKind::kModule}).value_or("");
        if (need("expect")) {
            static const std::regex kMnemonic("[A-Z_]+");
            const auto& expect = node["expect"];
            if (expect.IsScalar() && std::regex_match(expect.Scalar(), kMnemonic)) {
                event.mnemonic = expect.Scalar();
            } else {
                Report(expect,
                       "expect of an event step must be a mnemonic ([A-Z_]+, e.g. CONLOST)");
            }
        }
        if (node["param"]) {
            event.param = IntOf(node["param"], "param", 0, 999'999'999);
        }
        step.body = std::move(event);
    } else if (kind == "claim") {
        ClaimStep claim;
        if (!value.IsMap()) {
            Report(value, "claim must be a map {by, module|thing, endpoint, payload}");
        } else {
            CheckKeys(value, {"by", "module", "thing", "endpoint", "payload", "staging"},
                      "a claim");
            if (const auto staging = value["staging"]) {
                if (auto name = Text(staging, "staging")) {
                    claim.staging = *name;
                    if (world_ok_ && !IsStagingAccount(*name)) {
                        Report(staging, "staging '" + *name + "' is not a staging account");
                    }
                }
            }
            if (!value["by"]) {
                Report(value, "claim needs by (a claim-thing actor)");
            } else {
                claim.by = ActorRef(value["by"], "by", {ActorKind::kClaimThing}).value_or("");
            }
            if (value["module"] && value["thing"]) {
                Report(value["thing"], "claim takes module or thing, not both");
            } else if (value["module"]) {
                claim.module =
                    ActorRef(value["module"], "module", {ActorKind::kModule}).value_or("");
            } else if (value["thing"]) {
                claim.thing = Text(value["thing"], "thing").value_or("");
            } else {
                Report(value, "claim needs module or thing");
            }
            if (!value["endpoint"]) {
                Report(value, "claim needs endpoint (an account or HOST[:PORT])");
            } else if (auto endpoint = Text(value["endpoint"], "endpoint")) {
                claim.endpoint = *endpoint;
                const bool host = endpoint->find_first_of(".:") != std::string::npos ||
                                  endpoint->find("${") != std::string::npos;
                if (!host && world_ok_ && !IsAccount(*endpoint)) {
                    Report(value["endpoint"], "endpoint '" + *endpoint +
                                                  "' is not an account (a host needs a dot or a "
                                                  "port)");
                }
            }
            if (const auto payload = value["payload"]) {
                claim.payload =
                    payload.IsScalar() ? payload.Scalar() : world::YamlToJson(payload).dump();
            }
        }
        if (auto expect = ChoiceOf(node["expect"], "expect", {"accepted", "refused"})) {
            claim.expect_accepted = *expect == "accepted";
        }
        step.body = std::move(claim);
    } else if (kind == "call") {
        CallStep call;
        if (!value.IsMap()) {
            Report(value, "call must be a map {account, op, args}");
        } else {
            CheckKeys(value, {"account", "op", "args"}, "a call");
            if (!value["account"]) {
                Report(value, "call needs account");
            } else if (auto account = Text(value["account"], "account")) {
                call.account = *account;
                CheckAccount(value["account"], *account);
            }
            if (!value["op"]) {
                Report(value, "call needs op");
            } else if (auto op = Text(value["op"], "op")) {
                call.operation = *op;
                if (!IsOperationName(*op)) {
                    Report(value["op"],
                           "op '" + *op + "' is not an AWS IoT action name ([A-Z][A-Za-z0-9]*)");
                }
            }
            if (const auto args = value["args"]) {
                if (args.IsMap()) {
                    call.args = world::YamlToJson(args);
                } else if (!args.IsNull()) {
                    Report(args, "args must be a map");
                }
            }
        }
        if (node["expect"] && node["expect-error"]) {
            Report(node["expect-error"], "a call takes expect or expect-error, not both");
        }
        if (node["expect"]) {
            call.expect = ExpectationsOf(node["expect"], "expect");
        }
        if (node["expect-error"]) {
            call.expect_error = Text(node["expect-error"], "expect-error").value_or("");
        }
        if (node["save"]) {
            call.save = SavesOf(node["save"]);
            for (const auto& [name, path] : call.save) {
                saved.insert(name);
            }
        }
        step.body = std::move(call);
    } else if (kind == "assert") {
        AssertStep assert_step;
        ParseAssert(value, assert_step);
        step.body = std::move(assert_step);
    } else if (kind == "connect" || kind == "disconnect" || kind == "subscribe" ||
               kind == "publish") {
        ClientStep client;
        client.client = ActorRef(value, kind, {ActorKind::kClient}).value_or("");
        if (kind == "connect") {
            client.action = ClientStep::Action::kConnect;
            client.expect_success =
                ChoiceOf(node["expect"], "expect", {"connected", "refused"}).value_or("") !=
                "refused";
        } else if (kind == "disconnect") {
            client.action = ClientStep::Action::kDisconnect;
        } else {
            if (need("topic")) {
                client.topic = Text(node["topic"], "topic").value_or("");
            }
            if (kind == "subscribe") {
                client.action = ClientStep::Action::kSubscribe;
                client.expect_success =
                    ChoiceOf(node["expect"], "expect", {"granted", "refused"}).value_or("") !=
                    "refused";
            } else {
                client.action = ClientStep::Action::kPublish;
                if (const auto payload = node["payload"]) {
                    client.payload =
                        payload.IsScalar() ? payload.Scalar() : world::YamlToJson(payload).dump();
                }
                if (node["qos"]) {
                    client.qos = IntOf(node["qos"], "qos", 0, 1).value_or(1);
                }
                if (node["repeat"]) {
                    client.repeat = IntOf(node["repeat"], "repeat", 1, 1000).value_or(1);
                }
                client.expect_success =
                    ChoiceOf(node["expect"], "expect", {"delivered", "refused"}).value_or("") !=
                    "refused";
            }
        }
        step.body = std::move(client);
    } else if (kind == "message") {
        MessageStep message;
        message.client = ActorRef(value, "message", {ActorKind::kClient}).value_or("");
        if (need("topic")) {
            message.topic = Text(node["topic"], "topic").value_or("");
        }
        if (node["payload"]) {
            message.payload = MatchOf(node["payload"], "payload");
        }
        if (node["json"]) {
            message.json = ExpectationsOf(node["json"], "json");
        }
        if (node["save"]) {
            message.save = SavesOf(node["save"]);
            for (const auto& [name, path] : message.save) {
                saved.insert(name);
            }
        }
        step.body = std::move(message);
    } else if (kind == "start" || kind == "stop" || kind == "restart") {
        PowerStep power;
        power.action = kind == "start"  ? PowerStep::Action::kStart
                       : kind == "stop" ? PowerStep::Action::kStop
                                        : PowerStep::Action::kRestart;
        power.module = ActorRef(value, kind, {ActorKind::kModule}).value_or("");
        step.body = std::move(power);
    } else if (kind == "expect-not") {
        ExpectNotStep expect_not;
        if (need("for")) {
            if (auto window = DurationOf(node["for"], "for")) {
                step.within = *window;
            }
        }
        // A step that must not succeed saves nothing for later steps.
        auto scratch = saved;
        if (auto inner = ParseStep(value, number + ".1", scratch)) {
            const auto& body = inner->body;
            if (!std::holds_alternative<AtStep>(body) && !std::holds_alternative<EventStep>(body) &&
                !std::holds_alternative<MessageStep>(body) &&
                !std::holds_alternative<AssertStep>(body) &&
                !std::holds_alternative<ClaimStep>(body)) {
                Report(value, "expect-not takes an at, event, message, assert or claim step");
            }
            expect_not.inner.push_back(std::move(*inner));
        }
        step.body = std::move(expect_not);
    } else if (kind == "parallel") {
        ParallelStep parallel;
        if (!value.IsSequence() || value.size() == 0) {
            Report(value, "parallel must be a non-empty list of steps");
        } else {
            // Siblings run at once: none sees another's saves; later steps see them all.
            std::set<std::string> after = saved;
            int index = 0;
            for (const auto& child : value) {
                ++index;
                auto scratch = saved;
                if (auto inner = ParseStep(child, number + "." + std::to_string(index), scratch)) {
                    if (std::holds_alternative<FaultStep>(inner->body)) {
                        // A restarted broker belongs to the thread that started it.
                        Report(child, "a fault step runs on its own, not inside parallel");
                    }
                    parallel.steps.push_back(std::move(*inner));
                }
                after.insert(scratch.begin(), scratch.end());
            }
            saved = std::move(after);
        }
        step.body = std::move(parallel);
    } else if (kind == "provision") {
        ProvisionStep provision;
        provision.device =
            ActorRef(value, "provision", {ActorKind::kFleetDevice}).value_or("");
        if (node["expect"]) {
            const auto expect =
                ChoiceOf(node["expect"], "expect", {"provisioned", "rejected"}).value_or("");
            provision.expect_provisioned = expect != "rejected";
        }
        if (node["error-code"]) {
            provision.error_code = Text(node["error-code"], "error-code").value_or("");
        }
        if (node["failed-step"]) {
            provision.failed_step =
                ChoiceOf(node["failed-step"], "failed-step",
                         {"connect-claim", "subscribe", "create-certificate", "register-thing",
                          "write-identity", "reconnect", "publish"})
                    .value_or("");
        }
        if (provision.expect_provisioned && (node["error-code"] || node["failed-step"])) {
            Report(node, "error-code and failed-step go with expect: rejected");
        }
        step.body = std::move(provision);
    } else if (kind == "fault") {
        step.body = ParseFault(node);
    } else if (kind == "advance") {
        AdvanceStep advance;
        if (auto text = Text(value, "advance")) {
            if (auto by = sim::ParseClockDuration(*text)) {
                advance.by = *by;
            } else {
                Report(value, "advance: " + by.error().message);
            }
        }
        step.body = advance;
    } else {
        if (auto duration = DurationOf(value, "sleep")) {
            step.within = *duration;
        }
        step.body = SleepStep{};
    }
    return step;
}

sim::Result<Scenario, Diagnostics> Parser::Run(std::string_view yaml, std::string id) {
    Scenario scenario;
    scenario.id = std::move(id);
    scenario.file = file_;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        return sim::Unexpected<Diagnostics>(Diagnostics{
            source_ + ":" + std::to_string(std::max(1, e.mark.line + 1)) +
            ": not YAML: " + sim::OneLine(e.msg)});
    }
    if (!root.IsMap()) {
        return sim::Unexpected<Diagnostics>(Diagnostics{
            source_ + ":1: a scenario must be a map with description, world and steps"});
    }
    try {
        CheckKeys(root, {"description", "world", "timeout", "requires", "setup", "actors", "steps"},
                  "the scenario");
        if (!root["description"]) {
            Report(1, "description is required");
        } else if (auto description = Text(root["description"], "description")) {
            if (description->find_first_not_of(" \t\r\n") == std::string::npos) {
                Report(root["description"], "description must not be empty");
            }
            scenario.description = *description;
        }
        if (!root["world"]) {
            Report(1, "world is required (a world file or a map)");
        } else {
            ParseWorld(root["world"], scenario);
        }
        scenario.world = world_;
        if (root["timeout"]) {
            if (auto timeout = DurationOf(root["timeout"], "timeout")) {
                scenario.timeout = *timeout;
            }
        }
        if (root["requires"]) {
            // Only `sim` exists: a scenario that needs the emulator (world clock, faults).
            if (auto needs = Text(root["requires"], "requires"); needs && *needs == "sim") {
                scenario.requires_sim = true;
            } else if (needs) {
                Report(root["requires"], "requires must be 'sim', not '" + *needs + "'");
            }
        }
        if (root["actors"]) {
            CollectActorNames(root["actors"]);
            ParseActors(root["actors"], scenario);
        }
        // The world's own setup runs first, so its saves are known to everything after it.
        std::set<std::string> saved;
        for (const auto& account : world_.accounts) {
            for (const auto& call : account.setup) {
                for (const auto& [name, path] : call.save) {
                    saved.insert(name);
                }
            }
        }
        if (root["setup"]) {
            ParseSetup(root["setup"], scenario, saved);
        }
        const auto steps = root["steps"];
        if (!steps) {
            Report(1, "steps is required (a non-empty list)");
        } else if (!steps.IsSequence() || steps.size() == 0) {
            Report(steps, "steps must be a non-empty list");
        } else {
            int index = 0;
            for (const auto& node : steps) {
                if (auto step = ParseStep(node, std::to_string(++index), saved)) {
                    scenario.steps.push_back(std::move(*step));
                }
            }
        }
    } catch (const YAML::Exception& e) {
        Report(std::max(1, e.mark.line + 1), e.msg);
    }
    if (!diagnostics_.empty()) {
        std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        Diagnostics out;
        for (auto& [line, text] : diagnostics_) {
            out.push_back(std::move(text));
        }
        return sim::Unexpected<Diagnostics>(std::move(out));
    }
    return scenario;
}

}  // namespace

sim::Result<Scenario, Diagnostics> ParseScenario(std::string_view yaml, const fs::path& file,
                                                 std::string id, const FileReader& read_file) {
    Parser parser(file, read_file);
    return parser.Run(yaml, std::move(id));
}

sim::Result<Duration> ParseDuration(std::string_view text) {
    static const std::regex kDuration(R"(([0-9]+(\.[0-9]+)?)(ms|s|m)?)");
    std::match_results<std::string_view::const_iterator> parts;
    if (!std::regex_match(text.begin(), text.end(), parts, kDuration)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "bad duration '" + std::string(text) +
                                  "' (write 250ms, 2s, 1m, or a number of seconds)");
    }
    const double number = std::stod(parts[1].str());
    const std::string unit = parts[3].str();
    const double factor = unit == "ms" ? 1.0 : unit == "m" ? 60'000.0 : 1'000.0;
    const double millis = std::round(number * factor);
    if (millis > 86'400'000.0 * 7) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "duration '" + std::string(text) + "' is longer than a week");
    }
    return Duration(static_cast<Duration::rep>(millis));
}

}  // namespace sim::scenario
