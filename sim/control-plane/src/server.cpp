// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/server.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <utility>

#include "http_front.hpp"
#include "sim/core/adapters.hpp"

namespace sim::controlplane {
namespace {

namespace et = account::error_type;

// The world's DEFAULT-mode CA index, shared by the accounts of this process, made safe for
// their concurrent (differently locked) registries.
class LockedDefaultModeCaIndex final : public account::DefaultModeCaIndex {
public:
    bool TryClaim(std::string_view region, std::string_view ca_certificate_id,
                  std::string_view account_id) override {
        std::lock_guard lock(mutex_);
        return inner_.TryClaim(region, ca_certificate_id, account_id);
    }
    void Release(std::string_view region, std::string_view ca_certificate_id,
                 std::string_view account_id) override {
        std::lock_guard lock(mutex_);
        inner_.Release(region, ca_certificate_id, account_id);
    }

private:
    std::mutex mutex_;
    account::InMemoryDefaultModeCaIndex inner_;
};

std::vector<StoredRow> ToRows(const std::vector<account::Change>& changes) {
    std::vector<StoredRow> rows;
    rows.reserve(changes.size());
    for (const auto& change : changes) {
        StoredRow row{change.kind, change.key, std::nullopt};
        if (change.value) {
            row.json = change.value->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

HttpResponse Refuse(int status, std::string_view type, std::string message) {
    HttpResponse response =
        ErrorResponse(account::AwsError{std::string(type), std::move(message), {}, {}});
    response.status = status;
    return response;
}

bool IsAccountId(std::string_view text) {
    return text.size() == 12 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// ---- HostedAccount ----------------------------------------------------------------------------

struct HostedAccount::Pending {
    std::vector<StoredRow> rows;
    std::promise<Status> done;
};

Result<std::shared_ptr<HostedAccount>> HostedAccount::Open(
    Options options, std::shared_ptr<const Clock> clock, std::shared_ptr<Random> random,
    std::shared_ptr<account::DefaultModeCaIndex> default_mode_index) {
    auto store = AccountStore::Open(options.database, options.durability);
    if (!store) {
        return Unexpected<Error>(store.error());
    }
    auto rows = (*store)->Load();
    if (!rows) {
        return Unexpected<Error>(rows.error());
    }
    std::vector<account::Change> changes;
    changes.reserve(rows->size());
    for (auto& row : *rows) {
        auto value = nlohmann::json::parse(*row.json, nullptr, false);
        if (value.is_discarded()) {
            return MakeError(ErrorCode::kInvalidArgument, options.database.string() + ": row " +
                                                              row.kind + "/" + row.key +
                                                              " is not JSON");
        }
        changes.push_back(account::Change{row.kind, row.key, std::move(value)});
    }
    if (!default_mode_index) {
        default_mode_index = std::make_shared<LockedDefaultModeCaIndex>();
    }
    std::shared_ptr<HostedAccount> hosted(
        new HostedAccount(std::move(options), std::move(clock), std::move(random),
                          std::move(default_mode_index), std::move(*store)));
    if (auto loaded = hosted->registry_.Load(changes); !loaded) {
        return MakeError(ErrorCode::kInvalidArgument,
                         hosted->options_.database.string() + ": " + loaded.error().message);
    }
    hosted->registry_.TakeChanges();  // Load() may mark rows; they are already on disk.
    hosted->registry_.TakeEffects();
    return hosted;
}

HostedAccount::HostedAccount(Options options, std::shared_ptr<const Clock> clock,
                             std::shared_ptr<Random> random,
                             std::shared_ptr<account::DefaultModeCaIndex> default_mode_index,
                             std::unique_ptr<AccountStore> store)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      random_(std::move(random)),
      default_mode_index_(std::move(default_mode_index)),
      store_(std::move(store)),
      registry_(options_.settings, *clock_, *random_, default_mode_index_.get()),
      committer_([this] { CommitLoop(); }) {}

HostedAccount::~HostedAccount() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_cv_.notify_all();
    committer_.join();
}

std::shared_ptr<HostedAccount::Pending> HostedAccount::Enqueue(std::vector<StoredRow> rows) {
    auto pending = std::make_shared<Pending>();
    pending->rows = std::move(rows);
    {
        std::lock_guard lock(queue_mutex_);
        queue_.push_back(pending);
    }
    queue_cv_.notify_one();
    return pending;
}

Status HostedAccount::Wait(const std::shared_ptr<Pending>& pending) {
    return pending->done.get_future().get();
}

void HostedAccount::CommitLoop() {
    auto log = Logger("control-plane");
    while (true) {
        std::vector<std::shared_ptr<Pending>> batch;
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) {
                return;
            }
            batch.swap(queue_);
        }
        std::vector<const std::vector<StoredRow>*> rows;
        rows.reserve(batch.size());
        for (const auto& pending : batch) {
            rows.push_back(&pending->rows);
        }
        Status status = store_->Apply(rows);
        if (!status) {
            // The registry already holds the change; memory and disk now differ until the
            // next successful write of the same rows. Loud, because it should never happen.
            log->error("commit failed account={} error={}", options_.settings.account_id,
                       status.error().message);
        }
        {
            std::lock_guard lock(queue_mutex_);
            ++transactions_;
            committed_requests_ += batch.size();
        }
        for (const auto& pending : batch) {
            pending->done.set_value(status);
        }
    }
}

std::pair<std::uint64_t, std::uint64_t> HostedAccount::CommitStats() const {
    std::lock_guard lock(queue_mutex_);
    return {transactions_, committed_requests_};
}

HttpResponse HostedAccount::Serve(const ParsedRequest& request, CertificateIssuer& issuer) {
    if (request.access == Access::kRead) {
        std::shared_lock lock(registry_mutex_);
        return Execute(request, registry_, issuer);
    }
    HttpResponse response;
    const Status committed = Run(
        [&](account::Registry& registry) { response = Execute(request, registry, issuer); },
        /*wait_for_commit=*/true);
    if (!committed) {
        return ErrorResponse(account::AwsError{std::string(et::kInternalFailure),
                                               "the change could not be made durable", {}, {}});
    }
    if (write_observer_ && response.status >= 200 && response.status < 300) {
        std::shared_lock lock(registry_mutex_);
        write_observer_(request.operation, response.body, registry_);
    }
    return response;
}

void HostedAccount::CollectEffects() {
    auto effects = registry_.TakeEffects();
    // Not emulated in the standalone server: effects (event publishes, disconnects) need the
    // broker; they are dropped there. The in-broker host keeps and drains them.
    if (!options_.keep_effects || effects.empty()) {
        return;
    }
    std::lock_guard lock(effects_mutex_);
    for (auto& effect : effects) {
        effects_.push_back(std::move(effect));
    }
}

Status HostedAccount::Run(const std::function<void(account::Registry&)>& work,
                          bool wait_for_commit) {
    std::shared_ptr<Pending> pending;
    {
        std::unique_lock lock(registry_mutex_);
        work(registry_);
        auto changes = registry_.TakeChanges();
        CollectEffects();
        if (!changes.empty()) {
            pending = Enqueue(ToRows(changes));
        }
    }
    if (pending && wait_for_commit) {
        return Wait(pending);
    }
    return {};
}

void HostedAccount::Read(const std::function<void(const account::Registry&)>& work) {
    std::shared_lock lock(registry_mutex_);
    work(registry_);
}

std::vector<account::Effect> HostedAccount::TakeEffects() {
    std::lock_guard lock(effects_mutex_);
    return std::exchange(effects_, {});
}

void HostedAccount::SetWriteObserver(WriteObserver observer) {
    write_observer_ = std::move(observer);
}

void HostedAccount::Tick() {
    (void)Run([](account::Registry& registry) { registry.Tick(); }, /*wait_for_commit=*/true);
}

// ---- ControlPlaneServer -----------------------------------------------------------------------

struct ControlPlaneServer::Impl {
    ServerOptions options;
    std::vector<std::shared_ptr<HostedAccount>> accounts;
    std::map<std::string, std::shared_ptr<HostedAccount>, std::less<>> by_id;
    std::shared_ptr<CertificateIssuer> issuer;
    std::shared_ptr<Random> random;
    std::unique_ptr<HttpFront> front;
    std::thread ticker;
    std::mutex tick_mutex;
    std::condition_variable tick_cv;
    bool stopping = false;
    std::shared_ptr<spdlog::logger> log = Logger("control-plane");
};

Result<std::unique_ptr<ControlPlaneServer>> ControlPlaneServer::Start(
    ServerOptions options, std::vector<std::shared_ptr<HostedAccount>> accounts,
    std::shared_ptr<CertificateIssuer> issuer, std::shared_ptr<Random> random) {
    if (accounts.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "control plane: no account to serve");
    }
    if (options.host.rfind("127.", 0) != 0 && options.host != "localhost") {
        return MakeError(ErrorCode::kInvalidArgument,
                         "listen: " + options.host + " is not a loopback address");
    }
    std::unique_ptr<ControlPlaneServer> server(new ControlPlaneServer());
    server->impl_ = std::make_unique<Impl>();
    Impl& impl = *server->impl_;
    impl.options = options;
    impl.accounts = std::move(accounts);
    for (const auto& account : impl.accounts) {
        impl.by_id[account->settings().account_id] = account;
    }
    impl.issuer = std::move(issuer);
    impl.random = std::move(random);

    // The front door reads requests without tying up a worker (http_front.hpp): slow or
    // half-open clients cannot starve the account's other callers.
    HttpFrontOptions front_options;
    front_options.host = options.host;
    front_options.port = options.port;
    front_options.workers = std::max(1, options.threads);
    front_options.keep_alive_timeout = options.keep_alive_timeout;
    front_options.request_timeout = options.request_timeout;
    front_options.max_body_bytes = 4 * kMaxBodyBytes;
    ControlPlaneServer* self = server.get();
    auto front = HttpFront::Start(front_options, [self](const HttpRequest& request) {
        HttpResponse response = self->Dispatch(request);
        if (!response.Header("Content-Type")) {
            response.headers.emplace_back("Content-Type", "application/json");
        }
        return response;
    });
    if (!front) {
        return Unexpected<Error>(front.error());
    }
    impl.front = std::move(*front);
    server->port_ = impl.front->port();
    // Time-driven registry work (claim-certificate and ownership-token expiry), once a second.
    impl.ticker = std::thread([&impl] {
        std::unique_lock lock(impl.tick_mutex);
        while (!impl.tick_cv.wait_for(lock, std::chrono::seconds{1}, [&] { return impl.stopping; })) {
            lock.unlock();
            for (const auto& account : impl.accounts) {
                account->Tick();
            }
            lock.lock();
        }
    });
    return server;
}

ControlPlaneServer::~ControlPlaneServer() { Stop(); }

void ControlPlaneServer::Stop() {
    if (!impl_) {
        return;
    }
    {
        std::lock_guard lock(impl_->tick_mutex);
        impl_->stopping = true;
    }
    impl_->tick_cv.notify_all();
    if (impl_->front) {
        impl_->front->Stop();
    }
    if (impl_->ticker.joinable()) {
        impl_->ticker.join();
    }
}

std::string ControlPlaneServer::endpoint() const {
    return "http://" + impl_->options.host + ":" + std::to_string(port_);
}

HttpResponse ControlPlaneServer::Dispatch(const HttpRequest& request) {
    Impl& impl = *impl_;
    const std::string request_id = impl.random->Uuid4();
    auto finish = [&](HttpResponse response) {
        response.headers.emplace_back("x-amzn-RequestId", request_id);
        return response;
    };

    // 1. Which account: the access key id (see the header comment for the mapping).
    std::shared_ptr<HostedAccount> account = impl.accounts.front();
    std::optional<Authorization> authorization;
    if (auto header = request.Header("Authorization")) {
        auto parsed = ParseAuthorization(*header);
        if (parsed) {
            authorization = std::move(*parsed);
        } else if (impl.options.verify_signatures) {
            return finish(Refuse(400, "IncompleteSignatureException", parsed.error().message));
        }
    }
    if (authorization && IsAccountId(authorization->access_key_id)) {
        auto it = impl.by_id.find(authorization->access_key_id);
        if (it == impl.by_id.end()) {
            return finish(Refuse(403, "UnrecognizedClientException",
                                 "The security token included in the request is invalid: account " +
                                     authorization->access_key_id + " is not hosted here"));
        }
        account = it->second;
    }

    // 2. Signature, when asked for.
    if (impl.options.verify_signatures) {
        if (!authorization) {
            return finish(Refuse(403, "MissingAuthenticationTokenException",
                                 "Missing Authentication Token"));
        }
        SignableRequest signable{request.method, request.raw_path, request.raw_query,
                                 request.headers, request.body};
        if (auto verified = VerifySignature(signable, *authorization, account->secret_access_key());
            !verified) {
            return finish(Refuse(403, "InvalidSignatureException",
                                 "The request signature we calculated does not match the "
                                 "signature you provided: " +
                                     verified.error().message));
        }
    }

    // 3. Route and run.
    auto parsed = ParseRequest(request);
    if (!parsed) {
        impl.log->debug("refused method={} path={} error={}", request.method, request.raw_path,
                        parsed.error().type);
        return finish(ErrorResponse(parsed.error()));
    }
    HttpResponse response = account->Serve(*parsed, *impl.issuer);
    impl.log->debug("request op={} account={} status={}", parsed->operation,
                    account->settings().account_id, response.status);
    return finish(std::move(response));
}

}  // namespace sim::controlplane
