// SPDX-License-Identifier: Apache-2.0
#pragma once
// RunningWorld's state, shared by world.cpp (start and stop) and supervision.cpp (brokers that
// die, restarts).

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sim/world/address_lease.hpp"
#include "sim/world/mosquitto_process.hpp"
#include "sim/world/world.hpp"

namespace sim::world {

struct RunningWorld::Impl {
    // The block of addresses the accounts listen on, held until the brokers are stopped
    // (address_lease.hpp: a crash of this process releases it too). Declared first, so that it
    // is destroyed after the brokers.
    std::unique_ptr<AddressLease> lease;
    WorldState state;
    std::filesystem::path directory;

    // Guards everything below. Held while a broker is (re)started.
    mutable std::mutex mutex;
    std::vector<std::unique_ptr<MosquittoProcess>> brokers;  // one per state.accounts entry
    std::vector<MosquittoOptions> broker_options;              // how each was started
    std::vector<std::uint16_t> control_plane_ports;            // 0: none
    std::vector<std::vector<std::chrono::steady_clock::time_point>> restarts;
    std::vector<BrokerExit> exits;
    bool stopping = false;

    // The supervising thread (Supervise).
    std::thread supervisor;
    std::condition_variable supervisor_wake;

    void StopAll() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
            // Send the first SIGTERM to all of them before waiting on any: stops overlap.
            for (auto& broker : brokers) {
                if (broker && broker->Running()) {
                    ::kill(broker->Pid(), SIGTERM);
                }
            }
            for (auto& broker : brokers) {
                if (broker) {
                    broker->Stop();
                }
            }
            brokers.clear();
        }
        // Joined after the brokers stopped: brokers it restarted die with it (PDEATHSIG).
        supervisor_wake.notify_all();
        if (supervisor.joinable() && supervisor.get_id() != std::this_thread::get_id()) {
            supervisor.join();
        }
        lease.reset();
        std::error_code ec;
        std::filesystem::remove(directory / "world.pid", ec);
    }
};

// True once host:port accepts a TCP connection (polled every 5 ms up to `timeout`).
bool WaitForPort(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

// The supervisor's wait (`world up`, `world up --foreground`): supervises `world` on the calling
// thread until one of the signals in `set` (blocked by the caller) arrives; returns it.
int SuperviseUntilSignal(RunningWorld& world, const sigset_t& set);

}  // namespace sim::world
