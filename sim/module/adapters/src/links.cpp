// SPDX-License-Identifier: Apache-2.0
#include "sim/module/links.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "sim/core/net.hpp"
#include "sim/world/endpoints.hpp"

namespace sim::module {

namespace {

constexpr auto kByteTime = std::chrono::nanoseconds{1'000'000'000LL * 10 / 115200};

std::string Errno(const std::string& what) {
    return what + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Writes what the peer accepts now; the rest is dropped (a UART has no back-pressure).
void WriteSome(int fd, std::string_view bytes, bool pacing) {
    if (fd < 0) {
        return;
    }
    if (pacing) {
        std::this_thread::sleep_for(kByteTime * static_cast<long>(bytes.size()));
    }
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

// The module's output goes to whatever descriptor *out_fd holds when it writes.
void RouteOutput(SoftwareModule& module, std::shared_ptr<std::atomic<int>> out_fd, bool pacing) {
    module.SetOutput([out_fd = std::move(out_fd), pacing](std::string_view bytes) {
        WriteSome(out_fd->load(), bytes, pacing);
    });
}

}  // namespace

struct LinkServer::Impl {
    enum class Kind { kPty, kListen, kTcpClient, kStdin };
    struct Link {
        Kind kind;
        int fd;
        std::shared_ptr<SoftwareModule> module;
        std::shared_ptr<std::atomic<int>> out_fd;  // where this module's output goes
        int extra_fd = -1;                          // pty: our slave fd, kept open
    };

    bool pacing = false;
    std::mutex mutex;
    std::vector<Link> links;  // guarded by mutex; the I/O thread copies the poll set
    std::uint64_t generation = 0;  // guarded by mutex; bumped by every Add and Remove
    int wake_pipe[2] = {-1, -1};
    std::atomic<bool> stop{false};
    std::atomic<bool> stdin_closed{false};
    std::thread thread;

    void Add(Link link) {
        {
            std::lock_guard lock(mutex);
            links.push_back(std::move(link));
            ++generation;
        }
        const char c = 'w';
        [[maybe_unused]] auto n = ::write(wake_pipe[1], &c, 1);
    }

    void Run() {
        std::vector<char> buffer(64 * 1024);
        std::vector<pollfd> fds;
        std::vector<Link> snapshot;
        std::uint64_t snapshot_generation = ~std::uint64_t{0};  // none taken yet
        while (!stop.load()) {
            {
                // Copy the poll set only when a link came or went, not on every read: a fleet
                // has thousands of links and each copy touches every module's refcount.
                std::lock_guard lock(mutex);
                if (snapshot_generation != generation) {
                    snapshot = links;
                    snapshot_generation = generation;
                    fds.clear();
                    fds.push_back(pollfd{wake_pipe[0], POLLIN, 0});
                    for (const auto& link : snapshot) {
                        fds.push_back(pollfd{link.fd, POLLIN, 0});
                    }
                }
            }
            if (::poll(fds.data(), fds.size(), 500) <= 0) {
                continue;
            }
            if (fds[0].revents & POLLIN) {
                char drain[64];
                [[maybe_unused]] auto n = ::read(wake_pipe[0], drain, sizeof drain);
            }
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if (fds[i].revents == 0) {
                    continue;
                }
                Handle(snapshot[i - 1], fds[i].revents, buffer);
            }
        }
    }

    void Remove(int fd) {
        std::lock_guard lock(mutex);
        for (auto it = links.begin(); it != links.end(); ++it) {
            if (it->fd == fd) {
                links.erase(it);
                ++generation;
                return;
            }
        }
    }

    void Handle(const Link& link, short revents, std::vector<char>& buffer) {
        if (link.kind == Kind::kListen) {
            const int client = ::accept4(link.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (client < 0) {
                return;
            }
            int one = 1;
            ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const int old = link.out_fd->exchange(client);
            if (old >= 0) {
                Remove(old);
                ::close(old);
                link.module->DropLink();
            }
            Add(Link{Kind::kTcpClient, client, link.module, link.out_fd, -1});
            return;
        }
        const ssize_t n = ::read(link.fd, buffer.data(), buffer.size());
        if (n > 0) {
            if (pacing) {
                std::this_thread::sleep_for(kByteTime * n);
            }
            link.module->Receive(std::string(buffer.data(), static_cast<std::size_t>(n)));
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        // End of input or an error.
        if (link.kind == Kind::kTcpClient) {
            int expected = link.fd;
            link.out_fd->compare_exchange_strong(expected, -1);
            Remove(link.fd);
            ::close(link.fd);
            link.module->DropLink();  // A dropped link mid-command leaves no partial line.
        } else if (link.kind == Kind::kStdin) {
            Remove(link.fd);
            stdin_closed.store(true);
        } else if ((revents & (POLLHUP | POLLERR)) != 0) {
            // pty: we hold the slave open, so this should not happen; back off briefly.
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
    }
};

LinkServer::LinkServer(bool uart_pacing) : impl_(std::make_unique<Impl>()) {
    impl_->pacing = uart_pacing;
    if (::pipe2(impl_->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::runtime_error(Errno("link server: pipe"));
    }
    impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
}

LinkServer::~LinkServer() {
    impl_->stop.store(true);
    const char c = 'q';
    [[maybe_unused]] auto n = ::write(impl_->wake_pipe[1], &c, 1);
    impl_->thread.join();
    for (const auto& link : impl_->links) {
        link.module->SetOutput(nullptr);
        if (link.kind != Impl::Kind::kStdin) {
            ::close(link.fd);
        }
        if (link.extra_fd >= 0) {
            ::close(link.extra_fd);
        }
    }
    ::close(impl_->wake_pipe[0]);
    ::close(impl_->wake_pipe[1]);
}

Result<std::string> LinkServer::AttachPty(std::shared_ptr<SoftwareModule> module) {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) {
        return MakeError(ErrorCode::kIo, Errno("posix_openpt"));
    }
    char name[128];
    if (::grantpt(master) != 0 || ::unlockpt(master) != 0 ||
        ::ptsname_r(master, name, sizeof name) != 0) {
        auto error = Errno("pty setup");
        ::close(master);
        return MakeError(ErrorCode::kIo, error);
    }
    // Keep a slave descriptor open ourselves: the master then never sees a hang-up when a host
    // closes the port, and we can put the line in raw mode (no echo, no CR/LF translation).
    const int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        auto error = Errno(std::string("open ") + name);
        ::close(master);
        return MakeError(ErrorCode::kIo, error);
    }
    termios tio{};
    ::tcgetattr(slave, &tio);
    ::cfmakeraw(&tio);
    ::cfsetispeed(&tio, B115200);
    ::cfsetospeed(&tio, B115200);
    ::tcsetattr(slave, TCSANOW, &tio);
    SetNonBlocking(master);
    auto out_fd = std::make_shared<std::atomic<int>>(master);
    RouteOutput(*module, out_fd, impl_->pacing);
    impl_->Add(Impl::Link{Impl::Kind::kPty, master, std::move(module), out_fd, slave});
    return std::string(name);
}

Result<std::uint16_t> LinkServer::AttachTcp(std::shared_ptr<SoftwareModule> module,
                                            const std::string& ip, std::uint16_t port) {
    if (!sim::IsLoopbackIpv4(ip)) {
        return MakeError(ErrorCode::kInvalidArgument, "--tcp-host " + ip + ": loopback only");
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return MakeError(ErrorCode::kIo, Errno("socket"));
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4) != 0) {
        auto error = Errno("listen on " + ip + ":" + std::to_string(port));
        ::close(fd);
        return MakeError(ErrorCode::kUnavailable, error);
    }
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    auto out_fd = std::make_shared<std::atomic<int>>(-1);
    RouteOutput(*module, out_fd, impl_->pacing);
    impl_->Add(Impl::Link{Impl::Kind::kListen, fd, std::move(module), out_fd, -1});
    return static_cast<std::uint16_t>(ntohs(sa.sin_port));
}

Status LinkServer::AttachStdio(std::shared_ptr<SoftwareModule> module) {
    auto out_fd = std::make_shared<std::atomic<int>>(STDOUT_FILENO);
    RouteOutput(*module, out_fd, impl_->pacing);
    impl_->Add(Impl::Link{Impl::Kind::kStdin, STDIN_FILENO, std::move(module), out_fd, -1});
    return {};
}

bool LinkServer::Closed() const { return impl_->stdin_closed.load(); }

}  // namespace sim::module
