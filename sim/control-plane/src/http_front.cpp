// SPDX-License-Identifier: Apache-2.0
#include "http_front.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sim::controlplane {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kEndOfHead = "\r\n\r\n";
constexpr auto kSweepPeriod = std::chrono::milliseconds{100};

std::string_view Reason(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 413: return "Payload Too Large";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        default: return "Status";
    }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

bool IsToken(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

// The head of one request, parsed; or the status to refuse it with.
struct Head {
    HttpRequest request;  // method, target split, headers (no body yet)
    std::size_t content_length = 0;
    bool keep_alive = true;
    bool expect_continue = false;
    int refuse = 0;
};

Head ParseHead(std::string_view head, std::size_t max_body) {
    Head parsed;
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        parsed.refuse = 400;
        return parsed;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!IsToken(method) || target.empty() ||
        (version != "HTTP/1.1" && version != "HTTP/1.0")) {
        parsed.refuse = 400;
        return parsed;
    }
    parsed.request.method = std::string(method);
    std::tie(parsed.request.raw_path, parsed.request.raw_query) = SplitTarget(target);
    parsed.keep_alive = version == "HTTP/1.1";
    bool has_length = false;
    std::size_t start = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (start < head.size()) {
        auto end = head.find("\r\n", start);
        if (end == std::string_view::npos) {
            end = head.size();
        }
        const std::string_view field = head.substr(start, end - start);
        start = end + 2;
        const auto colon = field.find(':');
        if (colon == std::string_view::npos || !IsToken(field.substr(0, colon))) {
            parsed.refuse = 400;
            return parsed;
        }
        const std::string_view name = field.substr(0, colon);
        const std::string_view value = Trim(field.substr(colon + 1));
        if (EqualsIgnoreCase(name, "Content-Length")) {
            if (has_length || value.empty() || value.size() > 18 ||
                !std::all_of(value.begin(), value.end(),
                             [](char c) { return c >= '0' && c <= '9'; })) {
                parsed.refuse = 400;
                return parsed;
            }
            has_length = true;
            parsed.content_length = std::stoull(std::string(value));
        } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
            parsed.refuse = 411;
            return parsed;
        } else if (EqualsIgnoreCase(name, "Connection")) {
            if (EqualsIgnoreCase(value, "close")) {
                parsed.keep_alive = false;
            } else if (EqualsIgnoreCase(value, "keep-alive")) {
                parsed.keep_alive = true;
            }
        } else if (EqualsIgnoreCase(name, "Expect") && EqualsIgnoreCase(value, "100-continue")) {
            parsed.expect_continue = true;
        }
        parsed.request.headers.emplace_back(std::string(name), std::string(value));
    }
    if (parsed.content_length > max_body) {
        parsed.refuse = 413;
    }
    return parsed;
}

std::string Serialize(const HttpResponse& response, bool head_only, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
    out += Reason(response.status);
    out += "\r\n";
    bool has_type = false;
    for (const auto& [name, value] : response.headers) {
        if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Connection")) {
            continue;
        }
        has_type = has_type || EqualsIgnoreCase(name, "Content-Type");
        out += name + ": " + value + "\r\n";
    }
    if (!has_type) {
        out += "Content-Type: application/json\r\n";
    }
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!head_only) {
        out += response.body;
    }
    return out;
}

std::string Refusal(int status) {
    HttpResponse response;
    response.status = status;
    return Serialize(response, false, false);
}

struct Connection {
    enum class State { kReading, kBusy, kWriting };
    int fd = -1;
    State state = State::kReading;
    std::string in;
    std::string out;
    std::size_t written = 0;
    bool close_after = false;
    bool continue_sent = false;
    bool request_started = false;
    bool peer_closed = false;
    bool watched = true;  // in the epoll set
    Clock::time_point deadline;
};

struct Job {
    int fd;
    HttpRequest request;
    bool keep_alive;
};

struct Done {
    int fd;
    std::string bytes;
    bool keep_alive;
};

}  // namespace

struct HttpFront::Impl {
    HttpFrontOptions options;
    Handler handler;
    int listener = -1;
    int epoll = -1;
    int wake = -1;  // eventfd: finished responses, stop
    int port = 0;
    std::atomic<bool> stopping{false};
    std::thread io;
    std::vector<std::thread> workers;

    std::mutex jobs_mutex;
    std::condition_variable jobs_cv;
    std::deque<Job> jobs;
    bool workers_stop = false;

    std::mutex done_mutex;
    std::deque<Done> done;

    // Owned by the io thread.
    std::unordered_map<int, std::unique_ptr<Connection>> connections;
    Clock::time_point accept_paused_until{};

    ~Impl() {
        for (int fd : {listener, epoll, wake}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }

    // events 0: out of the epoll set (a busy connection must not report a hang-up over and
    // over while its request runs).
    void Watch(Connection& c, std::uint32_t events) const {
        if (events == 0) {
            if (c.watched) {
                ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
                c.watched = false;
            }
            return;
        }
        epoll_event event{};
        event.events = events;
        event.data.fd = c.fd;
        ::epoll_ctl(epoll, c.watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &event);
        c.watched = true;
    }

    void Close(int fd) {
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        connections.erase(fd);
    }

    void Accept() {
        for (;;) {
            const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    // Out of descriptors: stop accepting for a moment instead of spinning.
                    accept_paused_until = Clock::now() + kSweepPeriod;
                    epoll_event event{};
                    event.data.fd = listener;
                    ::epoll_ctl(epoll, EPOLL_CTL_MOD, listener, &event);
                }
                return;
            }
            if (connections.size() >= options.max_connections) {
                ::close(fd);
                continue;
            }
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto c = std::make_unique<Connection>();
            c->fd = fd;
            c->deadline = Clock::now() + options.keep_alive_timeout;
            epoll_event event{};
            event.events = EPOLLIN | EPOLLRDHUP;
            event.data.fd = fd;
            if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
                ::close(fd);
                continue;
            }
            connections.emplace(fd, std::move(c));
        }
    }

    // Queues `bytes` as the connection's response and starts writing it.
    void Respond(Connection& c, std::string bytes, bool keep_alive) {
        c.out = std::move(bytes);
        c.written = 0;
        c.close_after = !keep_alive || c.peer_closed;
        c.state = Connection::State::kWriting;
        c.deadline = Clock::now() + options.request_timeout;
        Write(c);
    }

    // Writes what the socket takes; on completion reads the next request (or closes).
    void Write(Connection& c) {
        while (c.written < c.out.size()) {
            const ssize_t n = ::send(c.fd, c.out.data() + c.written, c.out.size() - c.written,
                                     MSG_NOSIGNAL);
            if (n > 0) {
                c.written += static_cast<std::size_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                Watch(c, EPOLLOUT | EPOLLRDHUP);
                return;
            } else {
                Close(c.fd);
                return;
            }
        }
        c.out.clear();
        c.written = 0;
        if (c.close_after) {
            Close(c.fd);
            return;
        }
        c.state = Connection::State::kReading;
        c.request_started = !c.in.empty();
        c.deadline = Clock::now() +
                     (c.request_started ? options.request_timeout : options.keep_alive_timeout);
        Watch(c, EPOLLIN | EPOLLRDHUP);
        Parse(c);  // a pipelined request may be waiting
    }

    void Read(Connection& c) {
        std::array<char, 16 * 1024> buffer{};
        for (;;) {
            const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
            if (n > 0) {
                c.in.append(buffer.data(), static_cast<std::size_t>(n));
                if (c.in.size() > options.max_header_bytes + options.max_body_bytes + 4) {
                    break;  // Parse refuses it
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n == 0) {
                c.peer_closed = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                Close(c.fd);
                return;
            }
            break;
        }
        if (!c.request_started && !c.in.empty()) {
            c.request_started = true;
            c.deadline = Clock::now() + options.request_timeout;
        }
        const int fd = c.fd;
        Parse(c);
        // A peer that closed its side with no complete request pending gets nothing more.
        if (auto it = connections.find(fd); it != connections.end() &&
                                            it->second->peer_closed &&
                                            it->second->state == Connection::State::kReading) {
            Close(fd);
        }
    }

    // Hands a complete request to the workers, refuses a malformed one, or waits for more.
    void Parse(Connection& c) {
        if (c.state != Connection::State::kReading || c.in.empty()) {
            return;
        }
        const auto end = c.in.find(kEndOfHead);
        if (end == std::string::npos) {
            if (c.in.size() > options.max_header_bytes) {
                Respond(c, Refusal(431), false);
            }
            return;
        }
        if (end > options.max_header_bytes) {
            Respond(c, Refusal(431), false);
            return;
        }
        Head head = ParseHead(std::string_view(c.in).substr(0, end), options.max_body_bytes);
        if (head.refuse != 0) {
            Respond(c, Refusal(head.refuse), false);
            return;
        }
        const std::size_t total = end + kEndOfHead.size() + head.content_length;
        if (c.in.size() < total) {
            if (head.expect_continue && !c.continue_sent) {
                c.continue_sent = true;
                constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                (void)::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
            }
            return;
        }
        head.request.body = c.in.substr(end + kEndOfHead.size(), head.content_length);
        c.in.erase(0, total);
        c.continue_sent = false;
        c.request_started = false;
        c.state = Connection::State::kBusy;
        Watch(c, 0);
        {
            std::lock_guard lock(jobs_mutex);
            jobs.push_back(Job{c.fd, std::move(head.request), head.keep_alive});
        }
        jobs_cv.notify_one();
    }

    void TakeDone() {
        std::uint64_t count = 0;
        (void)::read(wake, &count, sizeof count);
        std::deque<Done> finished;
        {
            std::lock_guard lock(done_mutex);
            finished.swap(done);
        }
        for (auto& d : finished) {
            auto it = connections.find(d.fd);
            if (it != connections.end()) {
                Respond(*it->second, std::move(d.bytes), d.keep_alive);
            }
        }
    }

    // Closes connections past their deadline: a request that did not arrive whole in time gets
    // 408 first (best effort); idle keep-alive connections and stuck writes just close.
    void Sweep() {
        const auto now = Clock::now();
        if (accept_paused_until != Clock::time_point{} && now >= accept_paused_until) {
            accept_paused_until = {};
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.fd = listener;
            ::epoll_ctl(epoll, EPOLL_CTL_MOD, listener, &event);
        }
        std::vector<int> expired;
        for (const auto& [fd, c] : connections) {
            if (c->state != Connection::State::kBusy && now >= c->deadline) {
                expired.push_back(fd);
            }
        }
        for (int fd : expired) {
            Connection& c = *connections.at(fd);
            if (c.state == Connection::State::kReading && c.request_started) {
                const std::string bytes = Refusal(408);
                (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            }
            Close(fd);
        }
    }

    void Loop() {
        std::array<epoll_event, 256> events{};
        auto next_sweep = Clock::now() + kSweepPeriod;
        while (!stopping.load()) {
            const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()),
                                       static_cast<int>(kSweepPeriod.count()));
            for (int i = 0; i < n; ++i) {
                const int fd = events[static_cast<std::size_t>(i)].data.fd;
                const std::uint32_t what = events[static_cast<std::size_t>(i)].events;
                if (fd == listener) {
                    Accept();
                    continue;
                }
                if (fd == wake) {
                    TakeDone();
                    continue;
                }
                auto it = connections.find(fd);
                if (it == connections.end()) {
                    continue;
                }
                Connection& c = *it->second;
                if (c.state == Connection::State::kReading && (what & (EPOLLIN | EPOLLRDHUP |
                                                                       EPOLLHUP | EPOLLERR))) {
                    Read(c);
                } else if (c.state == Connection::State::kWriting) {
                    if (what & (EPOLLERR | EPOLLHUP)) {
                        Close(fd);
                    } else if (what & EPOLLOUT) {
                        Write(c);
                    }
                }
            }
            if (Clock::now() >= next_sweep) {
                Sweep();
                next_sweep = Clock::now() + kSweepPeriod;
            }
        }
    }

    void Work() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(jobs_mutex);
                jobs_cv.wait(lock, [&] { return workers_stop || !jobs.empty(); });
                if (workers_stop) {
                    return;
                }
                job = std::move(jobs.front());
                jobs.pop_front();
            }
            HttpResponse response;
            try {
                response = handler(job.request);
            } catch (const std::exception& e) {
                response = HttpResponse{};
                response.status = 500;
                response.headers.emplace_back("x-amzn-ErrorType", "InternalFailureException");
                response.body = std::string(R"({"message":"internal failure"})");
            }
            Done d{job.fd, Serialize(response, job.request.method == "HEAD", job.keep_alive),
                   job.keep_alive};
            {
                std::lock_guard lock(done_mutex);
                done.push_back(std::move(d));
            }
            const std::uint64_t one = 1;
            (void)::write(wake, &one, sizeof one);
        }
    }
};

HttpFront::HttpFront(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpFront::~HttpFront() { Stop(); }

int HttpFront::port() const { return impl_->port; }

Result<std::unique_ptr<HttpFront>> HttpFront::Start(const HttpFrontOptions& options,
                                                    Handler handler) {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->handler = std::move(handler);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(options.port));
    const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "listen: '" + options.host + "' is not an IPv4 address");
    }
    impl->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (impl->listener < 0 ||
        ::setsockopt(impl->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(impl->listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(impl->listener, 1024) != 0) {
        return MakeError(ErrorCode::kUnavailable,
                         "listen: cannot bind " + options.host + ":" +
                             std::to_string(options.port) + ": " +
                             std::error_code(errno, std::generic_category()).message());
    }
    socklen_t length = sizeof address;
    ::getsockname(impl->listener, reinterpret_cast<sockaddr*>(&address), &length);
    impl->port = ntohs(address.sin_port);
    impl->epoll = ::epoll_create1(EPOLL_CLOEXEC);
    impl->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (impl->epoll < 0 || impl->wake < 0) {
        return MakeError(ErrorCode::kUnavailable, "epoll/eventfd: " +
                                                      std::error_code(errno, std::generic_category())
                                                          .message());
    }
    for (int fd : {impl->listener, impl->wake}) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        ::epoll_ctl(impl->epoll, EPOLL_CTL_ADD, fd, &event);
    }
    Impl* raw = impl.get();
    for (int i = 0; i < std::max(1, options.workers); ++i) {
        raw->workers.emplace_back([raw] { raw->Work(); });
    }
    raw->io = std::thread([raw] { raw->Loop(); });
    return std::unique_ptr<HttpFront>(new HttpFront(std::move(impl)));
}

void HttpFront::Stop() {
    if (!impl_ || impl_->stopping.exchange(true)) {
        return;
    }
    const std::uint64_t one = 1;
    (void)::write(impl_->wake, &one, sizeof one);
    if (impl_->io.joinable()) {
        impl_->io.join();
    }
    {
        std::lock_guard lock(impl_->jobs_mutex);
        impl_->workers_stop = true;
    }
    impl_->jobs_cv.notify_all();
    for (auto& worker : impl_->workers) {
        worker.join();
    }
    for (const auto& [fd, c] : impl_->connections) {
        ::close(fd);
    }
    impl_->connections.clear();
}

}  // namespace sim::controlplane
