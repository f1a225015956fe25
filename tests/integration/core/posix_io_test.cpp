// SPDX-License-Identifier: Apache-2.0
// sim/core/posix_io.hpp against the real OS: pipes larger than their buffer, a signal that
// interrupts a blocked read (EINTR), closed and bad descriptors, and ports bound for real.
#include "sim/core/posix_io.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sim {
namespace {

struct Pipe {
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
            read_fd = fds[0];
            write_fd = fds[1];
        }
    }
    ~Pipe() {
        CloseRead();
        CloseWrite();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void CloseRead() {
        if (read_fd >= 0) {
            ::close(read_fd);
            read_fd = -1;
        }
    }
    void CloseWrite() {
        if (write_fd >= 0) {
            ::close(write_fd);
            write_fd = -1;
        }
    }
    int read_fd = -1;
    int write_fd = -1;
};

// Sizes around the pipe buffer (64 KiB on Linux): a blocking write of more than it completes
// only because WriteAll continues after short writes while a reader drains the pipe.
class WriteAllSizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(WriteAllSizes, EveryByteArrivesInOrder) {
    Pipe pipe;
    ASSERT_GE(pipe.read_fd, 0);
    std::string bytes(GetParam(), '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>(i * 7 + i / 256);
    }
    Result<std::string> received = std::string();
    std::thread reader([&] { received = ReadAll(pipe.read_fd); });
    const auto written = WriteAll(pipe.write_fd, bytes);
    pipe.CloseWrite();
    reader.join();
    ASSERT_TRUE(written.has_value()) << written.error().message;
    ASSERT_TRUE(received.has_value()) << received.error().message;
    EXPECT_EQ(*received, bytes);
}

INSTANTIATE_TEST_SUITE_P(Table, WriteAllSizes,
                         ::testing::Values(0, 1, 4095, 4096, 65536, 65537, 1 << 20));

TEST(WriteAll, ClosedReaderIsAnErrorNamingTheReason) {
    IgnoreSigpipe();  // the write must fail with EPIPE, not end the test process
    Pipe pipe;
    pipe.CloseRead();
    const auto written = WriteAll(pipe.write_fd, "x");
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().code, ErrorCode::kIo);
    EXPECT_EQ(written.error().message, "Broken pipe");
}

TEST(WriteAll, BadDescriptorIsAnError) {
    const auto written = WriteAll(-1, "x");
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().message, "Bad file descriptor");
    EXPECT_TRUE(WriteAll(-1, "").has_value()) << "nothing to write touches no descriptor";
}

TEST(WriteAll, FullNonBlockingPipeIsAnErrorNotALoop) {
    Pipe pipe;
    ASSERT_EQ(::fcntl(pipe.write_fd, F_SETFL, O_NONBLOCK), 0);
    const auto written = WriteAll(pipe.write_fd, std::string(1 << 20, 'x'));
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().code, ErrorCode::kIo);
}

struct ReadCase {
    const char* name;
    std::string contents;
    std::size_t limit;
    std::size_t expected_size;
};

class ReadAllLimits : public ::testing::TestWithParam<ReadCase> {};

TEST_P(ReadAllLimits, StopsAtEndOfFileOrPastTheLimit) {
    const auto& c = GetParam();
    Pipe pipe;
    std::thread writer([&] {
        EXPECT_TRUE(WriteAll(pipe.write_fd, c.contents).has_value());
        pipe.CloseWrite();
    });
    const auto text = ReadAll(pipe.read_fd, c.limit);
    pipe.CloseRead();
    writer.join();
    ASSERT_TRUE(text.has_value()) << text.error().message;
    EXPECT_EQ(text->size(), c.expected_size);
    EXPECT_EQ(*text, c.contents.substr(0, text->size()));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReadAllLimits,
    ::testing::Values(ReadCase{"Empty", "", 10, 0}, ReadCase{"UnderLimit", "hello", 10, 5},
                      ReadCase{"AtLimit", "0123456789", 10, 10},
                      // One read takes what the pipe holds (here all 20 bytes): more than the
                      // limit, so reading stops and the caller sees the excess.
                      ReadCase{"OverLimit", std::string(20, 'a'), 10, 20},
                      ReadCase{"ZeroLimit", "abc", 0, 3}),
    [](const ::testing::TestParamInfo<ReadCase>& p) { return std::string(p.param.name); });

TEST(ReadAll, BadDescriptorIsAnError) {
    const auto text = ReadAll(-1);
    ASSERT_FALSE(text.has_value());
    EXPECT_EQ(text.error().message, "Bad file descriptor");
}

std::atomic<int> g_signals{0};
void CountSignal(int) { g_signals.fetch_add(1); }

TEST(ReadAll, ASignalDuringABlockedReadIsRetried) {
    struct sigaction action {};
    action.sa_handler = CountSignal;
    action.sa_flags = 0;  // no SA_RESTART: the blocked read() returns EINTR
    sigemptyset(&action.sa_mask);
    struct sigaction previous {};
    ASSERT_EQ(::sigaction(SIGUSR1, &action, &previous), 0);
    Pipe pipe;
    std::atomic<bool> started{false};
    Result<std::string> text = std::string();
    std::thread reader([&] {
        started = true;
        text = ReadAll(pipe.read_fd);
    });
    while (!started) {
        std::this_thread::yield();
    }
    // Interrupt the reader until the handler has run at least once while it waits.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (g_signals.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ::pthread_kill(reader.native_handle(), SIGUSR1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::pthread_kill(reader.native_handle(), SIGUSR1);
    ASSERT_TRUE(WriteAll(pipe.write_fd, "after the signal").has_value());
    pipe.CloseWrite();
    reader.join();
    ::sigaction(SIGUSR1, &previous, nullptr);
    EXPECT_GE(g_signals.load(), 1);
    ASSERT_TRUE(text.has_value()) << text.error().message;
    EXPECT_EQ(*text, "after the signal");
}

TEST(FreeTcpPort, APortOnLoopbackCanBeBound) {
    const auto port = FreeTcpPort("127.0.0.1");
    ASSERT_TRUE(port.has_value()) << port.error().message;
    EXPECT_GT(*port, 0);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(*port);
    ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
}

struct BadAddress {
    const char* name;
    std::string address;
    ErrorCode code;
};

class FreeTcpPortRefuses : public ::testing::TestWithParam<BadAddress> {};

TEST_P(FreeTcpPortRefuses, WithAOneLineReason) {
    const auto port = FreeTcpPort(GetParam().address);
    ASSERT_FALSE(port.has_value());
    EXPECT_EQ(port.error().code, GetParam().code);
    EXPECT_NE(port.error().message.find(GetParam().address), std::string::npos)
        << port.error().message;
    EXPECT_EQ(port.error().message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Table, FreeTcpPortRefuses,
    ::testing::Values(BadAddress{"Empty", "", ErrorCode::kInvalidArgument},
                      BadAddress{"HostName", "localhost", ErrorCode::kInvalidArgument},
                      BadAddress{"ThreeParts", "127.0.1", ErrorCode::kInvalidArgument},
                      BadAddress{"OutOfRange", "127.0.0.256", ErrorCode::kInvalidArgument},
                      BadAddress{"Ipv6", "::1", ErrorCode::kInvalidArgument},
                      BadAddress{"TrailingSpace", "127.0.0.1 ", ErrorCode::kInvalidArgument},
                      // TEST-NET-1 (RFC 5737) is on no interface: bind() fails, nothing is sent.
                      BadAddress{"NotLocal", "192.0.2.1", ErrorCode::kUnavailable}),
    [](const ::testing::TestParamInfo<BadAddress>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace sim
