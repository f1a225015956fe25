// SPDX-License-Identifier: Apache-2.0
#include "linked_module.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pki/certificate.hpp"
#include "sim/module/at_parser.hpp"

namespace sim::scenario {

namespace {

using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using namespace std::chrono_literals;

// ExpressLink Programmer's Guide, "Response timeout" (PG-CMD 4.6.2): every command answers
// within the module's maximum run time, never more than 120 s (AT+CONNECT included).
constexpr Millis kMaxExec{120'000};
// How long the lines an OK{n} announces may take after the first one.
constexpr Millis kMoreLines{5'000};

std::string Errno(const std::string& what) {
    return what + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
}

Millis Since(SteadyClock::time_point then) {
    return std::chrono::duration_cast<Millis>(SteadyClock::now() - then);
}

// A serial port (or pty) as the spec's UART: raw, 115200 baud, 8 data bits, no parity, 1 stop
// bit, no flow control (ExpressLink Programmer's Guide, "UART configuration", PG-CMD 4.1.1).
sim::Result<int, std::string> OpenTerminal(const std::string& path) {
    using R = sim::Result<int, std::string>;
    const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return R(sim::Unexpected<std::string>(Errno(path)));
    }
    if (::isatty(fd) != 1) {
        ::close(fd);
        return R(sim::Unexpected<std::string>(path + ": not a terminal (a serial port or pty)"));
    }
    termios tio{};
    if (::tcgetattr(fd, &tio) != 0) {
        auto error = Errno(path + ": tcgetattr");
        ::close(fd);
        return R(sim::Unexpected<std::string>(error));
    }
    ::cfmakeraw(&tio);
    tio.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB | CSTOPB | CRTSCTS);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    if (::cfsetispeed(&tio, B115200) != 0 || ::cfsetospeed(&tio, B115200) != 0 ||
        ::tcsetattr(fd, TCSANOW, &tio) != 0) {
        auto error = Errno(path + ": 115200 8N1 raw");
        ::close(fd);
        return R(sim::Unexpected<std::string>(error));
    }
    termios check{};
    ::tcgetattr(fd, &check);
    if (::cfgetospeed(&check) != B115200 || (check.c_cflag & CSIZE) != CS8 ||
        (check.c_cflag & (PARENB | CSTOPB | CRTSCTS)) != 0) {
        ::close(fd);
        return R(sim::Unexpected<std::string>(path + ": the port did not keep 115200 8N1 "
                                                     "without flow control"));
    }
    // Bytes already waiting (a boot banner, a late answer) are drained by Resynchronise.
    return fd;
}

sim::Result<int, std::string> ConnectTcp(const std::string& host, std::uint16_t port) {
    using R = sim::Result<int, std::string>;
    const std::string where = host + ":" + std::to_string(port);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return R(sim::Unexpected<std::string>(Errno("socket")));
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        auto error = Errno(where);
        ::close(fd);
        return R(sim::Unexpected<std::string>(error));
    }
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, 5000) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 ||
        error != 0) {
        ::close(fd);
        return R(sim::Unexpected<std::string>(
            where + ": " + (error != 0 ? std::strerror(error)  // NOLINT(concurrency-mt-unsafe)
                                       : "no connection within 5 s")));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace

sim::Result<std::unique_ptr<LinkedModule>, std::string> LinkedModule::Open(std::string name,
                                                                            const LinkSpec& spec,
                                                                            Recorder& recorder) {
    using R = sim::Result<std::unique_ptr<LinkedModule>, std::string>;
    auto fd = spec.kind == LinkSpec::Kind::kTcp ? ConnectTcp(spec.host, spec.port)
                                                : OpenTerminal(spec.path);
    if (!fd) {
        return R(sim::Unexpected<std::string>(ToString(spec) + ": " + fd.error()));
    }
    std::string via = ToString(spec);
    via = via.substr(via.find('=') + 1);
    std::unique_ptr<LinkedModule> module(new LinkedModule(std::move(name), via, *fd, recorder));
    recorder.Add(module->name_, EntryKind::kNote,
                 "linked over " + via +
                     (spec.kind == LinkSpec::Kind::kTcp
                          ? std::string()
                          : std::string(" (raw, 115200 8N1, no flow control)")) +
                     "; events are polled with AT+EVENT? (no EVENT pin over the link)");
    return module;
}

LinkedModule::LinkedModule(std::string name, std::string via, int fd, Recorder& recorder)
    : name_(std::move(name)), via_(std::move(via)), fd_(fd), recorder_(recorder) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        wake_[0] = wake_[1] = -1;
    }
    reader_ = std::thread([this] { ReadLoop(); });
}

LinkedModule::~LinkedModule() {
    stop_.store(true);
    const char c = 'q';
    [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
    reader_.join();
    ::close(fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
}

void LinkedModule::ReadLoop() {
    LineAssembler assembler;
    char buffer[4096];
    while (!stop_.load()) {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        if (::poll(fds, 2, 500) <= 0) {
            continue;
        }
        if (fds[1].revents != 0) {
            continue;  // stop_ is checked at the top.
        }
        const ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            // End of input (the other end closed) or an error: nothing more will come.
            std::lock_guard<std::mutex> lock(lines_mutex_);
            closed_ = true;
            arrived_.notify_all();
            return;
        }
        auto lines = assembler.Feed(std::string_view(buffer, static_cast<std::size_t>(n)));
        if (!lines.empty()) {
            std::lock_guard<std::mutex> lock(lines_mutex_);
            for (auto& line : lines) {
                lines_.push_back(std::move(line));
            }
            arrived_.notify_all();
        }
    }
}

bool LinkedModule::WriteLine(const std::string& line) {
    // LF alone ends a line on input (PG-CMD 4.2); a CR LF would be one EOL too.
    std::string bytes = line + "\n";
    std::string_view rest(bytes);
    const auto deadline = SteadyClock::now() + 5s;
    while (!rest.empty()) {
        const ssize_t n = ::write(fd_, rest.data(), rest.size());
        if (n > 0) {
            rest.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return false;
        }
        if (SteadyClock::now() >= deadline) {
            return false;
        }
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 100);
    }
    return true;
}

std::optional<std::string> LinkedModule::NextLine(Millis timeout) {
    std::unique_lock<std::mutex> lock(lines_mutex_);
    arrived_.wait_for(lock, timeout, [&] { return !lines_.empty() || closed_; });
    if (lines_.empty()) {
        return std::nullopt;
    }
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return line;
}

sim::Result<void, std::string> LinkedModule::Resynchronise() {
    std::lock_guard<std::mutex> lock(command_mutex_);
    return ResynchroniseLocked();
}

sim::Result<void, std::string> LinkedModule::ResynchroniseLocked() {
    const auto origin = SteadyClock::now();
    Resync resync;
    Resync::Step step = resync.Start(Millis{0});
    while (true) {
        switch (step.action) {
            case Resync::Action::kDone: {
                outstanding_.reset();
                std::string heard;
                for (const auto& line : resync.Drained()) {
                    if (heard.size() > 300) {
                        heard += ", ...";
                        break;
                    }
                    heard += (heard.empty() ? "" : ", ") + ("\"" + line + "\"");
                }
                recorder_.Add(name_, EntryKind::kNote,
                              "resynchronised in " + std::to_string(Since(origin).count()) +
                                  " ms (" + std::to_string(resync.AtsSent()) + " AT sent" +
                                  (heard.empty() ? std::string()
                                                 : "; the module was saying " + heard) +
                                  ")");
                return {};
            }
            case Resync::Action::kFail:
                recorder_.Add(name_, EntryKind::kNote, "cannot resynchronise: " + step.reason);
                return sim::Unexpected<std::string>(via_ + ": " + step.reason);
            case Resync::Action::kSendAt:
                if (!WriteLine("AT")) {
                    return sim::Unexpected<std::string>(Errno(via_ + ": write"));
                }
                [[fallthrough]];
            case Resync::Action::kWait: {
                auto line = NextLine(step.wait);
                {
                    std::lock_guard<std::mutex> lock(lines_mutex_);
                    if (closed_ && lines_.empty() && !line) {
                        return sim::Unexpected<std::string>(via_ + ": the link closed");
                    }
                }
                step = line ? resync.OnLine(*line, Since(origin)) : resync.OnTimeout(Since(origin));
                break;
            }
        }
    }
}

bool LinkedModule::Settle() {
    if (outstanding_) {
        const auto left = std::chrono::duration_cast<Millis>(outstanding_->deadline -
                                                             SteadyClock::now());
        auto late = NextLine(std::max(left, Millis{0}));
        if (late) {
            recorder_.Add(name_, EntryKind::kNote,
                          "late answer to " + outstanding_->line + " after " +
                              std::to_string(Since(outstanding_->sent).count()) + " ms: " + *late);
            for (std::size_t i = 1; i < module::ResponseLineCount(*late); ++i) {
                auto more = NextLine(kMoreLines);
                if (!more) {
                    break;
                }
                recorder_.Add(name_, EntryKind::kNote, "late answer, continued: " + *more);
            }
            outstanding_.reset();
        } else {
            recorder_.Add(name_, EntryKind::kNote,
                          "no answer to " + outstanding_->line + " within the spec's " +
                              std::to_string(kMaxExec.count() / 1000) + " s: resynchronising");
            if (!ResynchroniseLocked()) {
                return false;
            }
        }
    }
    // Lines nobody asked for (a module's log output, a second answer): recorded, not answers.
    std::deque<std::string> stray;
    {
        std::lock_guard<std::mutex> lock(lines_mutex_);
        stray.swap(lines_);
    }
    for (const auto& line : stray) {
        recorder_.Add(name_, EntryKind::kNote, "unsolicited line: " + line);
    }
    return true;
}

std::vector<std::string> LinkedModule::Exchange(const std::string& line, Millis timeout,
                                                bool quiet) {
    if (!Settle()) {
        recorder_.Add(name_, EntryKind::kNote, "not sent (the link is out of step): " + line);
        return {};
    }
    if (!quiet) {
        recorder_.Add(name_, EntryKind::kAtSend, line);
    }
    const auto sent = SteadyClock::now();
    if (!WriteLine(line)) {
        recorder_.Add(name_, EntryKind::kNote, Errno("write to " + via_));
        return {};
    }
    auto first = NextLine(timeout);
    if (!first) {
        // The answer may still come (up to the spec's limit): the next exchange waits for it.
        outstanding_ = Outstanding{line, sent, sent + kMaxExec};
        if (quiet) {
            recorder_.Add(name_, EntryKind::kAtSend, line);
        }
        recorder_.Add(name_, EntryKind::kAtAnswer,
                      "(no answer within " + std::to_string(timeout.count()) + " ms)");
        return {};
    }
    std::vector<std::string> lines{*first};
    const std::size_t expected = module::ResponseLineCount(*first);
    while (lines.size() < expected) {
        auto more = NextLine(kMoreLines);
        if (!more) {
            break;
        }
        lines.push_back(std::move(*more));
    }
    if (!quiet || lines.size() != 1 || lines.front() != "OK") {
        if (quiet) {
            recorder_.Add(name_, EntryKind::kAtSend, line);
        }
        for (const auto& answer : lines) {
            recorder_.Add(name_, EntryKind::kAtAnswer, answer);
        }
    }
    return lines;
}

std::vector<std::string> LinkedModule::At(const std::string& line, Millis timeout) {
    std::lock_guard<std::mutex> lock(command_mutex_);
    return Exchange(line, timeout, /*quiet=*/false);
}

std::optional<std::string> LinkedModule::PollEvent() {
    std::lock_guard<std::mutex> lock(command_mutex_);
    // Polled quietly: an empty queue's plain OK does not go to the timeline.
    auto lines = Exchange("AT+EVENT?", 5s, /*quiet=*/true);
    if (lines.empty()) {
        return std::nullopt;
    }
    if (lines.front() == "OK") {
        return std::string();
    }
    if (lines.front().rfind("OK ", 0) != 0) {
        return std::string();  // An error answer is in the timeline; no event.
    }
    recorder_.Add(name_, EntryKind::kEvent, lines.front());
    return lines.front();
}

sim::Result<std::string, std::string> LinkedModule::ReadPem(const std::string& key) {
    using R = sim::Result<std::string, std::string>;
    auto lines = At("AT+CONF? " + key + " pem", 10s);
    if (lines.empty() || lines.front().rfind("OK", 0) != 0) {
        return R(sim::Unexpected<std::string>(
            "AT+CONF? " + key + " pem: " +
            (lines.empty() ? std::string("no answer") : lines.front())));
    }
    std::string pem;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        pem += lines[i] + "\n";
    }
    return pem;
}

sim::Result<void, std::string> LinkedModule::WritePem(const std::string& key,
                                                      const std::string& pem) {
    std::lock_guard<std::mutex> lock(command_mutex_);
    if (!Settle()) {
        return sim::Unexpected<std::string>("the link is out of step");
    }
    const std::string command = "AT+CONF " + key + "=pem";
    recorder_.Add(name_, EntryKind::kAtSend, command + " (and the PEM lines)");
    if (!WriteLine(command)) {
        return sim::Unexpected<std::string>(Errno("write to " + via_));
    }
    std::size_t start = 0;
    while (start < pem.size()) {
        auto end = pem.find('\n', start);
        if (end == std::string::npos) {
            end = pem.size();
        }
        std::string line = pem.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty() && !WriteLine(line)) {
            return sim::Unexpected<std::string>(Errno("write to " + via_));
        }
        start = end + 1;
    }
    auto answer = NextLine(10s);
    recorder_.Add(name_, EntryKind::kAtAnswer, answer ? *answer : "(no answer within 10 s)");
    if (!answer || *answer != "OK") {
        return sim::Unexpected<std::string>(command + ": " + (answer ? *answer : "no answer"));
    }
    return {};
}

sim::Result<std::string, std::string> LinkedModule::MakeFactoryFresh() {
    using R = sim::Result<std::string, std::string>;
    if (auto s = Resynchronise(); !s) {
        return R(sim::Unexpected<std::string>(s.error()));
    }
    // A scenario starts with a factory-fresh module (ExpressLink Programmer's Guide,
    // "FACTORY_RESET": Endpoint and the other persistent keys marked so go back to their
    // factory values; the event queue is emptied and STARTUP queued).
    auto reset = At("AT+FACTORY_RESET", 10s);
    if (reset.empty() || reset.front() != "OK") {
        return R(sim::Unexpected<std::string>(
            "AT+FACTORY_RESET: " + (reset.empty() ? std::string("no answer") : reset.front())));
    }
    if (auto s = Resynchronise(); !s) {
        return R(sim::Unexpected<std::string>("after AT+FACTORY_RESET: " + s.error()));
    }
    if (auto s = ReadIdentity(); !s) {
        return R(sim::Unexpected<std::string>(s.error()));
    }
    auto endpoint = At("AT+CONF? Endpoint", 10s);
    if (endpoint.empty() || endpoint.front().rfind("OK ", 0) != 0) {
        return R(sim::Unexpected<std::string>(
            "AT+CONF? Endpoint: " +
            (endpoint.empty() ? std::string("no answer") : endpoint.front())));
    }
    return endpoint.front().substr(3);
}

sim::Result<void, std::string> LinkedModule::TrustRootCa(const std::string& root_pem) {
    auto current = ReadPem("RootCA");
    if (!current) {
        return sim::Unexpected<std::string>(current.error());
    }
    auto parsed_current = pki::ParseCertificatePem(*current);
    auto parsed_world = pki::ParseCertificatePem(root_pem);
    if (!parsed_world) {
        return sim::Unexpected<std::string>("the world's root CA: " + parsed_world.error().message);
    }
    if (parsed_current && parsed_current->certificate_id == parsed_world->certificate_id) {
        recorder_.Add(name_, EntryKind::kNote, "its RootCA is the world's server root already");
        return {};
    }
    recorder_.Add(name_, EntryKind::kNote,
                  "RootCA set to the world's server root (the old one is put back at the end)");
    if (auto s = WritePem("RootCA", root_pem); !s) {
        return s;
    }
    saved_root_ca_ = *current;
    return {};
}

void LinkedModule::RestoreRootCa() {
    if (!saved_root_ca_) {
        return;
    }
    if (auto s = WritePem("RootCA", *saved_root_ca_); !s) {
        recorder_.Add(name_, EntryKind::kNote, "could not put its RootCA back: " + s.error());
        return;
    }
    recorder_.Add(name_, EntryKind::kNote, "RootCA put back as it was before the scenario");
    saved_root_ca_.reset();
}

sim::Result<void, std::string> LinkedModule::ReadIdentity() {
    using R = sim::Result<void, std::string>;
    auto thing = At("AT+CONF? ThingName", 10s);
    if (thing.empty() || thing.front().rfind("OK ", 0) != 0) {
        return R(sim::Unexpected<std::string>(
            "AT+CONF? ThingName: " + (thing.empty() ? std::string("no answer") : thing.front())));
    }
    const std::string thing_name = thing.front().substr(3);
    auto pem = ReadPem("Certificate");
    if (!pem) {
        return R(sim::Unexpected<std::string>(pem.error()));
    }
    auto info = pki::ParseCertificatePem(*pem);
    if (!info) {
        return R(sim::Unexpected<std::string>("the certificate AT+CONF? Certificate pem gave: " +
                                              info.error().message));
    }
    certificate_.certificate_pem = info->pem;
    certificate_.certificate_id = info->certificate_id;
    certificate_.serial = info->serial_hex;
    certificate_.common_name = thing_name;
    const std::string cn = info->subject.Get("CN").value_or("");
    if (cn != thing_name) {
        recorder_.Add(name_, EntryKind::kNote,
                      "its certificate's CN (" + cn + ") is not its ThingName; ThingName used");
    }
    return {};
}

}  // namespace sim::scenario
