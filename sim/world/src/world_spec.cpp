// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_spec.hpp"

#include <charconv>
#include <cstdint>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "sim/core/net.hpp"
#include "sim/world/address_block.hpp"
#include "sim/world/world_spec_yaml.hpp"

namespace sim::world {
namespace {

// A refusal that carries the line of the offending node; converted to an Error at the top.
struct SpecError {
    int line;
    std::string reason;
};

// A node built in memory (not read from text) has no mark: line 1 then.
int LineOf(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 1; }

[[noreturn]] void Fail(const YAML::Node& node, std::string reason) {
    throw SpecError{LineOf(node), std::move(reason)};
}

void CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed, const char* where) {
    if (!map.IsMap()) {
        Fail(map, std::string(where) + " must be a mapping");
    }
    for (const auto& entry : map) {
        const auto key = entry.first.as<std::string>();
        if (allowed.count(key) == 0) {
            Fail(entry.first, "unknown key '" + key + "' in " + where);
        }
    }
}

std::string Scalar(const YAML::Node& node, const char* field) {
    if (!node.IsScalar()) {
        Fail(node, std::string(field) + " must be a scalar");
    }
    return node.as<std::string>();
}

bool IsName(std::string_view name) {
    if (name.empty() || name.size() > 32) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool IsAccountId(std::string_view id) {
    if (id.size() != 12) {
        return false;
    }
    for (const char c : id) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

bool IsOperationName(std::string_view name) {
    if (name.empty() || name.front() < 'A' || name.front() > 'Z') {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool IsSaveName(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    const char first = name.front();
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// `save: {NAME: JSONPATH, ...}` of one setup call.
std::vector<std::pair<std::string, std::string>> ParseSave(const YAML::Node& save) {
    if (!save.IsMap()) {
        Fail(save, "save must be a mapping of NAME: JSONPATH");
    }
    std::vector<std::pair<std::string, std::string>> saved;
    std::set<std::string> names;
    for (const auto& entry : save) {
        const auto name = Scalar(entry.first, "a save name");
        if (!IsSaveName(name)) {
            Fail(entry.first, "save name '" + name + "' must match [A-Za-z][A-Za-z0-9_-]*");
        }
        if (!names.insert(name).second) {
            Fail(entry.first, "duplicate save name '" + name + "'");
        }
        if (!entry.second.IsScalar()) {
            Fail(entry.second, "save '" + name + "' must be a JSONPath such as $.certificateId");
        }
        const auto path = entry.second.Scalar();
        if (path.empty() || path.front() != '$') {
            Fail(entry.second,
                 "save '" + name + "': '" + path + "' is not a JSONPath (it starts with $)");
        }
        saved.emplace_back(name, path);
    }
    return saved;
}

// `setup:` of one account: a list of `- Operation: {arguments}` items, each with an optional
// `save:`.
std::vector<SetupCall> ParseSetup(const YAML::Node& setup) {
    if (!setup.IsSequence()) {
        Fail(setup, "setup must be a list of operations (- Operation: {arguments})");
    }
    std::vector<SetupCall> calls;
    for (const auto& item : setup) {
        if (!item.IsMap()) {
            Fail(item, "a setup call must be a mapping (- Operation: {arguments})");
        }
        SetupCall call;
        call.line = LineOf(item);
        bool has_operation = false;
        for (const auto& entry : item) {
            const auto key = Scalar(entry.first, "a setup key");
            if (key == "save") {
                call.save = ParseSave(entry.second);
                continue;
            }
            if (!IsOperationName(key)) {
                Fail(entry.first, "setup operation '" + key +
                                      "' must be an AWS IoT action name ([A-Z][A-Za-z0-9]*)");
            }
            if (has_operation) {
                Fail(entry.first, "a setup call has two operations, '" + call.operation +
                                      "' and '" + key + "' (one per list item)");
            }
            has_operation = true;
            call.operation = key;
            // An operation written without arguments (`- ListThings:`) takes none.
            if (entry.second.IsNull()) {
                continue;
            }
            if (!entry.second.IsMap()) {
                Fail(entry.second, "arguments of " + key + " must be a mapping");
            }
            call.arguments = YamlToJson(entry.second);
        }
        if (!has_operation) {
            Fail(item, "a setup call needs an operation (- Operation: {arguments})");
        }
        calls.push_back(std::move(call));
    }
    return calls;
}

// `lambda_functions:` of one account: a list of {arn, command | url}.
std::vector<LambdaFunctionSpec> ParseLambdaFunctions(const YAML::Node& list) {
    if (!list.IsSequence()) {
        Fail(list, "lambda_functions must be a list of {arn, command | url}");
    }
    std::vector<LambdaFunctionSpec> functions;
    std::set<std::string> arns;
    for (const auto& item : list) {
        CheckKeys(item, {"arn", "command", "url"}, "a lambda function");
        if (!item["arn"]) {
            Fail(item, "a lambda function needs an arn");
        }
        LambdaFunctionSpec function;
        function.arn = Scalar(item["arn"], "arn");
        if (function.arn.rfind("arn:", 0) != 0) {
            Fail(item["arn"], "arn '" + function.arn + "' is not an ARN (arn:aws:lambda:...)");
        }
        if (!arns.insert(function.arn).second) {
            Fail(item["arn"], "duplicate lambda function " + function.arn);
        }
        if (static_cast<bool>(item["command"]) == static_cast<bool>(item["url"])) {
            Fail(item, "lambda function " + function.arn + " needs exactly one of command and url");
        }
        if (const auto command = item["command"]) {
            if (!command.IsSequence() || command.size() == 0) {
                Fail(command, "command must be a non-empty list such as [python3, hook.py]");
            }
            for (const auto& arg : command) {
                function.command.push_back(Scalar(arg, "a command argument"));
            }
        } else {
            function.url = Scalar(item["url"], "url");
            constexpr std::string_view kScheme = "http://";
            const std::string rest = function.url.substr(
                function.url.rfind(kScheme, 0) == 0 ? kScheme.size() : function.url.size());
            const std::string host = rest.substr(0, rest.find_first_of(":/"));
            if (function.url.rfind(kScheme, 0) != 0 || !IsLoopbackV4(host)) {
                Fail(item["url"], "url '" + function.url +
                                      "' must be http://ADDRESS:PORT/PATH with ADDRESS in "
                                      "127.0.0.0/8");
            }
        }
        functions.push_back(std::move(function));
    }
    return functions;
}

WorldSpec ParseRoot(const YAML::Node& root) {
    if (!root.IsMap()) {
        Fail(root, "the world must be a mapping with 'accounts'");
    }
    CheckKeys(root, {"region", "manufacturers", "accounts"}, "the world");
    WorldSpec spec;
    if (root["region"]) {
        spec.region = Scalar(root["region"], "region");
        if (spec.region.empty() ||
            spec.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
                std::string::npos) {
            Fail(root["region"], "region '" + spec.region + "' is not a region name");
        }
    }
    std::set<std::string> manufacturer_names;
    if (const auto list = root["manufacturers"]) {
        if (!list.IsSequence()) {
            Fail(list, "manufacturers must be a list");
        }
        for (const auto& item : list) {
            CheckKeys(item, {"name"}, "a manufacturer");
            if (!item["name"]) {
                Fail(item, "manufacturer without name");
            }
            ManufacturerSpec m{Scalar(item["name"], "name")};
            if (!IsName(m.name)) {
                Fail(item["name"], "manufacturer name '" + m.name + "' must match [a-z0-9-]{1,32}");
            }
            if (!manufacturer_names.insert(m.name).second) {
                Fail(item["name"], "duplicate manufacturer '" + m.name + "'");
            }
            spec.manufacturers.push_back(std::move(m));
        }
    }
    const auto accounts = root["accounts"];
    if (!accounts || !accounts.IsSequence() || accounts.size() == 0) {
        Fail(accounts ? accounts : root, "accounts must be a non-empty list");
    }
    std::set<std::string> names;
    std::set<std::string> ids;
    std::set<std::string> endpoints;  // address:port
    int index = 0;
    for (const auto& item : accounts) {
        CheckKeys(item,
                  {"name", "kind", "account_id", "manufacturer", "port", "address",
                   "control_plane_port", "setup", "lambda_functions"},
                  "an account");
        AccountSpec account;
        account.line = LineOf(item);
        if (!item["name"]) {
            Fail(item, "account without name");
        }
        account.name = Scalar(item["name"], "name");
        if (!IsName(account.name)) {
            Fail(item["name"], "account name '" + account.name + "' must match [a-z0-9-]{1,32}");
        }
        if (!names.insert(account.name).second) {
            Fail(item["name"], "duplicate account '" + account.name + "'");
        }
        if (!item["kind"]) {
            Fail(item, "account '" + account.name + "' has no kind (staging or oem)");
        }
        const auto kind = Scalar(item["kind"], "kind");
        if (kind == "staging") {
            account.kind = AccountKind::kStaging;
        } else if (kind == "oem") {
            account.kind = AccountKind::kOem;
        } else {
            Fail(item["kind"], "kind '" + kind + "' is not staging or oem");
        }
        if (item["account_id"]) {
            account.account_id = Scalar(item["account_id"], "account_id");
            if (!IsAccountId(account.account_id)) {
                Fail(item["account_id"], "account_id must be 12 digits");
            }
        } else {
            // Assumed: default ids are stable per position so that re-running a world file
            // gives the same ARNs.
            const std::string digits = std::to_string(100000000000LL + 11111111LL * (index + 1));
            account.account_id = digits.substr(0, 12);
        }
        if (!ids.insert(account.account_id).second) {
            Fail(item["account_id"] ? item["account_id"] : item,
                 "duplicate account_id " + account.account_id);
        }
        if (item["manufacturer"]) {
            account.manufacturer = Scalar(item["manufacturer"], "manufacturer");
            if (account.kind != AccountKind::kStaging) {
                Fail(item["manufacturer"], "only a staging account has a manufacturer");
            }
            if (manufacturer_names.count(account.manufacturer) == 0) {
                Fail(item["manufacturer"], "unknown manufacturer '" + account.manufacturer + "'");
            }
        } else if (account.kind == AccountKind::kStaging) {
            if (spec.manufacturers.empty()) {
                Fail(item, "staging account '" + account.name + "' needs a manufacturer");
            }
            account.manufacturer = spec.manufacturers.front().name;
        }
        if (item["port"]) {
            int port = 0;
            try {
                port = item["port"].as<int>();
            } catch (const YAML::Exception&) {
                Fail(item["port"], "port must be a number");
            }
            if (port < 1 || port > 65535) {
                Fail(item["port"], "port " + std::to_string(port) + " is out of range");
            }
            account.port = static_cast<std::uint16_t>(port);
        }
        if (item["control_plane_port"]) {
            int port = 0;
            try {
                port = item["control_plane_port"].as<int>();
            } catch (const YAML::Exception&) {
                Fail(item["control_plane_port"], "control_plane_port must be a number");
            }
            if (port < 1 || port > 65535) {
                Fail(item["control_plane_port"],
                     "control_plane_port " + std::to_string(port) + " is out of range");
            }
            account.control_plane_port = static_cast<std::uint16_t>(port);
        }
        if (account.control_plane_port == account.port) {
            Fail(item, "control_plane_port and port are both " + std::to_string(account.port));
        }
        if (item["address"]) {
            account.address = Scalar(item["address"], "address");
            if (!IsLoopbackV4(account.address)) {
                Fail(item["address"], "address " + account.address + " is not in 127.0.0.0/8");
            }
            if (!endpoints.insert(account.address + ":" + std::to_string(account.port)).second) {
                Fail(item, "address " + account.address + ":" + std::to_string(account.port) +
                               " is used by another account");
            }
        } else if (index >= static_cast<int>(kAddressesPerBlock)) {
            // Without an address, the account gets the address at its index in the block the
            // world leases at start (AssignBlockAddresses): the block must reach that far.
            Fail(item, "account '" + account.name + "' is number " + std::to_string(index + 1) +
                           "; a world leases " + std::to_string(kAddressesPerBlock) +
                           " addresses (give it an address)");
        }
        if (const auto setup = item["setup"]) {
            account.setup = ParseSetup(setup);
        }
        if (const auto functions = item["lambda_functions"]) {
            account.lambda_functions = ParseLambdaFunctions(functions);
        }
        spec.accounts.push_back(std::move(account));
        ++index;
    }
    return spec;
}

}  // namespace

const char* ToString(AccountKind kind) noexcept {
    return kind == AccountKind::kStaging ? "staging" : "oem";
}

bool IsLoopbackV4(std::string_view address) { return sim::IsLoopbackIpv4(address); }

namespace {

// Runs `parse`, turning refusals into "<source>:<line>: <reason>".
template <class Parse>
sim::Result<WorldSpec> Refusing(std::string_view source, Parse parse) {
    try {
        return parse();
    } catch (const SpecError& e) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              std::string(source) + ":" + std::to_string(e.line) + ": " + e.reason);
    } catch (const YAML::Exception& e) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            std::string(source) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

// JSON for a plain (unquoted) scalar: see YamlToJson in world_spec_yaml.hpp.
nlohmann::json PlainScalarToJson(const std::string& text) {
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return nullptr;
    }
    // [-+]?digits, no leading zero: an integer (int64, else uint64, else left as text).
    std::size_t start = (text.front() == '-' || text.front() == '+') ? 1 : 0;
    std::size_t digits = 0;
    while (start + digits < text.size() && text[start + digits] >= '0' &&
           text[start + digits] <= '9') {
        ++digits;
    }
    if (digits > 0 && start + digits == text.size()) {
        if (digits > 1 && text[start] == '0') {
            return text;  // "0123": an id, not a number (YAML 1.1 would read octal).
        }
        const char* begin = text.data() + (text.front() == '+' ? 1 : 0);
        const char* end = text.data() + text.size();
        std::int64_t signed_value = 0;
        if (const auto r = std::from_chars(begin, end, signed_value);
            r.ec == std::errc() && r.ptr == end) {
            return signed_value;
        }
        std::uint64_t unsigned_value = 0;
        if (const auto r = std::from_chars(begin, end, unsigned_value);
            r.ec == std::errc() && r.ptr == end) {
            return unsigned_value;
        }
        return text;
    }
    // [-+]?(digits.digits*|.digits|digits)([eE][-+]?digits)?, with a fraction or an exponent.
    std::size_t i = start;
    std::size_t mantissa_digits = 0;
    bool fraction_or_exponent = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++i;
        ++mantissa_digits;
    }
    if (i < text.size() && text[i] == '.') {
        fraction_or_exponent = true;
        ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
            ++mantissa_digits;
        }
    }
    if (mantissa_digits > 0 && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        fraction_or_exponent = true;
        ++i;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
            ++i;
        }
        std::size_t exponent_digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
            ++exponent_digits;
        }
        if (exponent_digits == 0) {
            return text;
        }
    }
    if (mantissa_digits == 0 || !fraction_or_exponent || i != text.size()) {
        return text;
    }
    double value = 0;
    const char* begin = text.data() + (text.front() == '+' ? 1 : 0);
    const char* end = text.data() + text.size();
    if (const auto r = std::from_chars(begin, end, value); r.ec == std::errc() && r.ptr == end) {
        return value;
    }
    return text;  // out of double's range: kept as written
}

}  // namespace

nlohmann::json YamlToJson(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: {
            auto object = nlohmann::json::object();
            for (const auto& entry : node) {
                const std::string key =
                    entry.first.IsScalar() ? entry.first.Scalar() : YAML::Dump(entry.first);
                object[key] = YamlToJson(entry.second);
            }
            return object;
        }
        case YAML::NodeType::Sequence: {
            auto array = nlohmann::json::array();
            for (const auto& item : node) {
                array.push_back(YamlToJson(item));
            }
            return array;
        }
        case YAML::NodeType::Scalar:
            // yaml-cpp tags a plain scalar "?"; a quoted or block scalar "!"; an explicit tag
            // (!!str) is kept as written. Only plain scalars are read as booleans and numbers.
            if (node.Tag() == "?") {
                return PlainScalarToJson(node.Scalar());
            }
            return node.Scalar();
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            break;
    }
    return nullptr;
}

sim::Result<WorldSpec> ParseWorldSpec(std::string_view yaml, std::string_view source) {
    return Refusing(source, [&] {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(yaml));
        } catch (const YAML::Exception& e) {
            throw SpecError{e.mark.line + 1, "not YAML: " + e.msg};
        }
        if (!root.IsMap()) {
            throw SpecError{1, "the world file must be a mapping with 'accounts'"};
        }
        return ParseRoot(root);
    });
}

sim::Result<WorldSpec> ParseWorldSpecNode(const YAML::Node& node, std::string_view source) {
    return Refusing(source, [&] { return ParseRoot(node); });
}

WorldPlan PlanWorld(const WorldSpec& spec, sim::Random& random) {
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    WorldPlan plan{spec, {}};
    for (const auto& account : spec.accounts) {
        std::string prefix;
        for (int i = 0; i < 14; ++i) {
            prefix += kAlphabet[random.Next64() % kAlphabet.size()];
        }
        plan.accounts.push_back({account, prefix + "-ats.iot." + spec.region + ".elsim.test"});
    }
    return plan;
}

}  // namespace sim::world
