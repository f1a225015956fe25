// SPDX-License-Identifier: Apache-2.0
#include "sim/module/config.hpp"

#include <array>
#include <charconv>

#include <nlohmann/json.hpp>

namespace sim::module {

namespace {

constexpr std::size_t kMaxKeyLength = 16;  // PG-CONF 6.1: keys are 1-16 characters.
constexpr std::size_t kCertBuffer = 8192;  // Table 2 says ">= 4 KB"; room for a chain.

// PG-CONF Tables 2 and 3. BLE keys are not emulated.
// Not emulated: BLECentral#, BLEGATT#, BLEPeripheral, BLEAllowList, BLEBondList (v1.2+ BLE).
constexpr std::array<KeyInfo, 20> kKeys = {{
    {"About", Access::kRead, true, false, 64, false, false},
    {"Version", Access::kRead, true, false, 32, false, false},
    {"TechSpec", Access::kRead, true, false, 16, false, false},
    {"ThingName", Access::kRead, true, false, 64, false, false},
    {"Certificate", Access::kRead, true, false, kCertBuffer, false, true},
    {"CustomName", Access::kReadWrite, true, true, 128, false, false},
    {"Endpoint", Access::kReadWrite, true, true, 128, false, false},
    {"RootCA", Access::kReadWrite, true, false, kCertBuffer, false, true},
    {"ShadowToken", Access::kReadWrite, true, true, 64, false, false},
    {"DefenderPeriod", Access::kReadWrite, true, true, 8, false, false},
    {"HOTAcertificate", Access::kReadWrite, true, true, kCertBuffer, false, true},
    {"OTAcertificate", Access::kWrite, true, false, kCertBuffer, false, true},
    {"SSID", Access::kReadWrite, true, true, 32, false, false},
    {"Passphrase", Access::kWrite, true, true, 64, false, false},
    {"APN", Access::kReadWrite, true, true, 128, false, false},
    {"KeepAlive", Access::kReadWrite, true, false, 8, false, false},
    {"LWTConfig", Access::kReadWrite, true, false, 128, false, false},
    {"LWTMessage", Access::kReadWrite, true, false, 128, false, false},
    {"QoS", Access::kReadWrite, false, false, 1, false, false},
    {"EnableShadow", Access::kReadWrite, false, false, 1, false, false},
}};

constexpr KeyInfo kTopicKey{"Topic", Access::kReadWrite, false, false, 128, true, false};
constexpr KeyInfo kShadowKey{"Shadow", Access::kReadWrite, false, false, 64, true, false};

bool IsAlnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// "Topic12" → 12 when the name is prefix + a decimal without leading zero.
std::optional<std::size_t> IndexAfter(std::string_view key, std::string_view prefix) {
    if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    const std::string_view digits = key.substr(prefix.size());
    if (digits.front() == '0') {
        return std::nullopt;
    }
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return value;
}

bool IsDecimal(std::string_view s, std::uint64_t max) {
    if (s.empty() || s.size() > 19) {
        return false;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && end == s.data() + s.size() && value <= max;
}

bool LooksLikePem(std::string_view value) {
    const auto begin = value.find("-----BEGIN CERTIFICATE-----");
    return begin != std::string_view::npos &&
           value.find("-----END CERTIFICATE-----", begin) != std::string_view::npos;
}

std::string InitialValue(const KeyInfo& info, const ModuleProfile& profile) {
    const std::string_view name = info.name;
    if (name == "Endpoint") {
        return profile.staging_endpoint;
    }
    if (name == "RootCA") {
        return profile.root_ca_pem;
    }
    if (name == "ShadowToken") {
        return "ExpressLink";  // PG-CONF Table 2 default.
    }
    if (name == "DefenderPeriod" || name == "QoS" || name == "EnableShadow") {
        return "0";
    }
    if (name == "KeepAlive") {
        return std::to_string(profile.default_keep_alive.count());
    }
    return {};
}

}  // namespace

Config::Config(const ModuleProfile* profile) : profile_(profile) {
    for (const auto& info : kKeys) {
        if (!info.name.empty() && info.access != Access::kRead) {
            values_[std::string(info.name)] = InitialValue(info, *profile_);
        }
    }
    // The spec leaves OTAcertificate's initial value to the vendor; it starts empty here.
}

Result<KeyInfo, AtError> Config::Lookup(std::string_view key) const {
    if (key.size() > kMaxKeyLength) {
        return Unexpected(AtError::kInvalidKeyLength);
    }
    if (key.empty()) {
        return Unexpected(AtError::kInvalidKeyName);
    }
    for (const char c : key) {
        if (!IsAlnum(c)) {
            return Unexpected(AtError::kInvalidKeyName);
        }
    }
    for (const auto& info : kKeys) {
        if (!info.name.empty() && info.name == key) {
            return info;
        }
    }
    if (auto index = IndexAfter(key, "Topic"); index && *index >= 1 && *index <= profile_->max_topic) {
        return kTopicKey;
    }
    if (auto index = IndexAfter(key, "Shadow");
        index && *index >= 1 && *index <= profile_->max_shadow) {
        return kShadowKey;
    }
    return Unexpected(AtError::kUnknownKey);
}

Result<std::string, AtError> Config::Read(std::string_view key) const {
    auto info = Lookup(key);
    if (!info) {
        return Unexpected(info.error());
    }
    if (info->access == Access::kWrite) {
        return Unexpected(AtError::kKeyWriteonly);
    }
    return Value(key);
}

Result<bool, AtError> Config::Write(std::string_view key, std::string value) {
    auto info = Lookup(key);
    if (!info) {
        return Unexpected(info.error());
    }
    if (info->access == Access::kRead) {
        return Unexpected(AtError::kKeyReadonly);
    }
    if (value.size() > info->buffer) {
        return Unexpected(AtError::kParameterError);
    }
    const std::string_view name = info->name;
    if ((name == "QoS" || name == "EnableShadow") && value != "0" && value != "1") {
        // Only QoS 0 and 1 are supported (PG-MSG); Assumed: other values are ERR4.
        return Unexpected(AtError::kParameterError);
    }
    if ((name == "KeepAlive" && !IsDecimal(value, 65535)) ||
        (name == "DefenderPeriod" && !IsDecimal(value, 99999999))) {
        return Unexpected(AtError::kParameterError);
    }
    if (name == "LWTConfig" && !ParseLwtConfig(value)) {
        return Unexpected(AtError::kParameterError);
    }
    if (info->certificate && !value.empty() && !LooksLikePem(value)) {
        // Not emulated: signature checks of OTA/HOTA certificates (ERR23); a value that is not
        // a PEM certificate is ERR26 INVALID CERTIFICATE (v1.1.2).
        return Unexpected(AtError::kInvalidCertificate);
    }
    values_[std::string(key)] = std::move(value);
    return info->persistent;
}

void Config::SetInternal(std::string_view key, std::string value) {
    values_[std::string(key)] = std::move(value);
}

std::string Config::Value(std::string_view key) const {
    if (key == "About") {
        return profile_->about;
    }
    if (key == "Version") {
        return profile_->version;
    }
    if (key == "TechSpec") {
        return profile_->tech_spec;
    }
    if (key == "ThingName") {
        return profile_->thing_name;
    }
    if (key == "Certificate") {
        return profile_->certificate_pem;
    }
    auto it = values_.find(key);
    return it == values_.end() ? std::string{} : it->second;
}

void Config::ResetVolatile() {
    for (auto it = values_.begin(); it != values_.end();) {
        auto info = Lookup(it->first);
        if (info && !info->persistent) {
            if (info->indexed) {
                it = values_.erase(it);
                continue;
            }
            it->second = InitialValue(*info, *profile_);
        }
        ++it;
    }
}

void Config::FactoryReset() {
    ResetVolatile();
    for (const auto& info : kKeys) {
        if (!info.name.empty() && info.persistent && info.factory_reset) {
            values_[std::string(info.name)] = InitialValue(info, *profile_);
        }
    }
}

std::string Config::SerializePersistent() const {
    nlohmann::json json = nlohmann::json::object();
    for (const auto& info : kKeys) {
        if (!info.name.empty() && info.persistent && info.access != Access::kRead) {
            json[std::string(info.name)] = Value(info.name);
        }
    }
    // Binary values (any byte may be escaped in) are kept as they are; invalid UTF-8 would
    // make dump() throw, so replace is used and the adapter stores hex-safe JSON.
    return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status Config::RestorePersistent(std::string_view json_text) {
    const auto json = nlohmann::json::parse(json_text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return MakeError(ErrorCode::kInvalidArgument, "persistent config: not a JSON object");
    }
    std::map<std::string, std::string, std::less<>> next = values_;
    for (const auto& [key, value] : json.items()) {
        auto info = Lookup(key);
        if (!info || !info->persistent || info->access == Access::kRead) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "persistent config: key '" + key + "' is not a writable persistent key");
        }
        if (!value.is_string() || value.get_ref<const std::string&>().size() > info->buffer) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "persistent config: key '" + key + "' must be a string within " +
                                 std::to_string(info->buffer) + " bytes");
        }
        next[key] = value.get<std::string>();
    }
    values_ = std::move(next);
    return {};
}

std::string Config::Topic(std::size_t index) const {
    if (index < 1 || index > profile_->max_topic) {
        return {};
    }
    return Value("Topic" + std::to_string(index));
}

int Config::Qos() const { return Value("QoS") == "1" ? 1 : 0; }

std::chrono::seconds Config::KeepAlive() const {
    const std::string value = Value("KeepAlive");
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || end != value.data() + value.size()) {
        return profile_->default_keep_alive;
    }
    return std::chrono::seconds{seconds};
}

std::vector<std::string> Config::KeyNames() const {
    std::vector<std::string> names;
    for (const auto& info : kKeys) {
        if (!info.name.empty()) {
            names.emplace_back(info.name);
        }
    }
    for (std::size_t i = 1; i <= profile_->max_topic; ++i) {
        names.push_back("Topic" + std::to_string(i));
    }
    for (std::size_t i = 1; i <= profile_->max_shadow; ++i) {
        names.push_back("Shadow" + std::to_string(i));
    }
    return names;
}

std::optional<EndpointAddress> ParseEndpoint(std::string_view endpoint) {
    EndpointAddress address;
    const auto colon = endpoint.rfind(':');
    if (colon == std::string_view::npos) {
        address.host = std::string(endpoint);
    } else {
        address.host = std::string(endpoint.substr(0, colon));
        const std::string_view port = endpoint.substr(colon + 1);
        if (!IsDecimal(port, 65535) || port == "0") {
            return std::nullopt;
        }
        address.port = static_cast<std::uint16_t>(std::stoul(std::string(port)));
    }
    if (address.host.empty()) {
        return std::nullopt;
    }
    for (const char c : address.host) {
        if (!IsAlnum(c) && c != '.' && c != '-' && c != '_') {
            return std::nullopt;
        }
    }
    return address;
}

Result<std::optional<LwtConfig>> ParseLwtConfig(std::string_view json_text) {
    if (json_text.empty()) {
        return std::optional<LwtConfig>{};
    }
    const auto json = nlohmann::json::parse(json_text, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("topic") ||
        !json["topic"].is_string() || json["topic"].get_ref<const std::string&>().empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "LWTConfig: expected {\"topic\": \"...\", \"qos\": 0, \"retain\": 0}");
    }
    LwtConfig lwt;
    lwt.topic = json["topic"].get<std::string>();
    if (json.contains("qos")) {
        if (!json["qos"].is_number_integer() || json["qos"].get<int>() < 0 ||
            json["qos"].get<int>() > 1) {
            return MakeError(ErrorCode::kInvalidArgument, "LWTConfig: qos must be 0 or 1");
        }
        lwt.qos = json["qos"].get<int>();
    }
    if (json.contains("retain")) {
        const auto& retain = json["retain"];
        if (retain.is_boolean()) {
            lwt.retain = retain.get<bool>();
        } else if (retain.is_number_integer() &&
                   (retain.get<int>() == 0 || retain.get<int>() == 1)) {
            lwt.retain = retain.get<int>() == 1;
        } else {
            return MakeError(ErrorCode::kInvalidArgument, "LWTConfig: retain must be 0 or 1");
        }
    }
    return std::optional<LwtConfig>{lwt};
}

}  // namespace sim::module
