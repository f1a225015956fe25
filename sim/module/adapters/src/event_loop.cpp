// SPDX-License-Identifier: Apache-2.0
#include "sim/module/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "sim/core/posix_io.hpp"

namespace sim::module {

namespace {
constexpr std::uint64_t kWakeId = 0;
}  // namespace

struct EventLoop::Impl {
    int epoll_fd = -1;
    int wake_fd = -1;
    std::mutex mutex;
    std::deque<std::function<void()>> tasks;
    bool woken = false;
    std::unordered_map<std::uint64_t, Handler> handlers;  // loop thread only
    std::uint64_t next_id = 1;                            // loop thread only
    std::thread::id thread_id;

    void Run() {
        constexpr int kBatch = 256;
        epoll_event events[kBatch];
        std::deque<std::function<void()>> batch;
        while (true) {
            const int n = ::epoll_wait(epoll_fd, events, kBatch, -1);
            if (n < 0 && errno != EINTR) {
                std::perror("elsim: module event loop: epoll_wait");
                std::abort();
            }
            for (int i = 0; i < n; ++i) {
                const std::uint64_t id = events[i].data.u64;
                if (id == kWakeId) {
                    std::uint64_t count = 0;
                    (void)!::read(wake_fd, &count, sizeof count);
                    continue;
                }
                const auto it = handlers.find(id);
                if (it == handlers.end()) {
                    continue;  // removed by an earlier handler of this batch
                }
                auto handler = it->second;  // the handler may remove itself
                handler(events[i].events);
            }
            {
                std::lock_guard lock(mutex);
                batch.swap(tasks);
                woken = false;
            }
            for (auto& task : batch) {
                task();
            }
            batch.clear();
        }
    }
};

EventLoop& EventLoop::Process() {
    // Never destroyed: modules and their timers may post to it until the process exits, and
    // its thread then ends with the process.
    static EventLoop* const loop = new EventLoop();
    return *loop;
}

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
    // A TLS write to a connection the server has just reset (a refused handshake, a dropped
    // client) must fail with EPIPE and be handled as that stage's failure, not end the process.
    sim::IgnoreSigpipe();
    impl_->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (impl_->epoll_fd < 0 || impl_->wake_fd < 0) {
        std::perror("elsim: module event loop");
        std::abort();
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kWakeId;
    ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, impl_->wake_fd, &event);
    std::thread thread([impl = impl_.get()] { impl->Run(); });
    impl_->thread_id = thread.get_id();
    thread.detach();
}

EventLoop::~EventLoop() = default;

void EventLoop::Post(std::function<void()> task) {
    bool wake = false;
    {
        std::lock_guard lock(impl_->mutex);
        impl_->tasks.push_back(std::move(task));
        wake = !impl_->woken;
        impl_->woken = true;
    }
    if (wake) {
        const std::uint64_t one = 1;
        (void)!::write(impl_->wake_fd, &one, sizeof one);
    }
}

bool EventLoop::InLoop() const { return std::this_thread::get_id() == impl_->thread_id; }

bool EventLoop::Add(int fd, std::uint64_t id, std::uint32_t events, Handler handler) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = id;
    if (::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        return false;
    }
    impl_->handlers[id] = std::move(handler);
    return true;
}

void EventLoop::Modify(int fd, std::uint64_t id, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = id;
    ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_MOD, fd, &event);
}

void EventLoop::Remove(int fd, std::uint64_t id) {
    ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    impl_->handlers.erase(id);
}

std::uint64_t EventLoop::NextId() { return impl_->next_id++; }

}  // namespace sim::module
