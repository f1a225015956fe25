// SPDX-License-Identifier: Apache-2.0
// Shared by the module core's unit tests: one ModuleState driven event by event through
// sim::module::Apply at a fixed test time, with the effects of its last event kept so a test
// can check what the interpreter asked its adapters to do.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/module/interpreter.hpp"

namespace sim::module {

class ModuleHarness {
public:
    explicit ModuleHarness(std::shared_ptr<const ModuleProfile> profile)
        : state_(PowerOn(std::move(profile))) {}

    // Applies one event; returns the lines the module wrote to the host.
    std::vector<std::string> Feed(EventBody body) {
        effects_ = Apply(state_, Event{now_, std::move(body)});
        std::vector<std::string> lines;
        for (const auto& effect : effects_) {
            if (const auto* w = std::get_if<WriteLine>(&effect)) {
                lines.push_back(w->line);
            }
        }
        return lines;
    }
    std::vector<std::string> Send(std::string bytes) {
        return Feed(BytesReceived{std::move(bytes)});
    }

    // The effects of type T of the last event.
    template <class T>
    std::vector<T> Effects() const {
        std::vector<T> out;
        for (const auto& effect : effects_) {
            if (const auto* e = std::get_if<T>(&effect)) {
                out.push_back(*e);
            }
        }
        return out;
    }

    // How many effects of the last event were not written lines.
    std::size_t SideEffects() const {
        std::size_t n = 0;
        for (const auto& effect : effects_) {
            n += std::holds_alternative<WriteLine>(effect) ? 0 : 1;
        }
        return n;
    }

    // Drives a blocking CONNECT to success through CONNACK and the registration SUBACK.
    void Connect() {
        ASSERT_TRUE(Send("AT+CONNECT\n").empty());
        auto connects = Effects<MqttConnect>();
        ASSERT_EQ(connects.size(), 1U);
        ASSERT_TRUE(Feed(MqttConnected{connects[0].attempt}).empty());
        auto subs = Effects<MqttSubscribe>();
        ASSERT_EQ(subs.size(), 1U);
        ASSERT_THAT(Feed(MqttSubscribeResult{subs[0].attempt, subs[0].request, true}),
                    ::testing::ElementsAre("OK 1 CONNECTED"));
    }

    // Pops queued events until `AT+EVENT?` answers a bare OK; a queue that never empties is a
    // failure, not a hang.
    void DrainEvents() {
        for (int i = 0; i < 64; ++i) {
            if (Send("AT+EVENT?\n") == std::vector<std::string>{"OK"}) {
                return;
            }
        }
        ADD_FAILURE() << "the event queue did not drain in 64 AT+EVENT? commands";
    }

    ModuleState& state() { return state_; }
    void Advance(std::chrono::milliseconds by) { now_ += by; }

private:
    ModuleState state_;
    sim::TimePoint now_{std::chrono::seconds{1'700'000'000}};
    std::vector<Effect> effects_;
};

}  // namespace sim::module
