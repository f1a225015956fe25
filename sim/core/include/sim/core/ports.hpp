// SPDX-License-Identifier: Apache-2.0
#pragma once
// Narrow ports through which cores see time and randomness. Adapters implement them
// (sim/core/adapters.hpp); tests use the fixed/seeded ones below.

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace sim {

using TimePoint = std::chrono::system_clock::time_point;

/// The world's clock. Wall time in production, virtual time that a scenario advances in tests.
/// Implementations are thread-safe.
class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint Now() const = 0;
};

/// A clock that moves only when told to: unit tests and virtual-time scenarios.
class ManualClock final : public Clock {
public:
    explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'700'000'000}})
        : now_(start) {}
    TimePoint Now() const override { return now_; }
    void Advance(std::chrono::milliseconds by) { now_ += by; }
    void Set(TimePoint at) { now_ = at; }

private:
    TimePoint now_;
};

/// Randomness for ids and tokens. Not for key material: keys come from OpenSSL's RNG.
class Random {
public:
    virtual ~Random() = default;
    virtual std::uint64_t Next64() = 0;
    /// `bytes` random bytes as lowercase hex.
    std::string Hex(std::size_t bytes);
    /// An RFC 4122 version-4 UUID string.
    std::string Uuid4();
};

/// A seeded generator: the same seed gives the same ids, so a scenario can be replayed.
class SeededRandom final : public Random {
public:
    explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
    std::uint64_t Next64() override { return engine_(); }

private:
    std::mt19937_64 engine_;
};

/// Epoch seconds with a fractional part, as AWS returns timestamps in JSON.
double ToEpochSeconds(TimePoint t);
/// Epoch milliseconds, as AWS puts in MQTT event payloads.
std::int64_t ToEpochMillis(TimePoint t);

}  // namespace sim
