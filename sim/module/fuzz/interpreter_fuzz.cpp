// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: random host bytes interleaved with random MQTT outcomes and timers drive
// the parser and the interpreter. Checks the invariants that keep a module alive: bounded
// queues, an answer for every complete line, EVENT pin = queue non-empty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "sim/module/interpreter.hpp"

namespace {

using sim::module::Apply;
using sim::module::Event;
using sim::module::EventBody;

std::shared_ptr<const sim::module::ModuleProfile> Profile() {
    static const auto profile = [] {
        auto p = std::make_shared<sim::module::ModuleProfile>();
        p->thing_name = "fuzzthing";
        p->certificate_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        p->staging_endpoint = "staging.elsim.test";
        p->root_ca_pem = p->certificate_pem;
        p->max_event = 8;
        p->max_messages = 4;
        p->max_topic = 4;
        p->confmode_available = true;
        return p;
    }();
    return profile;
}

void Check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto state = sim::module::PowerOn(Profile());
    sim::TimePoint now{std::chrono::seconds{1'700'000'000}};
    std::uint64_t last_request = 0;
    std::size_t i = 0;
    auto take = [&](std::size_t n) {
        n = std::min(n, size - i);
        std::string out(reinterpret_cast<const char*>(data + i), n);
        i += n;
        return out;
    };
    while (i < size) {
        const std::uint8_t op = data[i++];
        const std::size_t len = i < size ? data[i++] : 0;
        EventBody body;
        switch (op % 10) {
            case 0:
            case 1:
            case 2:
                body = sim::module::BytesReceived{take(len)};
                break;
            case 3:
                body = sim::module::MqttConnected{state.attempt - (len & 1)};
                break;
            case 4:
                body = sim::module::MqttConnectFailed{state.attempt, static_cast<int>(len % 8), take(len % 16)};
                break;
            case 5:
                body = sim::module::MqttConnectionLost{state.attempt, ""};
                break;
            case 6: {
                std::string topic = (len & 1) ? "fuzzthing/expresslink_config" : take(len % 32);
                body = sim::module::MqttMessage{state.attempt, std::move(topic), take(len)};
                break;
            }
            case 7:
                body = sim::module::MqttSubscribeResult{state.attempt,
                                                        (len & 2) ? last_request : state.registration_request,
                                                        (len & 1) != 0};
                break;
            case 8:
                body = sim::module::TimerFired{sim::module::TimerKind::kSleepWake, state.sleep_generation};
                break;
            default:
                if (len & 1) {
                    body = sim::module::ConfModeCompleted{};
                } else {
                    body = sim::module::PingResult{(len & 2) != 0, std::chrono::milliseconds{len}, take(len % 8)};
                }
                now += std::chrono::milliseconds{len * 100};
                break;
        }
        auto effects = Apply(state, Event{now, std::move(body)});
        for (const auto& effect : effects) {
            if (const auto* sub = std::get_if<sim::module::MqttSubscribe>(&effect)) {
                last_request = sub->request;
            }
            if (const auto* line = std::get_if<sim::module::WriteLine>(&effect)) {
                Check(line->line.find('\n') == std::string::npos);
                Check(line->line.find('\r') == std::string::npos);
            }
        }
        Check(state.events.Size() <= state.events.Capacity());
        Check(state.messages.size() <= Profile()->max_messages);
        Check(state.pending_lines.size() <= 16);
        Check(state.event_pin == !state.events.Empty());
    }
    return 0;
}
