// SPDX-License-Identifier: Apache-2.0
#pragma once
// The ExpressLink configuration dictionary (PG-CONF Tables 2-3): key names, access rights, buffer
// sizes, persistent vs volatile keys, factory defaults. Pure: persistence is a JSON string that
// adapters store in a file per module.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/module/errors.hpp"

namespace sim::module {

/// Datasheet values and the identity burnt in at manufacture (PG-APX). Fixed for the life of a
/// module.
struct ModuleProfile {
    std::string thing_name;        ///< ThingName key; also the birth certificate's serial.
    std::string certificate_pem;   ///< Certificate key: the birth certificate (chain), PEM.
    std::string staging_endpoint;  ///< Factory default of Endpoint: "host" or "host:port".
    std::string root_ca_pem;       ///< Initial RootCA (not restored by FACTORY_RESET).
    std::string about = "elsim SoftwareModule";  ///< About: "Vendor Model".
    std::string version = "1.0.0";               ///< Version: firmware X.Y.Z.
    std::string tech_spec = "v1.3";              ///< TechSpec: the spec version emulated.
    std::size_t max_topic = 16;     ///< MaxTopic (v1.0 requires >= 16).
    std::size_t max_shadow = 1;     ///< MaxShadow (>= 1).
    std::size_t max_event = 32;     ///< MaxEvent: event queue depth.
    std::size_t max_messages = 32;  ///< Message queue depth (GET); beyond it OVERRUN.
    bool confmode_available = false;  ///< CONFMODE supported (else ERR17).
    bool time_available = true;       ///< TIME? answers once synchronised (else ERR15 always).
    /// Form of the TIME? answer. kWords is `OK date YYYY/MM/DD time hh:mm:ss.xx SNTP`;
    /// kPlaceholders is `OK YYYY/MM/DD hh:mm:ss.xx SNTP` (the spec's placeholders taken as
    /// values only).
    enum class TimeForm { kWords, kPlaceholders };
    // Assumed: TIME? answers `OK date YYYY/MM/DD time hh:mm:ss.xx SOURCE`, the words included,
    // as real modules print it and the awslabs ExpressLink host library parses it; the
    // programming guide's `OK {date YYYY/MM/DD} {time hh:mm:ss.xx} {source}` also reads as
    // placeholders alone, kept selectable as TimeForm::kPlaceholders (`--time-form`).
    TimeForm time_form = TimeForm::kWords;
    /// Onboarded modules register for Jobs on connect (PG-PROV 12.3.2.5, hint 6 on failure).
    bool register_jobs = true;
    int deepest_sleep_mode = 3;  ///< SLEEP# falls back to this mode (`AT+SLEEP9` → `OK 3`).
    // Assumed: back-off after a failed connect. No numbers are public (ExpressLink Programmer's
    // Guide 4.7.2, CONNECT). The n-th consecutive failure (n >= 1) blocks new attempts for
    //   min(backoff_base * 2^(n-1), backoff_max) + jitter,  jitter in [0, that/4),
    // where the jitter comes from a splitmix64 sequence seeded with backoff_seed.
    std::chrono::milliseconds backoff_base{1000};
    std::chrono::milliseconds backoff_max{60000};
    std::uint64_t backoff_seed = 0;
    std::chrono::seconds default_keep_alive{60};  ///< KeepAlive initial value (Assumed).
};

/// Who may read or write a key.
enum class Access { kRead, kReadWrite, kWrite };

/// One row of Tables 2/3. Indexed keys (Topic#, Shadow#) have `indexed` set.
struct KeyInfo {
    std::string_view name;
    Access access = Access::kReadWrite;
    bool persistent = false;     ///< Table 2 (survives RESET) vs Table 3 (volatile).
    bool factory_reset = false;  ///< "Restored by FACTORY_RESET" = Y.
    std::size_t buffer = 0;      ///< Maximum value length in bytes (ERR4 beyond).
    bool indexed = false;
    bool certificate = false;    ///< Accepts `=pem` multi-line input and `pem` output.
};

/// The dictionary of one module. Copyable value type.
class Config {
public:
    explicit Config(const ModuleProfile* profile);

    /// Looks a key up with the spec's checks: ERR9 (> 16 chars), ERR10 (non-alphanumeric),
    /// ERR11 (unknown; names are case-sensitive, Topic0 and Topic{MaxTopic+1} are unknown).
    Result<KeyInfo, AtError> Lookup(std::string_view key) const;
    /// `CONF? key`: the value, or ERR9-11, ERR13 (write-only).
    Result<std::string, AtError> Read(std::string_view key) const;
    /// `CONF key=value`: ERR9-12, ERR4 (too long or malformed for the key), ERR26 (not a PEM
    /// certificate). On error nothing changes. Returns whether a persistent key changed.
    Result<bool, AtError> Write(std::string_view key, std::string value);

    /// Sets a key without access checks (the onboarding endpoint update, PG-PROV 12.3.2).
    void SetInternal(std::string_view key, std::string value);
    /// The stored value of a readable or writable key ("" for unknown keys).
    std::string Value(std::string_view key) const;

    /// RESET: volatile keys back to their initial values (PG-CMD 4.7.6).
    void ResetVolatile();
    /// FACTORY_RESET: also persistent keys whose Factory Reset column is Y (PG-CMD 4.7.7).
    void FactoryReset();

    /// The writable persistent keys as a JSON object (what the adapter stores).
    std::string SerializePersistent() const;
    /// Restores SerializePersistent() output; unknown keys or non-string values are refused
    /// with a message naming the key, and nothing changes.
    Status RestorePersistent(std::string_view json);

    // Typed views used by the interpreter.
    std::string Topic(std::size_t index) const;  ///< "" when unset or out of range.
    int Qos() const;
    std::chrono::seconds KeepAlive() const;

    /// Every key name in the dictionary, expanded (Topic1..TopicN).
    std::vector<std::string> KeyNames() const;

private:
    const ModuleProfile* profile_;
    std::map<std::string, std::string, std::less<>> values_;
};

/// Splits an Endpoint value into host and port (default 8883). Empty host or a bad port → none.
struct EndpointAddress {
    std::string host;
    std::uint16_t port = 8883;
};
std::optional<EndpointAddress> ParseEndpoint(std::string_view endpoint);

/// The LWTConfig JSON (`{"topic": "...", "qos": 0, "retain": 0}`), parsed.
struct LwtConfig {
    std::string topic;
    int qos = 0;
    bool retain = false;
};
/// Empty value → none; malformed → an error message.
Result<std::optional<LwtConfig>> ParseLwtConfig(std::string_view json);

}  // namespace sim::module
