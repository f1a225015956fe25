// SPDX-License-Identifier: Apache-2.0
#include "sim/world/mosquitto_process.hpp"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sim::world {
namespace bp = boost::process;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Runs in the child between fork and exec: the broker dies with the thread that started it,
// so a crashed test runner or supervisor leaves no orphan brokers (prctl PR_SET_PDEATHSIG).
struct DieWithParent : bp::extend::handler {
    template <class Executor>
    void on_exec_setup(Executor& /*exec*/) const {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // A supervisor blocks SIGTERM to sigwait() for it; the broker must not inherit that.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe): child
    }
};

bool IsExecutable(const fs::path& path) {
    return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

sim::Result<fs::path> FindMosquitto(const fs::path& configured) {
    if (!configured.empty()) {
        if (IsExecutable(configured)) {
            return configured;
        }
        return sim::MakeError(sim::ErrorCode::kNotFound,
                              "mosquitto executable not found: " + configured.string());
    }
    const auto found = bp::search_path("mosquitto");
    if (!found.empty()) {
        return fs::path(found.string());
    }
    if (IsExecutable("/usr/sbin/mosquitto")) {
        return fs::path("/usr/sbin/mosquitto");
    }
    return sim::MakeError(sim::ErrorCode::kNotFound,
                          "mosquitto not found on PATH nor in /usr/sbin (install mosquitto)");
}

fs::path FindTlsTap(const fs::path& plugin) {
    if (plugin.empty()) {
        return {};
    }
    std::error_code ec;
    const fs::path tap = plugin.parent_path() / kTlsTapFileName;
    return fs::is_regular_file(tap, ec) ? fs::absolute(tap, ec) : fs::path{};
}

bool PortAcceptsConnections(const std::string& host, std::uint16_t port,
                            std::chrono::milliseconds timeout) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
        return false;
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        pollfd pfd{fd, POLLOUT, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1) {
            int error = 0;
            socklen_t len = sizeof(error);
            ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
        }
    }
    ::close(fd);
    return ok;
}

struct MosquittoProcess::Impl {
    bp::ipstream err;
    bp::child child;
    std::thread reader;
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<std::string> lines;
    bool eof = false;
    std::optional<int> exit_code;
    std::ofstream log_file;

    void ReadLoop() {
        std::string line;
        while (std::getline(err, line)) {
            std::lock_guard lock(mutex);
            if (log_file.is_open()) {
                log_file << line << '\n';
                log_file.flush();
            }
            lines.push_back(line);
            changed.notify_all();
        }
        std::lock_guard lock(mutex);
        eof = true;
        changed.notify_all();
    }

    bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex);
        std::size_t checked = 0;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (; checked < lines.size(); ++checked) {
                if (lines[checked].find(needle) != std::string::npos) {
                    return true;
                }
            }
            if (eof) {
                return false;
            }
            if (changed.wait_until(lock, deadline) == std::cv_status::timeout &&
                checked == lines.size()) {
                return false;
            }
        }
    }

    std::string LogText() const {
        std::lock_guard lock(mutex);
        std::string text;
        for (const auto& l : lines) {
            text += l;
            text += '\n';
        }
        return text;
    }
};

MosquittoProcess::MosquittoProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

sim::Result<std::unique_ptr<MosquittoProcess>> MosquittoProcess::Start(
    const MosquittoOptions& options) {
    auto executable = FindMosquitto(options.executable);
    if (!executable) {
        return sim::Unexpected<sim::Error>(executable.error());
    }
    auto impl = std::make_unique<Impl>();
    if (!options.log_file.empty()) {
        impl->log_file.open(options.log_file, std::ios::app);
    }
    try {
        // The child's environment: ours, plus the preload (the TLS tap) in front of any
        // LD_PRELOAD we run with.
        bp::environment env = boost::this_process::environment();
        if (!options.preload.empty()) {
            std::string preload = options.preload.string();
            if (const auto inherited = env.find("LD_PRELOAD"); inherited != env.end()) {
                const std::string rest = inherited->to_string();
                if (!rest.empty()) {
                    preload += ":" + rest;
                }
            }
            env["LD_PRELOAD"] = preload;
        }
        impl->child = bp::child(executable->string(), "-c", options.config_file.string(),
                                bp::std_out > bp::null, bp::std_err > impl->err, bp::std_in.close(),
                                env, DieWithParent{});
    } catch (const std::exception& e) {
        return sim::MakeError(sim::ErrorCode::kUnavailable,
                              std::string("cannot start mosquitto: ") + e.what());
    }
    impl->reader = std::thread([raw = impl.get()] { raw->ReadLoop(); });
    std::unique_ptr<MosquittoProcess> process(new MosquittoProcess(std::move(impl)));

    const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
    const bool running = process->impl_->WaitForLog(" running", options.ready_timeout);
    bool ready = running;
    if (ready && options.port != 0) {
        ready = false;
        while (std::chrono::steady_clock::now() < deadline) {
            if (PortAcceptsConnections(options.host, options.port, 100ms)) {
                ready = true;
                break;
            }
            std::this_thread::sleep_for(2ms);
        }
    }
    if (!ready) {
        process->Stop(500ms);
        return sim::MakeError(
            sim::ErrorCode::kUnavailable,
            "mosquitto (" + options.config_file.string() + ") not ready: " +
                (running ? "port " + options.host + ":" + std::to_string(options.port) + " closed"
                         : "no 'running' line") +
                "; log:\n" + process->Log());
    }
    return process;
}

MosquittoProcess::~MosquittoProcess() {
    try {
        Stop();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
    }
}

int MosquittoProcess::Stop(std::chrono::milliseconds grace) {
    if (impl_->exit_code) {
        return *impl_->exit_code;
    }
    const pid_t pid = impl_->child.id();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    std::error_code ec;
    while (impl_->child.running(ec)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            break;
        }
        // Resent until it exits: see the header (startup race).
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 20 && impl_->child.running(ec); ++i) {
            std::this_thread::sleep_for(5ms);
        }
    }
    impl_->child.wait(ec);
    const int native = impl_->child.native_exit_code();
    impl_->exit_code = WIFSIGNALED(native) ? 128 + WTERMSIG(native) : impl_->child.exit_code();
    if (impl_->reader.joinable()) {
        impl_->reader.join();
    }
    return *impl_->exit_code;
}

int MosquittoProcess::Pid() const { return impl_->child.id(); }

bool MosquittoProcess::Running() {
    std::error_code ec;
    return !impl_->exit_code && impl_->child.running(ec);
}

std::string MosquittoProcess::Log() const { return impl_->LogText(); }

bool MosquittoProcess::WaitForLog(const std::string& needle,
                                  std::chrono::milliseconds timeout) const {
    return impl_->WaitForLog(needle, timeout);
}

}  // namespace sim::world
