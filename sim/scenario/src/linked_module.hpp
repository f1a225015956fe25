// SPDX-License-Identifier: Apache-2.0
#pragma once
// A module actor played by a module at the other end of a link (`elsim run --modules`): a real
// ExpressLink module on a serial port, or an `elsim module` process on a pty or a TCP port.
// Only AT lines cross the link, as for a person at a terminal:
//   - serial and pty: the port in raw mode, 115200 8N1, no flow control (PG-CMD 4.1.1);
//   - bytes are assembled into lines whatever the chunks and line ends (LineAssembler);
//   - Resynchronise(): drain, `AT` until `OK`, a quiet period (Resync);
//   - events are polled with `AT+EVENT?`: the EVENT pin does not cross a serial cable;
//   - an answer that misses its step's window is still awaited, up to the spec's maximum run
//     time, before the next line is sent, so a late answer is never taken for the next one;
//   - its ThingName and birth certificate come from `AT+CONF? ThingName` and
//     `AT+CONF? Certificate pem`; its private key stays inside.
//
// Threading: one reader thread per link; At() and PollEvent() are serialised by a mutex.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors.hpp"
#include "sim/scenario/module_link.hpp"

namespace sim::scenario {

class LinkedModule : public ModuleLink {
public:
    /// Opens the link (serial/pty: termios raw 115200 8N1, no flow control; tcp: connects).
    /// Errors are one line naming the device.
    static sim::Result<std::unique_ptr<LinkedModule>, std::string> Open(std::string name,
                                                                         const LinkSpec& spec,
                                                                         Recorder& recorder);
    ~LinkedModule() override;
    LinkedModule(const LinkedModule&) = delete;
    LinkedModule& operator=(const LinkedModule&) = delete;

    /// Drain, `AT` until `OK` (Resync). The reason when the module never answers.
    sim::Result<void, std::string> Resynchronise();
    /// Makes the module factory-fresh, as a software module is at the start of a scenario:
    /// resynchronise, AT+FACTORY_RESET, resynchronise (a module may reboot), then read its
    /// ThingName, birth certificate and factory Endpoint (its staging endpoint). Returns that
    /// Endpoint.
    sim::Result<std::string, std::string> MakeFactoryFresh();
    /// Makes the module trust the world's server root: `AT+CONF RootCA=pem` when its RootCA
    /// differs (RootCA survives FACTORY_RESET, so the one read first is put back by
    /// RestoreRootCa).
    sim::Result<void, std::string> TrustRootCa(const std::string& root_pem);
    /// Writes back the RootCA read before TrustRootCa changed it (nothing if it did not).
    void RestoreRootCa();

    /// A linked module is powered by its bench, not by the runner: Start and Stop change
    /// nothing (power steps on linked modules are skipped).
    sim::Status Start() override { return {}; }
    void Stop() override {}
    bool Running() const override { return true; }
    std::vector<std::string> At(const std::string& line,
                                std::chrono::milliseconds timeout) override;
    std::optional<std::string> PollEvent() override;
    const std::string& name() const override { return name_; }
    const CertificateFiles& certificate() const override { return certificate_; }
    std::string LinkedVia() const override { return via_; }

private:
    LinkedModule(std::string name, std::string via, int fd, Recorder& recorder);
    void ReadLoop();
    bool WriteLine(const std::string& line);
    /// The next line within `timeout`, or nullopt.
    std::optional<std::string> NextLine(std::chrono::milliseconds timeout);
    /// Sends `line` and collects its answer (first line within `timeout`, then the lines it
    /// announces). `quiet`: only answers that are not a bare OK go to the timeline.
    std::vector<std::string> Exchange(const std::string& line, std::chrono::milliseconds timeout,
                                      bool quiet);
    /// Waits out an answer that missed its window (up to the spec's limit), then records lines
    /// nobody asked for. Returns false when the link had to be resynchronised and failed.
    bool Settle();
    sim::Result<void, std::string> ResynchroniseLocked();
    sim::Result<void, std::string> ReadIdentity();
    /// `AT+CONF? KEY pem`: the PEM text, or the reason.
    sim::Result<std::string, std::string> ReadPem(const std::string& key);
    /// `AT+CONF KEY=pem` and the PEM lines; the answer comes after the END line.
    sim::Result<void, std::string> WritePem(const std::string& key, const std::string& pem);

    std::string name_;
    std::string via_;
    int fd_;
    Recorder& recorder_;
    CertificateFiles certificate_;

    std::mutex command_mutex_;  // One exchange at a time.
    std::mutex lines_mutex_;
    std::condition_variable arrived_;
    std::deque<std::string> lines_;  // Guarded by lines_mutex_.
    bool closed_ = false;            // Guarded by lines_mutex_: end of input or an error.
    std::atomic<bool> stop_{false};
    int wake_[2] = {-1, -1};
    std::thread reader_;

    struct Outstanding {
        std::string line;
        std::chrono::steady_clock::time_point sent;
        std::chrono::steady_clock::time_point deadline;
    };
    std::optional<Outstanding> outstanding_;  // Guarded by command_mutex_.
    std::optional<std::string> saved_root_ca_;  // The RootCA before TrustRootCa changed it.
};

}  // namespace sim::scenario
