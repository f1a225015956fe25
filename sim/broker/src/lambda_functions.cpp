// SPDX-License-Identifier: Apache-2.0
// The Lambda stand-ins: a child process (posix_spawn, sockets for stdin/stdout so that a child
// that exits early never raises SIGPIPE here) or an HTTP POST to a loopback webhook.
#include "lambda_functions.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/core/adapters.hpp"
#include "sim/core/net.hpp"

extern char** environ;  // NOLINT: POSIX

namespace sim::broker {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Lambda's limit on a synchronous invocation's response payload (6 MB, "Lambda quotas").
constexpr std::size_t kMaxOutput = 6U * 1024U * 1024U;

sim::Unexpected<sim::Error> Invalid(std::string message) {
    return sim::MakeError(sim::ErrorCode::kInvalidArgument, std::move(message));
}

struct Url {
    std::string host;
    int port = 80;
    std::string path;
};

// http://<127.x.y.z>[:port][/path]. Only loopback addresses; no names.
sim::Result<Url> ParseUrl(std::string_view text) {
    constexpr std::string_view kScheme = "http://";
    if (text.substr(0, kScheme.size()) != kScheme) {
        return (Invalid("'" + std::string(text) + "' is not http://ADDRESS:PORT/PATH"));
    }
    std::string_view rest = text.substr(kScheme.size());
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    Url url;
    url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), url.port);
        if (ec != std::errc() || end != port.data() + port.size() || url.port < 1 ||
            url.port > 65535) {
            return (Invalid("'" + std::string(text) + "': bad port"));
        }
    }
    if (!sim::IsLoopbackIpv4(url.host)) {
        return (
            Invalid("'" + std::string(text) + "': the host must be an address in 127.0.0.0/8"));
    }
    return url;
}

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { Reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void Reset() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = -1;
    }

private:
    int fd_;
};

sim::Unexpected<sim::Error> Failed(std::string message) {
    return sim::MakeError(sim::ErrorCode::kUnavailable, std::move(message));
}

// Reaps `pid`; SIGKILLs it first when `kill_it`. The exit status, or -1 when unknown.
int Reap(pid_t pid, bool kill_it) {
    if (kill_it) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;  // ECHILD: reaped elsewhere (SIGCHLD ignored)
        }
    }
    return status;
}

sim::Result<std::string> RunCommand(const std::vector<std::string>& command,
                                    std::string_view input, Clock::time_point deadline,
                                    const std::atomic<bool>& cancel) {
    int in[2];
    int out[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
        return (Failed(std::string("socketpair: ") + std::strerror(errno)));
    }
    Fd in_parent(in[0]);
    Fd in_child(in[1]);
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) != 0) {
        return (Failed(std::string("socketpair: ") + std::strerror(errno)));
    }
    Fd out_parent(out[0]);
    Fd out_child(out[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_child.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_child.get(), STDOUT_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // The calling thread blocks every signal (AccountHost's workers): the child starts with
    // none blocked and default dispositions.
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv;
    for (const auto& arg : command) {
        argv.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: posix_spawn's signature
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int spawned =
        ::posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
        return (
            Failed("cannot run " + command.front() + ": " + std::strerror(spawned)));
    }
    in_child.Reset();
    out_child.Reset();

    std::size_t written = 0;
    std::string output;
    bool eof = false;
    bool timed_out = false;
    while (!eof) {
        const auto now = Clock::now();
        if (now >= deadline || cancel.load()) {
            timed_out = true;
            break;
        }
        pollfd fds[2] = {{out_parent.get(), POLLIN, 0}, {in_parent.get(), POLLOUT, 0}};
        const nfds_t count = in_parent.get() >= 0 ? 2 : 1;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        const int ready = ::poll(fds, count, static_cast<int>(std::min<long long>(left + 1, 50)));
        if (ready < 0 && errno != EINTR) {
            break;
        }
        if (count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            const ssize_t n = ::send(in_parent.get(), input.data() + written,
                                     input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
            }
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
                in_parent.Reset();  // EOF on the child's stdin (or it stopped reading)
            }
        }
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char buffer[65536];
            const ssize_t n = ::recv(out_parent.get(), buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) {
                output.append(buffer, static_cast<std::size_t>(n));
                if (output.size() > kMaxOutput) {
                    Reap(pid, true);
                    return (Failed("the output exceeds 6 MB"));
                }
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                eof = true;
            }
        }
    }
    if (timed_out) {
        Reap(pid, true);
        return (
            Failed(cancel.load() ? "cancelled at shutdown" : "timed out"));
    }
    // The child closed its standard output: it has exited or is about to; it still has until
    // the deadline.
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            break;
        }
        if (done < 0 && errno != EINTR) {
            status = 0;  // reaped elsewhere: judged by its output
            break;
        }
        if (Clock::now() >= deadline || cancel.load()) {
            Reap(pid, true);
            return (Failed("timed out"));
        }
        ::usleep(2000);
    }
    if (WIFSIGNALED(status)) {
        return (
            Failed("killed by signal " + std::to_string(WTERMSIG(status))));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        return (
            Failed("exited with status " + std::to_string(WEXITSTATUS(status))));
    }
    return output;
}

sim::Result<std::string> Post(const std::string& text, std::string_view input,
                              std::chrono::milliseconds limit) {
    auto url = ParseUrl(text);
    if (!url) {
        return sim::Unexpected<sim::Error>(url.error());
    }
    httplib::Client client(url->host, url->port);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(limit);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(limit - seconds);
    client.set_connection_timeout(seconds.count(), micros.count());
    client.set_read_timeout(seconds.count(), micros.count());
    client.set_write_timeout(seconds.count(), micros.count());
    const auto started = Clock::now();
    auto response = client.Post(url->path, std::string(input), "application/json");
    if (!response) {
        return (
            Failed(text + ": " + httplib::to_string(response.error())));
    }
    // Assumed: a webhook that answers after the limit failed as a Lambda that runs too long.
    if (Clock::now() - started > limit) {
        return (Failed("timed out"));
    }
    if (response->status != 200) {
        return (
            Failed(text + " answered HTTP " + std::to_string(response->status)));
    }
    if (response->body.size() > kMaxOutput) {
        return (Failed("the output exceeds 6 MB"));
    }
    return response->body;
}

}  // namespace

sim::Result<LambdaFunctions> ParseLambdaFunctions(const json& document) {
    if (!document.is_object() || !document.contains("functions") ||
        !document["functions"].is_array()) {
        return (Invalid("expected {\"functions\": [...]}"));
    }
    LambdaFunctions functions;
    std::size_t index = 0;
    for (const auto& entry : document["functions"]) {
        const std::string where = "functions[" + std::to_string(index++) + "]";
        if (!entry.is_object() || !entry.contains("arn") || !entry["arn"].is_string() ||
            entry["arn"].get<std::string>().empty()) {
            return (Invalid(where + ".arn: a non-empty string is required"));
        }
        LambdaFunction function;
        function.arn = entry["arn"].get<std::string>();
        const bool has_command = entry.contains("command");
        const bool has_url = entry.contains("url");
        if (has_command == has_url) {
            return (Invalid(where + ": exactly one of command and url"));
        }
        if (has_command) {
            const auto& command = entry["command"];
            if (!command.is_array() || command.empty()) {
                return (Invalid(where + ".command: a non-empty list of strings"));
            }
            for (const auto& arg : command) {
                if (!arg.is_string()) {
                    return (Invalid(where + ".command: a non-empty list of strings"));
                }
                function.command.push_back(arg.get<std::string>());
            }
        } else {
            if (!entry["url"].is_string()) {
                return (Invalid(where + ".url: a string is required"));
            }
            function.url = entry["url"].get<std::string>();
            if (auto url = ParseUrl(function.url); !url) {
                return (Invalid(where + ".url: " + url.error().message));
            }
        }
        if (!functions.emplace(function.arn, function).second) {
            return (Invalid(where + ".arn: " + function.arn + " appears twice"));
        }
    }
    return functions;
}

sim::Result<LambdaFunctions> LoadLambdaFunctions(const std::filesystem::path& file) {
    auto text = sim::ReadFile(file);
    if (!text) {
        return sim::Unexpected<sim::Error>(text.error());
    }
    const json document = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        return (Invalid(file.string() + ": not JSON"));
    }
    auto functions = ParseLambdaFunctions(document);
    if (!functions) {
        return (Invalid(file.string() + ": " + functions.error().message));
    }
    return functions;
}

sim::Result<std::string> InvokeLambda(const LambdaFunction& function, std::string_view input,
                                      std::chrono::milliseconds limit,
                                      const std::atomic<bool>& cancel) {
    if (!function.command.empty()) {
        return RunCommand(function.command, input, Clock::now() + limit, cancel);
    }
    return Post(function.url, input, limit);
}

}  // namespace sim::broker
