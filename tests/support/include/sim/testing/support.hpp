// SPDX-License-Identifier: Apache-2.0
#pragma once
// Test fixtures for integration tests: temporary directories, free ports, a test PKI and a
// real mosquitto per test (as mosquitto's own test harness does).
//
// Everything here is RAII: a TempDir removes its tree, a TestBroker stops its broker (SIGTERM
// loop, SIGKILL fallback) and prints the broker log to stderr when the current gtest test has
// failed. Brokers die with the test process (PR_SET_PDEATHSIG).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/adapters.hpp"
#include "sim/world/mosquitto_process.hpp"

namespace sim::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// Accessors are named like variables (Google style), hence the NOLINTs below.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    // NOLINTNEXTLINE(readability-identifier-naming)
    const std::filesystem::path& path() const { return directory_->path(); }

private:
    std::optional<sim::ScratchDirectory> directory_;  // set by the constructor, or it throws
};

/// A TCP port the OS reports free on `host` right now (bind to port 0, read it, close).
std::uint16_t FreePort(const std::string& host = "127.0.0.1");

/// Writes `contents` to `path` (creating parent directories); aborts the test on failure.
void WriteTextFile(const std::filesystem::path& path, const std::string& contents);

/// Paths of one certificate and its key on disk.
struct CertFiles {
    std::filesystem::path cert;
    std::filesystem::path key;
    std::string cert_pem;
    std::string key_pem;
    std::string certificate_id;  ///< Lowercase hex SHA-256 of the DER.
};

/// A test PKI in a directory: a server root CA and a server certificate for 127.0.0.1 and
/// "localhost", and named device CAs and device certificates (real OpenSSL, fresh keys).
class TestPki {
public:
    explicit TestPki(std::filesystem::path directory);

    const CertFiles& ServerCa() const { return server_ca_; }
    const CertFiles& Server() const { return server_; }
    /// A device CA named `name` (created on first use).
    const CertFiles& DeviceCa(const std::string& name);
    /// A device certificate `name` signed by DeviceCa(ca). `validity` is [now+from, now+to].
    CertFiles Device(const std::string& name, const std::string& ca,
                     std::chrono::seconds from = std::chrono::seconds{-3600},
                     std::chrono::seconds to = std::chrono::hours{24});
    // NOLINTNEXTLINE(readability-identifier-naming)
    const std::filesystem::path& directory() const { return directory_; }

private:
    CertFiles Write(const std::string& name, const std::string& cert_pem,
                    const std::string& key_pem);
    std::filesystem::path directory_;
    CertFiles server_ca_;
    CertFiles server_;
    std::vector<std::pair<std::string, CertFiles>> device_cas_;
};

/// An ExpressLink module birth certificate (CN = serial = ThingName, pki::ModuleIdentityMaker,
/// valid [now - 1 h, now + 24 h]) issued by the CA `ca_cert_pem` / `ca_key_pem`, written to
/// `directory`/<ThingName>.pem and .key; the ThingName is returned in `thing_name`. Throws
/// std::runtime_error on a set-up failure (like TestPki).
CertFiles ModuleBirthCertificate(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                 const std::filesystem::path& directory, std::string& thing_name);

/// Options for a test broker.
struct TestBrokerOptions {
    std::filesystem::path plugin;  ///< Empty: no plugin.
    std::vector<std::pair<std::string, std::string>> plugin_options;
    std::vector<std::string> trusted_device_cas;  ///< TestPki CA names added to the capath.
    bool verbose_log = true;
};

/// A real mosquitto on 127.0.0.1:<free port> with mTLS, configured for one test.
class TestBroker {
public:
    TestBroker(TestPki& pki, const std::filesystem::path& directory,
               const TestBrokerOptions& options);
    ~TestBroker();
    TestBroker(const TestBroker&) = delete;
    TestBroker& operator=(const TestBroker&) = delete;
    TestBroker(TestBroker&&) = delete;
    TestBroker& operator=(TestBroker&&) = delete;

    // NOLINTNEXTLINE(readability-identifier-naming)
    bool ok() const { return process_ != nullptr; }
    // NOLINTNEXTLINE(readability-identifier-naming)
    const std::string& error() const { return error_; }
    // NOLINTNEXTLINE(readability-identifier-naming)
    std::uint16_t port() const { return port_; }
    // NOLINTNEXTLINE(readability-identifier-naming)
    const std::filesystem::path& capath() const { return capath_; }
    // NOLINTNEXTLINE(readability-identifier-naming)
    sim::world::MosquittoProcess& process() { return *process_; }
    std::string Log() const { return process_ ? process_->Log() : error_; }

private:
    std::uint16_t port_ = 0;
    std::filesystem::path capath_;
    std::unique_ptr<sim::world::MosquittoProcess> process_;
    std::string error_;
};

/// The result of running a command line client.
struct CommandResult {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr together.
};

/// Runs `argv` (argv[0] found on PATH) with a timeout; the child is killed at the deadline.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds{10});

/// The real AWS CLI (/usr/bin/aws iot, JSON output, no pager, no config or credentials files)
/// against a control plane at `endpoint_url` in us-east-1, signing as access key `account_id`
/// with any secret; `args` follow `iot`. Times out after 30 s.
CommandResult RunAwsIot(const std::string& account_id, const std::string& endpoint_url,
                        const std::vector<std::string>& args);

/// A running background command (e.g. mosquitto_sub); killed on destruction.
class BackgroundCommand {
public:
    explicit BackgroundCommand(const std::vector<std::string>& argv);
    ~BackgroundCommand();
    BackgroundCommand(const BackgroundCommand&) = delete;
    BackgroundCommand& operator=(const BackgroundCommand&) = delete;
    BackgroundCommand(BackgroundCommand&&) = delete;
    BackgroundCommand& operator=(BackgroundCommand&&) = delete;
    /// Waits until the output contains `needle`. True when found before the timeout.
    bool WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout);
    std::string Output();
    /// Waits for exit (up to timeout); returns the exit code, or -1 when still running.
    int Wait(std::chrono::milliseconds timeout);
    void Kill();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim::testing
