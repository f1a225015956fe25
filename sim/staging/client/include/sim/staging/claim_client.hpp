// SPDX-License-Identifier: Apache-2.0
#pragma once
// The OEM claim-script (adapter; ExpressLink Onboarding-by-Claim Customer/OEM Guide, "Claim
// implementation"): connect to a
// staging endpoint as the claim-thing over mTLS (Paho MQTT C++, MQTT 3.1.1, client id = the
// UUID), publish {"Endpoint": "<OEM endpoint>"} on <ThingName>/expresslink_config with QoS 1,
// and report whether the staging broker accepted it; optionally watch the module's presence
// lifecycle events to see it leave staging.
//
// Works against the emulated staging account (endpoint names under .elsim.test are looked up
// in the world's endpoints map) and, unchanged, against a real staging endpoint (any other
// name is used as the host name).
//
// Blocking: RunClaim returns after at most connect + publish timeouts + settle + wait.
// Thread-safety: one RunClaim per call; no shared state.
//
// ClaimSession is the same claim-thing connection kept open for many claims, as a registration
// app keeps it (one CONNECT, then one publish per claimed module), built on the same connection
// code as RunClaim.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace sim::staging {

struct ClaimOptions {
    std::string staging;                 ///< Staging endpoint, host[:port] (default port 8883).
    std::filesystem::path claim_cert;    ///< Claim-thing certificate (PEM, leaf or chain).
    std::filesystem::path claim_key;     ///< Its private key (PEM).
    std::filesystem::path root_ca;       ///< Trust store; empty: world.json's serverCaFile.
    std::filesystem::path world;         ///< World directory (world.json); may be empty.
    std::string uuid;                    ///< Claim-thing UUID: the MQTT client id.
    std::string thing;                   ///< The module's ThingName.
    std::string endpoint;                ///< The OEM account's ATS endpoint, host[:port].
    /// Test hook: publish this payload verbatim instead of the Endpoint JSON (to exercise the
    /// staging account's refusals). `endpoint` is then not required.
    std::optional<std::string> raw_payload;
    std::chrono::seconds wait{0};                    ///< 0: do not watch.
    std::chrono::milliseconds settle{500};           ///< Watch for a kick after PUBACK.
    std::chrono::milliseconds timeout{10'000};       ///< Per MQTT operation.
};

struct ClaimReport {
    enum class Outcome {
        kAccepted,   ///< PUBACK and no kick within `settle` (and, with wait, the module left).
        kRefused,    ///< Connection refused/closed, publish failed, or the module did not leave.
        kBadInput,   ///< Options wrong (nothing was sent).
    };
    Outcome outcome = Outcome::kBadInput;
    bool published = false;           ///< The broker acknowledged the publish.
    /// The PUBLISH was handed to an open connection. With !published its PUBACK never came
    /// (timeout, or the connection was lost): the broker may still have delivered the claim.
    bool sent = false;
    std::string claim_line;           ///< One line: the claim's fate.
    std::string watch_line;           ///< One line when watching; empty otherwise.
    std::string uri;                  ///< "ssl://127.0.0.2:8883" actually used.
};

/// Checks the options and builds the broker URI without touching the network. Errors:
/// kInvalidArgument naming the option ("--thing: ...", "--staging: ... not in the endpoints
/// map of <dir>/world.json", "--root-ca: required without --world").
struct ClaimTarget {
    std::string uri;
    std::string host;  ///< As given in --staging (without port).
    std::filesystem::path root_ca;
    std::string payload;
    std::string topic;
};
sim::Result<ClaimTarget> PrepareClaim(const ClaimOptions& options);

/// An account's MQTT endpoint as a client reaches it: the broker URI and the CA that verifies
/// it. Shared by every client of a world's accounts (the claim script, software devices).
struct MqttEndpoint {
    std::string uri;   ///< "ssl://127.0.0.2:8883".
    std::string host;  ///< As given (without port).
    std::filesystem::path root_ca;
};

/// Resolves `value` (host[:port], port 8883 by default): a name under .elsim.test through the
/// endpoints map of `world_dir`/world.json (loopback addresses only), any other name as a host
/// name. `root_ca` empty: world.json's serverCaFile. Errors: kInvalidArgument naming `option`
/// ("<option>: ... not in the endpoints map of <dir>/world.json"), "--world: ..." or
/// "--root-ca: ..." (required without --world, or not a readable file). No network.
sim::Result<MqttEndpoint> ResolveMqttEndpoint(std::string_view option, const std::string& value,
                                              const std::filesystem::path& world_dir,
                                              const std::filesystem::path& root_ca);

/// Runs the claim (see the file comment). Never throws.
ClaimReport RunClaim(const ClaimOptions& options);

/// Exit status for `elsim claim`: 0 accepted, 1 refused, 2 bad input.
int ExitCodeOf(const ClaimReport& report);

// ---- A claim-thing session kept open for many claims -------------------------------------------

struct ClaimSessionOptions {
    std::string staging;               ///< As ClaimOptions::staging.
    std::filesystem::path claim_cert;  ///< As ClaimOptions.
    std::filesystem::path claim_key;
    std::filesystem::path root_ca;  ///< Empty: world.json's serverCaFile.
    std::filesystem::path world;
    std::string uuid;  ///< The MQTT client id.
    std::chrono::milliseconds timeout{10'000};  ///< Per MQTT operation (connect, PUBACK).
    /// At most this many publishes per second on the connection: AWS IoT discards publishes
    /// above 100/s per connection (AWS IoT Core endpoints and quotas). Claims are spaced by
    /// 1 s / rate, so a burst never exceeds it. 1..100.
    int max_publishes_per_second = 100;
};

/// One claim-thing's MQTT session at staging (client id = UUID), opened once and used for many
/// claims. Each Claim publishes {"Endpoint": ...} on <ThingName>/expresslink_config (QoS 1) and
/// waits for the PUBACK.
///
/// Acceptance: PUBACK. AWS (and the emulator, at its next TICK) closes the connection of a
/// claim-thing whose publish it refuses, possibly after the PUBACK; with many claims in flight
/// that close cannot be pinned on one claim: the claims in flight at that moment fail (kRefused)
/// and later claims reconnect. Callers that need certainty per claim watch the module leave
/// staging (its CONLOST), as the main job does, or use RunClaim, whose settle window attributes
/// the close to its only claim.
///
/// Reconnects honour AWS IoT's one CONNECT per second per client id (AWS IoT Core quotas):
/// a reconnect waits until 1 s after the previous CONNECT.
///
/// Threading: Claim may be called from many threads at once (publishes are paced and pipelined
/// on the one connection). Blocking: Claim returns within the pacing delay + timeout (+ one
/// reconnect). The destructor disconnects (bounded by timeout). Never throws.
class ClaimSession {
public:
    /// Checks the options (errors kInvalidArgument naming the option, as PrepareClaim) and
    /// connects. Errors: kUnavailable "staging refused the claim-thing: ..." when the
    /// connection fails.
    static sim::Result<std::unique_ptr<ClaimSession>> Open(const ClaimSessionOptions& options);
    ~ClaimSession();
    ClaimSession(const ClaimSession&) = delete;
    ClaimSession& operator=(const ClaimSession&) = delete;

    /// Claims `thing` for the OEM endpoint `endpoint` (host[:port]). kBadInput (nothing sent)
    /// for a bad ThingName or endpoint; kRefused when the publish failed or the session was
    /// lost (see above); kAccepted on PUBACK.
    ClaimReport Claim(const std::string& thing, const std::string& endpoint);

    /// "ssl://127.0.0.2:8883".
    const std::string& uri() const;
    /// CONNECTs made so far (1 after Open; more after losses).
    std::size_t connects() const;

    struct Impl;

private:
    explicit ClaimSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim::staging
