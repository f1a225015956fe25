// SPDX-License-Identifier: Apache-2.0
#pragma once
// The control-plane HTTP server (adapter): cpp-httplib on loopback, keep-alive, a thread pool,
// several accounts per process. It only moves bytes: the pure router (router.hpp) does the
// work, under each account's lock, and every successful write is made durable before the reply.
//
// Account selection (documented mapping): the access key id of the SigV4 Authorization header
// chooses the account. A 12-digit access key id is that account id; any other access key id,
// or a request without Authorization, goes to the default account (the first configured).
// A 12-digit id that is not hosted gets 403 UnrecognizedClientException.
//
// Signature verification (ServerOptions::verify_signatures): each account has a secret access
// key (HostedAccount::Options::secret_access_key); a request signed with another secret gets
// 403 InvalidSignatureException, a request without Authorization 403
// MissingAuthenticationTokenException (Assumed: the names AWS's front end uses; botocore and the
// CLI only need a 4xx with a type).
//
// Durability (HostedAccount): a mutating request's TakeChanges() rows are queued under the
// account's exclusive lock (so the log order is the registry's order) and written by one
// committer thread, which batches every queued request into ONE SQLite transaction (group
// commit); the reply is sent only after that transaction committed. Reads take the shared lock
// and may observe a write a few hundred microseconds before it is durable.
//
// Threading: every public member is thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "sim/account/registry.hpp"
#include "sim/control_plane/account_store.hpp"
#include "sim/control_plane/faults.hpp"
#include "sim/control_plane/router.hpp"
#include "sim/core/ports.hpp"

namespace sim::controlplane {

/// One account served by the control plane: registry + lock + SQLite store + committer.
class HostedAccount {
public:
    struct Options {
        account::AccountSettings settings;
        std::filesystem::path database;  ///< e.g. DIR/<account-id>/registry.sqlite
        std::string secret_access_key;   ///< Used when signatures are verified.
        Durability durability = Durability::kFull;
        /// Keep registry effects (event publishes, disconnects) for TakeEffects(). False in the
        /// standalone server, which has no broker to run them (they are dropped); true when the
        /// account is hosted by its broker (sim/broker's plugin drains them at TICK).
        bool keep_effects = false;
    };
    /// Called after every successful mutating request, once its changes are committed and
    /// before the HTTP reply is sent, with the operation name, the reply body and the registry
    /// under the shared lock (the broker hot-adds newly registered CAs to its capath here).
    using WriteObserver = std::function<void(const std::string& operation,
                                             const std::string& reply_body,
                                             const account::Registry& registry)>;
    /// Opens the store and loads the registry from it. Errors: kIo (store), kInvalidArgument
    /// (a stored row the registry refuses), each naming the file.
    static Result<std::shared_ptr<HostedAccount>> Open(
        Options options, std::shared_ptr<const Clock> clock, std::shared_ptr<Random> random,
        std::shared_ptr<account::DefaultModeCaIndex> default_mode_index);
    ~HostedAccount();
    HostedAccount(const HostedAccount&) = delete;
    HostedAccount& operator=(const HostedAccount&) = delete;

    /// Executes a parsed request under the right lock; for writes, waits until the changes
    /// are committed. A failed commit answers 500 InternalFailureException (logged).
    HttpResponse Serve(const ParsedRequest& request, CertificateIssuer& issuer);
    /// Runs registry time-driven work (Registry::Tick) and persists what it changed.
    void Tick();

    /// Runs `work` under the exclusive lock, then persists what it changed (TakeChanges) and
    /// queues its effects (when keep_effects). `wait_for_commit`: block until the changes are
    /// durable (else they are committed by the next group commit, a few ms later). Errors: the
    /// commit failed (only reported when waiting).
    Status Run(const std::function<void(account::Registry&)>& work, bool wait_for_commit = true);
    /// Runs `work` under the shared lock: concurrent with other readers, never with a writer.
    /// `work` must not change the registry.
    void Read(const std::function<void(const account::Registry&)>& work);
    /// Effects queued by Serve/Run/Tick since the last call, in order (empty unless
    /// keep_effects).
    std::vector<account::Effect> TakeEffects();
    /// Installs the observer of committed writes (nullptr: none). Set before serving.
    void SetWriteObserver(WriteObserver observer);

    const account::AccountSettings& settings() const { return options_.settings; }
    const std::string& secret_access_key() const { return options_.secret_access_key; }
    /// Number of SQLite transactions committed and of requests they carried (for the bench).
    std::pair<std::uint64_t, std::uint64_t> CommitStats() const;

private:
    HostedAccount(Options options, std::shared_ptr<const Clock> clock,
                  std::shared_ptr<Random> random,
                  std::shared_ptr<account::DefaultModeCaIndex> default_mode_index,
                  std::unique_ptr<AccountStore> store);
    struct Pending;
    /// Queues `rows` (caller holds the exclusive lock) and returns the ticket to wait on.
    std::shared_ptr<Pending> Enqueue(std::vector<StoredRow> rows);
    Status Wait(const std::shared_ptr<Pending>& pending);
    void CommitLoop();
    /// Moves the registry's effects to the queue, or drops them. Caller holds the exclusive lock.
    void CollectEffects();

    Options options_;
    std::shared_ptr<const Clock> clock_;
    std::shared_ptr<Random> random_;
    std::shared_ptr<account::DefaultModeCaIndex> default_mode_index_;
    std::unique_ptr<AccountStore> store_;
    std::shared_mutex registry_mutex_;
    account::Registry registry_;
    WriteObserver write_observer_;

    std::mutex effects_mutex_;
    std::vector<account::Effect> effects_;

    mutable std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::vector<std::shared_ptr<Pending>> queue_;
    bool stopping_ = false;
    std::uint64_t transactions_ = 0;
    std::uint64_t committed_requests_ = 0;
    std::thread committer_;
};

struct ServerOptions {
    std::string host = "127.0.0.1";  ///< Loopback only.
    int port = 0;                    ///< 0: the OS picks a free port.
    bool verify_signatures = false;
    int threads = 8;                 ///< Workers: they only ever see complete requests.
    /// Idle keep-alive connections are closed after this long.
    std::chrono::seconds keep_alive_timeout{2};
    /// A request (head and body) must arrive whole within this long of its first byte, else
    /// 408 and the connection is closed.
    // Assumed: AWS does not document its front door's read timeouts; 10 s outlasts any honest
    // client on loopback.
    std::chrono::milliseconds request_timeout{10'000};
    /// Non-null: the account's server-side faults. The server then serves the elsim-only path
    /// /_elsim/faults (not an AWS API: GET lists, POST adds a rule, DELETE clears; see
    /// sim/broker/README.md "Faults") and answers operations an api-error rule names with
    /// that AWS error.
    std::shared_ptr<faults::FaultBoard> faults;
};

class ControlPlaneServer {
public:
    /// Binds and starts serving on a background thread. `accounts` must not be empty; the
    /// first is the default account. Errors: kUnavailable when the address cannot be bound,
    /// kInvalidArgument for a non-loopback host or an empty account list.
    static Result<std::unique_ptr<ControlPlaneServer>> Start(
        ServerOptions options, std::vector<std::shared_ptr<HostedAccount>> accounts,
        std::shared_ptr<CertificateIssuer> issuer, std::shared_ptr<Random> random);
    ~ControlPlaneServer();  ///< Stops and joins.
    ControlPlaneServer(const ControlPlaneServer&) = delete;
    ControlPlaneServer& operator=(const ControlPlaneServer&) = delete;

    int port() const { return port_; }
    /// "http://127.0.0.1:PORT"
    std::string endpoint() const;
    void Stop();

    /// The whole request path without sockets (account selection, signature check, router,
    /// persistence): what the HTTP handler calls. Public for tests.
    HttpResponse Dispatch(const HttpRequest& request);

private:
    ControlPlaneServer() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace sim::controlplane
