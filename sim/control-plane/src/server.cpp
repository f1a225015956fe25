// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <utility>

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

void WriteResponse(const HttpResponse& response, httplib::Response& res) {
    res.status = response.status;
    std::string content_type = "application/json";
    for (const auto& [name, value] : response.headers) {
        if (name == "Content-Type") {
            content_type = value;
        } else {
            res.set_header(name, value);
        }
    }
    res.set_content(response.body, content_type);
}

// A refusal the HTTP library wrote before any handler ran (no x-amzn-ErrorType yet): a body over
// its payload limit (413), a method it routes nowhere (404), a request it could not read (400).
// Rewritten in AWS's error shape; the router's own replies are left alone.
// Assumed: AWS answers a body over the limit like any other too-large body (400
// InvalidRequestException), and any other unreadable request with InvalidRequestException.
void FrontDoorError(const httplib::Request& req, httplib::Response& res) {
    if (res.has_header("x-amzn-ErrorType")) {
        return;
    }
    HttpResponse response;
    if (res.status == 413) {
        response = Refuse(400, et::kInvalidRequest,
                          "request body is larger than " + std::to_string(kMaxBodyBytes) +
                              " bytes");
    } else if (res.status == 404) {
        response = Refuse(404, kUnknownOperation,
                          req.method + " " + req.path + " is not an operation of this API");
    } else {
        response = Refuse(res.status >= 500 ? res.status : 400,
                          res.status >= 500 ? et::kInternalFailure : et::kInvalidRequest,
                          "the request could not be read (HTTP " + std::to_string(res.status) +
                              ")");
    }
    WriteResponse(response, res);
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
    httplib::Server http;
    std::thread listener;
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

    const int threads = std::max(1, options.threads);
    impl.http.new_task_queue = [threads] {
        return new httplib::ThreadPool(static_cast<std::size_t>(threads));
    };
    impl.http.set_keep_alive_max_count(1'000'000);
    impl.http.set_keep_alive_timeout(options.keep_alive_timeout.count());
    impl.http.set_tcp_nodelay(true);
    impl.http.set_payload_max_length(4 * kMaxBodyBytes);
    impl.http.set_error_handler(
        [](const httplib::Request& req, httplib::Response& res) { FrontDoorError(req, res); });
    ControlPlaneServer* self = server.get();
    auto handler = [self](const httplib::Request& req, httplib::Response& res) {
        HttpRequest request;
        request.method = req.method;
        std::tie(request.raw_path, request.raw_query) = SplitTarget(req.target);
        for (const auto& [name, value] : req.headers) {
            request.headers.emplace_back(name, value);
        }
        request.body = req.body;
        WriteResponse(self->Dispatch(request), res);
    };
    impl.http.Get(".*", handler);
    impl.http.Post(".*", handler);
    impl.http.Put(".*", handler);
    impl.http.Patch(".*", handler);
    impl.http.Delete(".*", handler);

    if (options.port == 0) {
        server->port_ = impl.http.bind_to_any_port(options.host);
        if (server->port_ <= 0) {
            return MakeError(ErrorCode::kUnavailable, "listen: cannot bind " + options.host);
        }
    } else {
        if (!impl.http.bind_to_port(options.host, options.port)) {
            return MakeError(ErrorCode::kUnavailable, "listen: cannot bind " + options.host + ":" +
                                                          std::to_string(options.port));
        }
        server->port_ = options.port;
    }
    impl.listener = std::thread([&impl] { impl.http.listen_after_bind(); });
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
    while (!impl.http.is_running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
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
    impl_->http.stop();
    if (impl_->listener.joinable()) {
        impl_->listener.join();
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
        return finish(RefusalResponse(request, parsed.error()));
    }
    HttpResponse response = account->Serve(*parsed, *impl.issuer);
    impl.log->debug("request op={} account={} status={}", parsed->operation,
                    account->settings().account_id, response.status);
    return finish(std::move(response));
}

}  // namespace sim::controlplane
