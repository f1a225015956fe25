// SPDX-License-Identifier: Apache-2.0
#pragma once
// One epoll thread per process that serves the sockets of every module of the process (a fleet
// of 10,000 modules needs one network thread, not 10,000), with a task queue other threads post
// to. Sources register by id: an event for a source removed earlier in the same wake-up is
// dropped, not delivered to freed memory.

#include <cstdint>
#include <functional>
#include <memory>

namespace sim::module {

class EventLoop {
public:
    /// Called on the loop thread with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLERR, ...).
    using Handler = std::function<void(std::uint32_t events)>;

    /// The process's loop, started on first use; it lives until the process exits.
    static EventLoop& Process();

    /// Runs `task` on the loop thread, after the tasks posted before it. Any thread.
    void Post(std::function<void()> task);
    /// True on the loop thread.
    bool InLoop() const;

    // Loop thread only. `id` is the caller's, unique among live sources.
    /// False (errno set) when epoll refuses the descriptor.
    bool Add(int fd, std::uint64_t id, std::uint32_t events, Handler handler);
    void Modify(int fd, std::uint64_t id, std::uint32_t events);
    /// Call before closing `fd`.
    void Remove(int fd, std::uint64_t id);
    /// A fresh id for Add.
    std::uint64_t NextId();

    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

private:
    EventLoop();
    ~EventLoop();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim::module
