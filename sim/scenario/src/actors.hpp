// SPDX-License-Identifier: Apache-2.0
#pragma once
// The participants of a running scenario (adapters, private to sim/scenario): a recorder that
// stamps timeline entries, software modules that can be powered off and on (behind ModuleLink,
// which linked modules implement too: linked_module.hpp), plain MQTT clients over mutual TLS,
// and the JITR activation handler.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mqtt/async_client.h>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"
#include "sim/module/fleet.hpp"
#include "sim/module/software_module.hpp"
#include "sim/scenario/timeline.hpp"

namespace sim::scenario {

/// Stamps entries with the time since the scenario started and hands them to the timeline
/// (and to an optional sink). Thread-safe.
class Recorder {
public:
    Recorder(Timeline& timeline, std::function<void(const TimelineEntry&)> sink);
    void Add(const std::string& participant, EntryKind kind, std::string text);
    std::chrono::milliseconds Elapsed() const;

private:
    Timeline& timeline_;
    std::function<void(const TimelineEntry&)> sink_;
    std::chrono::steady_clock::time_point start_;
    std::mutex sink_mutex_;
};

/// What a certificate-holding actor presents: files and the parsed facts placeholders use.
struct CertificateFiles {
    std::filesystem::path certificate;  ///< PEM (leaf, or leaf + CA).
    std::filesystem::path key;
    std::string certificate_pem;
    std::string certificate_id;
    std::string serial;      ///< Lowercase hex.
    std::string common_name;
};
/// Reads and parses cert.pem/key.pem of an identity directory.
sim::Result<CertificateFiles> LoadCertificateFiles(const std::filesystem::path& certificate,
                                                   const std::filesystem::path& key);

/// What steps drive a module actor through: AT lines and events, power, its certificate. A
/// software module in this process (ModuleRuntime) or a linked module (linked_module.hpp).
class ModuleLink {
public:
    virtual ~ModuleLink() = default;
    virtual sim::Status Start() = 0;
    virtual void Stop() = 0;
    virtual bool Running() const = 0;
    /// Sends one AT line and returns the response lines (empty: no answer within `timeout`,
    /// or the module is off). Both directions go to the timeline.
    virtual std::vector<std::string> At(const std::string& line,
                                        std::chrono::milliseconds timeout) = 0;
    /// Reads one event with AT+EVENT? ("" when the queue is empty, nullopt when off/silent).
    virtual std::optional<std::string> PollEvent() = 0;
    virtual const std::string& name() const = 0;
    virtual const CertificateFiles& certificate() const = 0;
    /// Empty for a software module; for a linked one, its link ("serial:/dev/ttyUSB0").
    virtual std::string LinkedVia() const { return {}; }
    /// Events read but not matched by a step yet, oldest first.
    std::deque<std::string>& Unmatched() { return unmatched_; }

protected:
    std::deque<std::string> unmatched_;  // Touched by the step that owns the module.
};

/// A software module in this process, powered on and off by steps. Its persistent
/// configuration (Endpoint, ...) survives power cycles in its state directory.
class ModuleRuntime : public ModuleLink {
public:
    ModuleRuntime(std::string name, module::FleetOptions options,
                  std::filesystem::path identity_dir, CertificateFiles certificate,
                  Recorder& recorder);
    ~ModuleRuntime() override;
    ModuleRuntime(const ModuleRuntime&) = delete;
    ModuleRuntime& operator=(const ModuleRuntime&) = delete;

    sim::Status Start() override;
    void Stop() override;
    bool Running() const override;
    std::vector<std::string> At(const std::string& line,
                                std::chrono::milliseconds timeout) override;
    std::optional<std::string> PollEvent() override;

    const std::string& name() const override { return name_; }
    const CertificateFiles& certificate() const override { return certificate_; }

private:
    std::string name_;
    module::FleetOptions options_;
    std::filesystem::path identity_dir_;
    CertificateFiles certificate_;
    Recorder& recorder_;
    mutable std::mutex mutex_;
    std::unique_ptr<module::Fleet> fleet_;
    std::shared_ptr<module::SoftwareModule> module_;
};

/// A plain MQTT 3.1.1 client over mutual TLS (Paho), recording what it receives.
class ClientRuntime {
public:
    struct Endpoint {
        std::string account;  ///< For the timeline.
        std::string address;
        std::uint16_t port = 8883;
        std::filesystem::path server_ca;
    };
    ClientRuntime(std::string name, std::string client_id, Endpoint endpoint,
                  CertificateFiles certificate, Recorder& recorder);
    ~ClientRuntime();
    ClientRuntime(const ClientRuntime&) = delete;
    ClientRuntime& operator=(const ClientRuntime&) = delete;

    /// Each returns a one-line failure reason, or nothing on success.
    sim::Result<void, std::string> Connect(std::chrono::milliseconds timeout);
    sim::Result<void, std::string> Disconnect(std::chrono::milliseconds timeout);
    sim::Result<void, std::string> Subscribe(const std::string& filter,
                                             std::chrono::milliseconds timeout);
    /// `repeat` publishes back to back; QoS 1: each PUBACK within timeout; then still
    /// connected `settle` later.
    sim::Result<void, std::string> Publish(const std::string& topic, const std::string& payload,
                                           int qos, int repeat, std::chrono::milliseconds timeout,
                                           std::chrono::milliseconds settle);
    bool Connected() const;
    std::string ClientId() const { return client_.get_client_id(); }

    /// Waits until a message on a topic matching `filter` satisfies `accept`; consumes it.
    /// Returns the (topic, payload) or nullopt at the deadline. Messages that do not match
    /// stay for later steps.
    std::optional<std::pair<std::string, std::string>> WaitMessage(
        const std::string& filter,
        const std::function<bool(const std::string& topic, const std::string& payload)>& accept,
        std::chrono::milliseconds timeout);

    const std::string& name() const { return name_; }
    const CertificateFiles& certificate() const { return certificate_; }

private:
    std::string name_;
    Endpoint endpoint_;
    CertificateFiles certificate_;
    Recorder& recorder_;
    mqtt::async_client client_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<std::pair<std::string, std::string>> messages_;
};

}  // namespace sim::scenario
