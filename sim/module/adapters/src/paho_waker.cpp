// SPDX-License-Identifier: Apache-2.0
#include "sim/module/paho_waker.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <mqtt/async_client.h>

namespace sim::module {

namespace {

// Counts PUBACKs (and failed publishes, so that the window never stays full); the counter
// travels as the token's user context.
class AckCounter final : public mqtt::iaction_listener {
public:
    void on_success(const mqtt::token& token) override { Count(token); }
    void on_failure(const mqtt::token& token) override { Count(token); }

private:
    static void Count(const mqtt::token& token) noexcept {
        if (auto* counter = static_cast<std::atomic<std::size_t>*>(token.get_user_context())) {
            ++*counter;
        }
    }
};

AckCounter& TheAckCounter() {
    static AckCounter counter;
    return counter;
}

}  // namespace

struct PahoWaker::Impl {
    std::unique_ptr<mqtt::async_client> client;
    std::string topic;
    std::chrono::milliseconds period{5};
    std::mutex mutex;
    std::condition_variable changed;
    int active = 0;
    bool stop = false;
    std::atomic<std::size_t> published{0};
    std::atomic<std::size_t> acknowledged{0};
    std::thread thread;

    void Run() {
        // At most a few unacknowledged publishes: the waker must never queue up behind a
        // busy broker (it is there to produce PUBACKs, not load).
        constexpr std::size_t kWindow = 4;
        std::unique_lock lock(mutex);
        while (!stop) {
            if (active == 0) {
                changed.wait(lock, [&] { return stop || active > 0; });
                continue;
            }
            lock.unlock();
            if (published.load() - acknowledged.load() < kWindow && client->is_connected()) {
                try {
                    client->publish(topic, "w", 1, 1, false, &acknowledged, TheAckCounter());
                    ++published;
                } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): next period.
                }
            }
            lock.lock();
            changed.wait_for(lock, period, [&] { return stop; });
        }
    }
};

sim::Result<std::unique_ptr<PahoWaker>> PahoWaker::Start(const PahoWakerOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->topic = options.topic;
    impl->period = options.period;
    try {
        impl->client = std::make_unique<mqtt::async_client>(
            options.uri, options.client_id, mqtt::create_options(MQTTVERSION_3_1_1));
    } catch (const std::exception& e) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "waker " + options.client_id + ": " + e.what());
    }
    Impl* raw = impl.get();
    // No ssl error_handler: Paho C++ 1.2 crashes in it (see paho_mqtt_port.cpp).
    auto ssl = mqtt::ssl_options_builder()
                   .trust_store(options.root_ca_file.string())
                   .key_store(options.certificate_file.string())
                   .private_key(options.private_key_file.string())
                   .enable_server_cert_auth(true)
                   .verify(true)
                   .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                   .finalize();
    const auto connect_options = mqtt::connect_options_builder()
                                     .mqtt_version(MQTTVERSION_3_1_1)
                                     .clean_session(true)
                                     .keep_alive_interval(std::chrono::seconds{60})
                                     .connect_timeout(options.connect_timeout)
                                     .automatic_reconnect(false)
                                     .ssl(std::move(ssl))
                                     .finalize();
    std::string last = "no attempt";
    for (int attempt = 1; attempt <= options.attempts; ++attempt) {
        if (attempt > 1) {
            std::this_thread::sleep_for(options.retry_after);
        }
        try {
            if (impl->client->connect(connect_options)->wait_for(options.connect_timeout)) {
                last.clear();
                break;
            }
            last = "no CONNACK";
        } catch (const std::exception& e) {
            last = e.what();
        }
    }
    if (!last.empty()) {
        return sim::MakeError(sim::ErrorCode::kUnavailable,
                              "waker " + options.client_id + ": cannot connect to " + options.uri +
                                  " (" + last + ")");
    }
    impl->thread = std::thread([raw] { raw->Run(); });
    return std::unique_ptr<PahoWaker>(new PahoWaker(std::move(impl)));
}

PahoWaker::PahoWaker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PahoWaker::~PahoWaker() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stop = true;
    }
    impl_->changed.notify_all();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
    try {
        if (impl_->client->is_connected()) {
            impl_->client->disconnect()->wait_for(std::chrono::seconds{2});
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): best effort at exit.
    }
}

void PahoWaker::Activate() {
    {
        std::lock_guard lock(impl_->mutex);
        ++impl_->active;
    }
    impl_->changed.notify_all();
}

void PahoWaker::Deactivate() {
    std::lock_guard lock(impl_->mutex);
    --impl_->active;
}

std::size_t PahoWaker::Published() const { return impl_->published.load(); }

std::size_t PahoWaker::Acknowledged() const { return impl_->acknowledged.load(); }

PahoWaker::Activation::Activation(PahoWaker* waker) : waker_(waker) {
    if (waker_ != nullptr) {
        waker_->Activate();
    }
}

PahoWaker::Activation::~Activation() {
    if (waker_ != nullptr) {
        waker_->Deactivate();
    }
}

}  // namespace sim::module
