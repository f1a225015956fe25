// SPDX-License-Identifier: Apache-2.0
#pragma once
// A running software ExpressLink module: the pure interpreter plus the adapters that execute its
// effects (MQTT port, timers, the persistent-config file, the serial output). This is also the
// in-process API the scenario runner uses: `Command("AT+CONNECT")` returns the response lines.
//
// Threading: every public method is thread-safe. Events (host bytes, MQTT callbacks, timers)
// are queued and applied one at a time in arrival order by whichever thread finds the queue
// idle (no thread per module); effects run on that thread, in order. Output and pin handlers
// are therefore called from arbitrary threads, never concurrently for one module.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"
#include "sim/module/interpreter.hpp"
#include "sim/module/mqtt_port.hpp"
#include "sim/module/timer_service.hpp"
#include "sim/world/endpoints.hpp"

namespace sim::module {

/// A birth identity as `elsim pki modules` writes it: DIR/<ThingName>/{cert.pem,key.pem,
/// chain.pem} (pki/include/pki/factory.hpp).
struct Identity {
    std::string thing_name;
    std::string certificate_pem;              ///< cert.pem: the Certificate key.
    std::filesystem::path certificate_file;   ///< cert.pem.
    std::filesystem::path key_file;           ///< key.pem.
    std::filesystem::path chain_file;         ///< chain.pem if present, else cert.pem.
};

/// Loads DIR/THINGNAME; errors name the missing or unreadable file.
Result<Identity> LoadIdentity(const std::filesystem::path& dir);
/// The identity directories under DIR (those holding cert.pem), sorted by name.
Result<std::vector<std::filesystem::path>> ListIdentities(const std::filesystem::path& dir);

struct SoftwareModuleOptions {
    std::shared_ptr<const ModuleProfile> profile;
    /// Persistent keys are kept here (JSON, mode 0600 since Passphrase is one). Empty = none.
    std::filesystem::path state_file;
    /// Makes the module's MQTT port; the sink feeds events back into the module.
    std::function<std::unique_ptr<MqttPort>(MqttEventSink)> make_mqtt;
    TimerService* timers = nullptr;      ///< For SLEEP durations; not owned; may be null.
    /// Stamps events (back-off, TIME?); null = system. Shared: a module may outlive its fleet
    /// (a connection-lost callback during shutdown).
    std::shared_ptr<const sim::Clock> clock;
    world::Resolver resolver;                ///< For DIAG PING.
    std::shared_ptr<spdlog::logger> logger;  ///< Optional; AT lines at debug.
};

class SoftwareModule : public std::enable_shared_from_this<SoftwareModule> {
public:
    /// Powers the module on: restores the state file if present (a corrupt file is an error
    /// naming it), queues STARTUP.
    static Result<std::shared_ptr<SoftwareModule>> Create(SoftwareModuleOptions options);
    ~SoftwareModule();
    SoftwareModule(const SoftwareModule&) = delete;
    SoftwareModule& operator=(const SoftwareModule&) = delete;

    /// Bytes from the host link (any chunking).
    void Receive(std::string bytes);
    /// The host link dropped: a partial line is forgotten.
    void DropLink();
    /// Where response bytes go (each line with CR LF). Replaces the previous handler.
    void SetOutput(std::function<void(std::string_view)> output);
    /// Called when the EVENT pin changes.
    void SetEventPinHandler(std::function<void(bool)> handler);

    /// Sends one AT line (EOL added) and waits for its complete response: the first line plus
    /// the extra lines announced by `OK{n}`. Returns the lines without CR LF; empty on timeout.
    /// One caller at a time per module.
    std::vector<std::string> Command(const std::string& line,
                                     std::chrono::milliseconds timeout = std::chrono::seconds{125});

    /// Injects an event (ConfModeCompleted, faults).
    void Inject(EventBody body);
    /// Fault knob: no network → the next CONNECT fails with hint 2.
    void SetNetworkAvailable(bool available);

    bool EventPin() const { return event_pin_.load(); }
    const ModuleProfile& profile() const { return *profile_; }

private:
    explicit SoftwareModule(SoftwareModuleOptions options, ModuleState state);
    void Post(EventBody body);
    void Execute(std::vector<Effect>& effects);
    void EmitLine(const std::string& line);

    SoftwareModuleOptions options_;
    std::shared_ptr<const ModuleProfile> profile_;
    std::unique_ptr<MqttPort> mqtt_;

    std::mutex queue_mutex_;
    std::deque<EventBody> queue_;
    bool draining_ = false;
    ModuleState state_;  // Touched only by the draining thread.

    std::mutex output_mutex_;
    std::function<void(std::string_view)> output_;
    std::function<void(bool)> pin_handler_;
    std::atomic<bool> event_pin_{true};

    std::mutex command_mutex_;  // One Command() at a time.
    std::mutex collect_mutex_;
    std::condition_variable collected_;
    bool collecting_ = false;
    std::vector<std::string> collected_lines_;
};

}  // namespace sim::module
