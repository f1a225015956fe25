// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/aws_target.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/normalise.hpp"

namespace sim::scenario::aws {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- accounts.yaml ------------------------------------------------------------------------------

struct BadFile {
    std::string message;
};

int LineOf(const YAML::Node& node) { return std::max(1, node.Mark().line + 1); }

[[noreturn]] void Bad(const fs::path& file, const YAML::Node& node, const std::string& field,
                      const std::string& reason) {
    throw BadFile{file.string() + ":" + std::to_string(LineOf(node)) + ": " + field + ": " +
                  reason};
}

void OnlyKeys(const fs::path& file, const YAML::Node& map, const std::string& where,
              const std::set<std::string>& allowed) {
    for (const auto& item : map) {
        const std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
        if (allowed.count(key) == 0) {
            std::string list;
            for (const auto& a : allowed) {
                list += (list.empty() ? "" : ", ") + a;
            }
            Bad(file, item.first, where.empty() ? key : where + "." + key,
                "unknown key (expected " + list + ")");
        }
    }
}

std::string Scalar(const fs::path& file, const YAML::Node& node, const std::string& field) {
    if (!node.IsScalar() || node.Scalar().empty()) {
        Bad(file, node, field, "must be a non-empty string");
    }
    return node.Scalar();
}

fs::path PathOf(const fs::path& file, const YAML::Node& node, const std::string& field) {
    const fs::path value = Scalar(file, node, field);
    return value.is_absolute() ? value : file.parent_path() / value;
}

bool IsAccountId(const std::string& text) {
    return text.size() == 12 &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool IsIpv4(const std::string& text) {
    static const std::regex kIpv4(R"((25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3})");
    return std::regex_match(text, kIpv4);
}

AccountMapping ParseAccount(const fs::path& file, const std::string& name, const YAML::Node& node) {
    const std::string where = "accounts." + name;
    if (!node.IsMap()) {
        Bad(file, node, where, "must be a map (account-id, region, ... or staging-endpoint)");
    }
    AccountMapping account;
    account.name = name;
    account.line = LineOf(node);
    if (node["staging-endpoint"]) {
        OnlyKeys(file, node, where, {"staging-endpoint"});
        account.staging_endpoint =
            Scalar(file, node["staging-endpoint"], where + ".staging-endpoint");
        return account;
    }
    OnlyKeys(file, node, where,
             {"account-id", "region", "profile", "endpoint-url", "claim-thing"});
    if (!node["account-id"]) {
        Bad(file, node, where + ".account-id",
            "required: the 12-digit id of the real account (the run refuses any other)");
    }
    account.account_id = Scalar(file, node["account-id"], where + ".account-id");
    if (!IsAccountId(account.account_id)) {
        Bad(file, node["account-id"], where + ".account-id",
            "'" + account.account_id + "' is not 12 digits (quote it: \"012345678901\")");
    }
    if (!node["region"]) {
        Bad(file, node, where + ".region", "required (e.g. eu-west-1)");
    }
    account.region = Scalar(file, node["region"], where + ".region");
    static const std::regex kRegion(R"([a-z]{2}(-[a-z]+)+-\d)");
    if (!std::regex_match(account.region, kRegion)) {
        Bad(file, node["region"], where + ".region",
            "'" + account.region + "' is not a region name (e.g. eu-west-1)");
    }
    if (node["profile"]) {
        account.profile = Scalar(file, node["profile"], where + ".profile");
    }
    if (node["endpoint-url"]) {
        account.endpoint_url = Scalar(file, node["endpoint-url"], where + ".endpoint-url");
        if (account.endpoint_url.rfind("https://", 0) != 0 &&
            account.endpoint_url.rfind("http://", 0) != 0) {
            Bad(file, node["endpoint-url"], where + ".endpoint-url",
                "'" + account.endpoint_url + "' is not an http(s):// URL");
        }
    }
    if (const auto claim = node["claim-thing"]) {
        const std::string at = where + ".claim-thing";
        if (!claim.IsMap()) {
            Bad(file, claim, at, "must be a map {certificate, key, uuid}");
        }
        OnlyKeys(file, claim, at, {"certificate", "key", "uuid"});
        for (const char* key : {"certificate", "key", "uuid"}) {
            if (!claim[key]) {
                Bad(file, claim, at + "." + key, "required");
            }
        }
        ClaimThingFiles files;
        files.certificate = PathOf(file, claim["certificate"], at + ".certificate");
        files.key = PathOf(file, claim["key"], at + ".key");
        files.uuid = Scalar(file, claim["uuid"], at + ".uuid");
        account.claim_thing = std::move(files);
    }
    return account;
}

AccountsFile ParseOrThrow(std::string_view yaml, const fs::path& file) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw BadFile{file.string() + ":" + std::to_string(std::max(1, e.mark.line + 1)) +
                      ": not YAML: " + e.msg};
    }
    if (!root.IsMap()) {
        throw BadFile{file.string() + ":1: the accounts file must be a map with ca-file and accounts"};
    }
    OnlyKeys(file, root, "", {"ca-file", "accounts", "manufacturers", "hosts"});
    AccountsFile out;
    out.file = file;
    if (!root["ca-file"]) {
        Bad(file, root, "ca-file",
            "required: the Amazon root CA file (e.g. AmazonRootCA1.pem) that verifies AWS IoT "
            "endpoints");
    }
    out.ca_file = PathOf(file, root["ca-file"], "ca-file");
    const auto accounts = root["accounts"];
    if (!accounts || !accounts.IsMap() || accounts.size() == 0) {
        Bad(file, accounts ? accounts : root, "accounts",
            "required: a map of scenario account names to real accounts");
    }
    std::set<std::string> ids;
    for (const auto& item : accounts) {
        const std::string name = Scalar(file, item.first, "accounts");
        auto account = ParseAccount(file, name, item.second);
        if (!account.IsStaging() && !ids.insert(account.account_id + "/" + account.region).second) {
            Bad(file, item.second, "accounts." + name + ".account-id",
                account.account_id + " in " + account.region +
                    " is mapped twice: two scenario accounts would share one registry");
        }
        out.accounts[name] = std::move(account);
    }
    if (const auto makers = root["manufacturers"]) {
        if (!makers.IsMap()) {
            Bad(file, makers, "manufacturers", "must be a map of manufacturer names");
        }
        for (const auto& item : makers) {
            const std::string name = Scalar(file, item.first, "manufacturers");
            const std::string at = "manufacturers." + name;
            if (!item.second.IsMap()) {
                Bad(file, item.second, at, "must be a map {ca-certificate, ca-key}");
            }
            OnlyKeys(file, item.second, at, {"ca-certificate", "ca-key"});
            if (!item.second["ca-certificate"]) {
                Bad(file, item.second, at + ".ca-certificate", "required");
            }
            ManufacturerFiles maker;
            maker.ca_certificate =
                PathOf(file, item.second["ca-certificate"], at + ".ca-certificate");
            if (item.second["ca-key"]) {
                maker.ca_key = PathOf(file, item.second["ca-key"], at + ".ca-key");
            }
            out.manufacturers[name] = std::move(maker);
        }
    }
    if (const auto hosts = root["hosts"]) {
        if (!hosts.IsMap()) {
            Bad(file, hosts, "hosts", "must be a map of host names to IPv4 addresses");
        }
        for (const auto& item : hosts) {
            const std::string name = Scalar(file, item.first, "hosts");
            const std::string address = Scalar(file, item.second, "hosts." + name);
            if (!IsIpv4(address)) {
                Bad(file, item.second, "hosts." + name, "'" + address + "' is not an IPv4 address");
            }
            out.hosts[name] = address;
        }
    }
    return out;
}

// ---- Names --------------------------------------------------------------------------------------

// Name lengths (AWS IoT API Reference, each member's Length Constraints).
std::size_t MaxLength(const std::string& member) {
    return member == "templateName" ? 36 : 128;
}

void PrefixInPlace(json& value, const std::string& prefix, const std::set<std::string>& keep,
                   std::string& error) {
    if (value.is_array()) {
        for (auto& item : value) {
            PrefixInPlace(item, prefix, keep, error);
        }
        return;
    }
    if (!value.is_object()) {
        return;
    }
    for (auto& [key, item] : value.items()) {
        if (key == "templateBody" && item.is_string()) {
            // A template's resources name policies (PolicyName): renamed inside its JSON text.
            json body = json::parse(item.get<std::string>(), nullptr, false);
            if (!body.is_discarded()) {
                PrefixInPlace(body, prefix, keep, error);
                item = body.dump();
            }
            continue;
        }
        if (item.is_string() && NamedMembers().count(key) != 0) {
            const std::string name = item.get<std::string>();
            if (name.empty() || keep.count(name) != 0 || name.find("${") != std::string::npos) {
                continue;
            }
            const std::string renamed = Prefixed(prefix, name);
            if (renamed.size() > MaxLength(key) && error.empty()) {
                error = key + " '" + renamed + "' (the scenario's '" + name +
                        "' with the run prefix) is longer than the " +
                        std::to_string(MaxLength(key)) + " characters AWS IoT allows";
            }
            item = renamed;
        } else {
            PrefixInPlace(item, prefix, keep, error);
        }
    }
}

void UnprefixInPlace(json& value, const std::string& marker) {
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        bool changed = false;
        for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
            text.erase(at, marker.size());
            changed = true;
        }
        if (changed) {
            value = text;
        }
    } else if (value.is_array() || value.is_object()) {
        for (auto& item : value) {
            UnprefixInPlace(item, marker);
        }
    }
}

// ---- Sim-only steps -----------------------------------------------------------------------------

bool Always(const Step&, const TargetView&) { return true; }

// The account a call or assertion goes to is not one the run holds credentials for (the
// staging account is AWS's: an OEM cannot read its registry or its operator views).
bool NotOwnAccount(const Step& step, const TargetView& target) {
    if (const auto* call = std::get_if<CallStep>(&step.body)) {
        return target.own_accounts.count(call->account) == 0;
    }
    if (const auto* assertion = std::get_if<AssertStep>(&step.body)) {
        return target.own_accounts.count(assertion->account) == 0;
    }
    return false;
}

// The actors a step acts through.
std::vector<std::string> ActorsOf(const Step& step) {
    return std::visit(
        [](const auto& body) -> std::vector<std::string> {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, AtStep> || std::is_same_v<T, EventStep> ||
                          std::is_same_v<T, PowerStep>) {
                return {body.module};
            } else if constexpr (std::is_same_v<T, ClientStep> || std::is_same_v<T, MessageStep>) {
                return {body.client};
            } else if constexpr (std::is_same_v<T, ClaimStep>) {
                return {body.by, body.module};
            } else if constexpr (std::is_same_v<T, AssertStep>) {
                return {body.attached_to};
            } else {
                return {};
            }
        },
        step.body);
}

}  // namespace

const AccountMapping* AccountsFile::Find(const std::string& name) const {
    auto it = accounts.find(name);
    return it == accounts.end() ? nullptr : &it->second;
}

sim::Result<AccountsFile> ParseAccountsFile(std::string_view yaml, const fs::path& file) {
    try {
        return ParseOrThrow(yaml, file);
    } catch (const BadFile& bad) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, bad.message);
    } catch (const YAML::Exception& e) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              file.string() + ":" + std::to_string(std::max(1, e.mark.line + 1)) +
                                  ": " + e.msg);
    }
}

sim::Status CheckCovers(const AccountsFile& accounts, const Scenario& scenario) {
    const std::string where = accounts.file.string() + ": ";
    for (const auto& account : scenario.world.accounts) {
        const auto* mapped = accounts.Find(account.name);
        const bool staging = account.kind == world::AccountKind::kStaging;
        if (mapped == nullptr) {
            return sim::MakeError(
                sim::ErrorCode::kInvalidArgument,
                where + "accounts." + account.name + ": not mapped (scenario " + scenario.id +
                    " uses " + (staging ? "the staging account" : "the OEM account") + " '" +
                    account.name + "'; give " +
                    (staging ? "staging-endpoint" : "account-id and region") + ")");
        }
        if (staging != mapped->IsStaging()) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  where + "accounts." + account.name + ": scenario " +
                                      scenario.id + " has it as " +
                                      (staging ? "a staging account (give staging-endpoint)"
                                               : "an OEM account (give account-id and region)"));
        }
    }
    for (const auto& actor : scenario.actors) {
        if (const auto* claim = std::get_if<ClaimThingActor>(&actor.kind)) {
            const auto* mapped = accounts.Find(claim->account);
            if (mapped != nullptr && !mapped->claim_thing) {
                return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                      where + "accounts." + claim->account +
                                          ".claim-thing: required (actor " + actor.name +
                                          " of scenario " + scenario.id +
                                          " claims modules for it)");
            }
        }
    }
    return {};
}

std::string RunPrefix(std::uint64_t random) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%06llx",
                  static_cast<unsigned long long>(random & 0xffffffULL));
    return "elsim-" + std::string(hex);
}

bool IsRunPrefix(std::string_view prefix) {
    constexpr std::string_view kHead = "elsim-";
    if (prefix.substr(0, kHead.size()) != kHead) {
        return false;
    }
    const auto rest = prefix.substr(kHead.size());
    return !rest.empty() && rest.size() <= 16 &&
           std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
               return std::isdigit(c) || (c >= 'a' && c <= 'z');
           });
}

std::string Prefixed(const std::string& prefix, const std::string& name) {
    if (name.rfind(prefix + "-", 0) == 0) {
        return name;
    }
    return prefix + "-" + name;
}

const std::set<std::string>& NamedMembers() {
    static const std::set<std::string> kMembers = {"policyName",     "templateName",
                                                   "PolicyName",  // in a template's body
                                                   "thingName",      "thingTypeName",
                                                   "thingGroupName", "billingGroupName",
                                                   "roleAlias"};
    return kMembers;
}

sim::Result<json> PrefixNames(const json& arguments, const std::string& prefix,
                              const std::set<std::string>& keep) {
    json out = arguments;
    std::string error;
    PrefixInPlace(out, prefix, keep, error);
    if (!error.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, error);
    }
    return out;
}

json MarkCreate(const std::string& operation, const json& arguments, const std::string& prefix) {
    static const std::set<std::string> kTagged = {"CreatePolicy", "CreateProvisioningTemplate",
                                                  "RegisterCACertificate", "CreateThingType",
                                                  "CreateThingGroup"};
    json out = arguments.is_object() ? arguments : json::object();
    const json tag = {{"Key", std::string(kRunTagKey)}, {"Value", prefix}};
    if (kTagged.count(operation) != 0) {
        if (!out.contains("tags") || !out["tags"].is_array()) {
            out["tags"] = json::array();
        }
        out["tags"].push_back(tag);
    } else if (operation == "CreateThing") {
        auto& payload = out["attributePayload"];
        if (!payload.is_object()) {
            payload = json::object();
        }
        if (!payload.contains("attributes") || !payload["attributes"].is_object()) {
            payload["attributes"] = json::object();
        }
        payload["attributes"][std::string(kRunTagKey)] = prefix;
    }
    return out;
}

json Unprefix(const json& reply, const std::string& prefix) {
    json out = reply;
    UnprefixInPlace(out, prefix + "-");
    return out;
}

std::vector<Created> CreatedBy(const std::string& operation, const json& arguments,
                               const json& reply) {
    auto text = [](const json& object, const char* key) {
        return object.is_object() && object.contains(key) && object[key].is_string()
                   ? object[key].get<std::string>()
                   : std::string();
    };
    if (operation == "CreateThing") {
        return {{"thing", text(arguments, "thingName"), text(reply, "thingArn")}};
    }
    if (operation == "CreateKeysAndCertificate" || operation == "CreateCertificateFromCsr" ||
        operation == "RegisterCertificate" || operation == "RegisterCertificateWithoutCA") {
        return {{"certificate", text(reply, "certificateId"), text(reply, "certificateArn")}};
    }
    if (operation == "CreatePolicy") {
        return {{"policy", text(arguments, "policyName"), text(reply, "policyArn")}};
    }
    if (operation == "CreateProvisioningTemplate") {
        return {{"template", text(arguments, "templateName"), text(reply, "templateArn")}};
    }
    if (operation == "RegisterCACertificate") {
        return {{"ca", text(reply, "certificateId"), text(reply, "certificateArn")}};
    }
    if (operation == "CreateThingType") {
        return {{"thing-type", text(arguments, "thingTypeName"), text(reply, "thingTypeArn")}};
    }
    if (operation == "CreateThingGroup") {
        return {{"thing-group", text(arguments, "thingGroupName"), text(reply, "thingGroupArn")}};
    }
    return {};
}

int DeleteOrder(const std::string& kind) {
    static const std::vector<std::string> kOrder = {"thing",    "thing-group", "certificate", "ca",
                                                    "template", "policy",      "thing-type"};
    const auto it = std::find(kOrder.begin(), kOrder.end(), kind);
    return static_cast<int>(it - kOrder.begin());
}

std::string AccountOfArn(std::string_view arn) {
    // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
    if (arn.substr(0, 4) != "arn:") {
        return {};
    }
    std::size_t at = 0;
    for (int field = 0; field < 4; ++field) {
        at = arn.find(':', at);
        if (at == std::string_view::npos) {
            return {};
        }
        ++at;
    }
    const auto end = arn.find(':', at);
    return end == std::string_view::npos ? std::string() : std::string(arn.substr(at, end - at));
}

// ---- Sim-only steps -----------------------------------------------------------------------------

const std::vector<SimOnlyKind>& SimOnlyKinds() {
    // One line per step kind. `applies` null is never used: Always says "every such step".
    static const std::vector<SimOnlyKind> kKinds = {
        {"advance", Always, "the world clock is the emulator's: real time cannot be advanced"},
        {"fault", Always, "faults are injected into emulated accounts only"},
        {"assert", NotOwnAccount,
         "registry assertions need the account's control plane, and the run holds credentials "
         "only for the OEM accounts of accounts.yaml (staging is AWS's account)"},
        {"call", NotOwnAccount,
         "control-plane calls go only to the OEM accounts of accounts.yaml (staging's operator "
         "views are AWS's)"},
    };
    return kKinds;
}

std::optional<std::string> SimOnlyReason(const Step& step, const TargetView& target) {
    for (const auto& entry : SimOnlyKinds()) {
        if (entry.kind == step.kind && entry.applies(step, target)) {
            return std::string(entry.reason);
        }
    }
    if (const auto* negated = std::get_if<ExpectNotStep>(&step.body)) {
        if (!negated->inner.empty()) {
            return SimOnlyReason(negated->inner.front(), target);
        }
    }
    for (const auto& actor : ActorsOf(step)) {
        if (auto it = target.unavailable_actors.find(actor); it != target.unavailable_actors.end()) {
            return "actor " + actor + ": " + it->second;
        }
    }
    return std::nullopt;
}

std::optional<std::string> UnavailableActor(const Actor& actor, const AccountsFile& accounts) {
    auto maker_key = [&](const std::string& maker) -> std::optional<std::string> {
        auto it = accounts.manufacturers.find(maker);
        if (it == accounts.manufacturers.end() || it->second.ca_key.empty()) {
            return "a software module's birth certificate must come from a CA staging trusts: "
                   "give manufacturers." +
                   maker + ".ca-key in accounts.yaml, or use a real module";
        }
        return std::nullopt;
    };
    if (const auto* module = std::get_if<ModuleActor>(&actor.kind)) {
        if (!module->broken.empty()) {
            return "a broken birth identity (pki broken case '" + module->broken +
                   "') is made by the emulator's PKI";
        }
        return maker_key(module->manufacturer);
    }
    if (const auto* client = std::get_if<ClientActor>(&actor.kind)) {
        if (accounts.manufacturers.count(client->certificate) != 0) {
            return maker_key(client->certificate);
        }
    }
    return std::nullopt;
}

// ---- Comparing runs -----------------------------------------------------------------------------

std::vector<StepObservation> ObserveSteps(const json& result) {
    std::vector<StepObservation> steps;
    std::map<std::string, std::size_t> open;  // step name -> index while it runs
    std::string current;
    if (!result.is_object() || !result.contains("timeline") || !result["timeline"].is_array()) {
        return steps;
    }
    for (const auto& entry : result["timeline"]) {
        const std::string kind = entry.value("kind", "");
        const std::string text = entry.value("text", "");
        if (entry.value("participant", "") == "runner" && kind == "step") {
            open[text] = steps.size();
            steps.push_back({text, "not reached", {}});
            current = text;
            continue;
        }
        if (kind == "pass" || kind == "FAIL" || kind == "skip") {
            // FAIL and skip texts are "name: reason".
            std::string name = text;
            for (const auto& [candidate, index] : open) {
                if (text == candidate || text.rfind(candidate + ": ", 0) == 0) {
                    name = candidate;
                }
            }
            auto it = open.find(name);
            if (it == open.end()) {
                continue;
            }
            auto& step = steps[it->second];
            step.outcome = kind == "pass" ? "pass" : kind == "FAIL" ? "fail" : "skip";
            if (kind == "FAIL") {
                step.observed.push_back(NormaliseForComparison(text.substr(name.size())));
            }
            continue;
        }
        if (current.empty()) {
            continue;
        }
        if (kind == "at<" || kind == "event" || kind == "claim" || kind == "call<") {
            // An account's data endpoint name differs between accounts by nature.
            static const std::regex kEndpoint(R"([a-z0-9]+-ats\.iot\.[a-z0-9-]+\.[a-z0-9.]+)");
            auto& observed = steps[open[current]].observed;
            std::string line = std::regex_replace(
                NormaliseForComparison(entry.value("participant", "") + " " + text), kEndpoint,
                "<endpoint>");
            // A repeated answer (a host polling during a back-off) counts once.
            if (observed.empty() || observed.back() != line) {
                observed.push_back(std::move(line));
            }
        }
    }
    return steps;
}

std::vector<StepDifference> CompareRuns(const json& offline, const json& aws) {
    const auto before = ObserveSteps(offline);
    std::map<std::string, const StepObservation*> by_name;
    for (const auto& step : before) {
        by_name.emplace(step.step, &step);
    }
    auto describe = [](const StepObservation& step, std::size_t at) {
        std::string text = step.outcome;
        if (at < step.observed.size()) {
            text += ": " + step.observed[at];
        } else if (!step.observed.empty() && at == step.observed.size()) {
            text += " (nothing more observed)";
        }
        return text;
    };
    std::vector<StepDifference> out;
    for (const auto& step : ObserveSteps(aws)) {
        auto it = by_name.find(step.step);
        if (step.outcome == "skip" || (it != by_name.end() && it->second->outcome == "skip")) {
            continue;
        }
        if (it == by_name.end()) {
            out.push_back({step.step, "not in the offline run", describe(step, 0)});
            continue;
        }
        const auto& other = *it->second;
        if (other.outcome != step.outcome) {
            out.push_back({step.step, describe(other, 0), describe(step, 0)});
            continue;
        }
        const std::size_t n = std::max(other.observed.size(), step.observed.size());
        for (std::size_t i = 0; i < n; ++i) {
            if (i >= other.observed.size() || i >= step.observed.size() ||
                other.observed[i] != step.observed[i]) {
                out.push_back({step.step, describe(other, i), describe(step, i)});
                break;
            }
        }
    }
    return out;
}

}  // namespace sim::scenario::aws
