// SPDX-License-Identifier: Apache-2.0
// The last MQTT rules, through the TLS tap preloaded into a real mosquitto with elsim_broker:
// keep-alive clamped to 30..1200 s, at most 8 filters per SUBSCRIBE, no SNI / another account's
// endpoint refused, QoS 2 and payloads over 128 KB closed before any answer (AWS IoT Core Developer
// Guide, 'Transport security in AWS IoT Core', 'MQTT'; AWS IoT Core endpoints and quotas). A raw
// TLS MQTT client (OpenSSL) controls every byte: keep-alive values, filter counts, SNI or none.
// Each rule is also run against the same plugin WITHOUT the tap, where it does not hold, so these
// tests can fail.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim/core/posix_io.hpp"
#include "sim/testing/mqtt_bytes.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/mosquitto_process.hpp"

namespace sim::broker {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sim::testing::CertFiles;
using sim::testing::TempDir;
using sim::testing::TestBroker;
using sim::testing::TestBrokerOptions;
using sim::testing::TestPki;
using Bytes = sim::testing::MqttBytes;
using sim::testing::AppendString;
using sim::testing::Packet;

constexpr const char* kOwnEndpoint = "limits0123456a-ats.iot.us-east-1.elsim.test";
constexpr const char* kOtherEndpoint = "other00123456a-ats.iot.us-east-1.elsim.test";

// ---- MQTT packets ----------------------------------------------------------------------------

// CONNECT, clean session, no will, no username: `level` 4 (3.1.1) or 5.
Bytes ConnectPacket(int level, std::uint16_t keepalive, const std::string& client_id) {
    Bytes body;
    AppendString(body, "MQTT");
    body.push_back(static_cast<std::uint8_t>(level));
    body.push_back(0x02);
    body.push_back(static_cast<std::uint8_t>(keepalive >> 8));
    body.push_back(static_cast<std::uint8_t>(keepalive & 0xff));
    if (level == 5) {
        body.push_back(0);  // no properties
    }
    AppendString(body, client_id);
    return Packet(0x10, body);
}

Bytes SubscribePacket(int level, int filters, const std::string& prefix) {
    Bytes body{0x00, 0x01};
    if (level == 5) {
        body.push_back(0);
    }
    for (int i = 0; i < filters; ++i) {
        AppendString(body, prefix + "/" + std::to_string(i));
        body.push_back(0x01);  // QoS 1
    }
    return Packet(0x82, body);
}

const Bytes kPingReq{0xC0, 0x00};

// PUBLISH of `payload_bytes` to `topic` with packet identifier 1 when qos > 0.
Bytes PublishPacket(int level, int qos, const std::string& topic, std::size_t payload_bytes) {
    Bytes body;
    AppendString(body, topic);
    if (qos > 0) {
        body.push_back(0x00);
        body.push_back(0x01);
    }
    if (level == 5) {
        body.push_back(0);  // no properties
    }
    body.insert(body.end(), payload_bytes, 'x');
    return Packet(static_cast<std::uint8_t>(0x30 | (qos << 1)), body);
}

// SUBSCRIBE of one filter at `qos`.
Bytes SubscribeQosPacket(int level, const std::string& filter, int qos) {
    Bytes body{0x00, 0x02};
    if (level == 5) {
        body.push_back(0);
    }
    AppendString(body, filter);
    body.push_back(static_cast<std::uint8_t>(qos));
    return Packet(0x82, body);
}

struct MqttPacket {
    std::uint8_t type = 0;  // high nibble of the first byte
    Bytes body;
};

// MQTT 5 property lengths (MQTT 5 §2.2.2.2); returns false on an unknown identifier.
bool SkipProperty(const Bytes& b, std::size_t& at, std::uint8_t id) {
    auto u16 = [&](std::size_t p) {
        return static_cast<std::size_t>((b.at(p) << 8) | b.at(p + 1));
    };
    switch (id) {
        case 0x01:
        case 0x17:
        case 0x19:
        case 0x24:
        case 0x25:
        case 0x28:
        case 0x29:
        case 0x2A:
            at += 1;
            return true;
        case 0x13:
        case 0x21:
        case 0x22:
        case 0x23:
            at += 2;
            return true;
        case 0x02:
        case 0x11:
        case 0x18:
        case 0x27:
            at += 4;
            return true;
        case 0x0B:
            while ((b.at(at++) & 0x80) != 0) {
            }
            return true;
        case 0x03:
        case 0x08:
        case 0x09:
        case 0x12:
        case 0x15:
        case 0x16:
        case 0x1A:
        case 0x1C:
        case 0x1F:
            at += 2 + u16(at);
            return true;
        case 0x26:
            at += 2 + u16(at);
            at += 2 + u16(at);
            return true;
        default:
            return false;
    }
}

// The Server Keep Alive property of an MQTT 5 CONNACK body, if present.
std::optional<std::uint16_t> ServerKeepAlive(const Bytes& connack) {
    std::size_t at = 2;
    std::size_t length = 0;
    int shift = 0;
    while (true) {
        const std::uint8_t byte = connack.at(at++);
        length |= static_cast<std::size_t>(byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) == 0) {
            break;
        }
    }
    const std::size_t end = at + length;
    while (at < end) {
        const std::uint8_t id = connack.at(at++);
        if (id == 0x13) {
            return static_cast<std::uint16_t>((connack.at(at) << 8) | connack.at(at + 1));
        }
        if (!SkipProperty(connack, at, id)) {
            ADD_FAILURE() << "unknown CONNACK property " << static_cast<int>(id);
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// The reason codes of a SUBACK body (after the packet id and, for MQTT 5, the properties).
Bytes SubackCodes(const MqttPacket& suback, int level) {
    std::size_t at = 2;
    if (level == 5) {
        std::size_t length = 0;
        int shift = 0;
        std::uint8_t byte = 0;
        do {
            byte = suback.body.at(at++);
            length |= static_cast<std::size_t>(byte & 0x7f) << shift;
            shift += 7;
        } while ((byte & 0x80) != 0);
        at += length;
    }
    return {suback.body.begin() + static_cast<long>(at), suback.body.end()};
}

// ---- a raw TLS MQTT client ---------------------------------------------------------------------

struct SslCtxDeleter {
    void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
struct SslDeleter {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

enum class Read { kPacket, kClosed, kTimeout };

// One mTLS connection to 127.0.0.1:port that sends exactly the bytes it is given (no PINGREQ of
// its own). `sni`: the TLS server name to send, or none at all.
class RawClient {
public:
    RawClient(std::uint16_t port, const fs::path& ca, const CertFiles& device,
              const std::optional<std::string>& sni) {
        ctx_.reset(SSL_CTX_new(TLS_client_method()));
        if (!ctx_ || SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr) != 1 ||
            SSL_CTX_use_certificate_file(ctx_.get(), device.cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx_.get(), device.key.c_str(), SSL_FILETYPE_PEM) != 1) {
            error_ = "client TLS set-up failed";
            return;
        }
        SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
            error_ = "TCP connect failed";
            return;
        }
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        timeval handshake_timeout{5, 0};  // bounded even if the broker never answers
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &handshake_timeout, sizeof(handshake_timeout));
        ssl_.reset(SSL_new(ctx_.get()));
        SSL_set_fd(ssl_.get(), fd_);
        if (sni) {
            SSL_set_tlsext_host_name(ssl_.get(), sni->c_str());
        }
        if (SSL_connect(ssl_.get()) != 1) {
            error_ = "TLS handshake failed";
            return;
        }
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    }
    ~RawClient() {
        ssl_.reset();
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    RawClient(RawClient&&) = delete;
    RawClient& operator=(RawClient&&) = delete;

    const std::string& error() const { return error_; }

    bool Send(const Bytes& bytes) {
        std::size_t sent = 0;
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (sent < bytes.size() && std::chrono::steady_clock::now() < deadline) {
            const int n =
                SSL_write(ssl_.get(), bytes.data() + sent, static_cast<int>(bytes.size() - sent));
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
                continue;
            }
            const int err = SSL_get_error(ssl_.get(), n);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                return false;
            }
            pollfd pfd{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
            ::poll(&pfd, 1, 100);
        }
        return sent == bytes.size();
    }

    // Waits up to `timeout` for one whole packet.
    Read ReadPacket(MqttPacket& out, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (TakePacket(out)) {
                return Read::kPacket;
            }
            if (closed_) {
                return Read::kClosed;
            }
            std::uint8_t chunk[4096];
            const int n = SSL_read(ssl_.get(), chunk, sizeof(chunk));
            if (n > 0) {
                buffer_.insert(buffer_.end(), chunk, chunk + n);
                continue;
            }
            const int err = SSL_get_error(ssl_.get(), n);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                closed_ = true;  // close_notify, reset or EOF
                ERR_clear_error();
                continue;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return Read::kTimeout;
            }
            pollfd pfd{fd_, POLLIN, 0};
            ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 200)));
        }
    }

    // Reads packets until the connection closes (true) or `timeout` passes (false).
    bool WaitClosed(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        MqttPacket ignored;
        while (std::chrono::steady_clock::now() < deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (ReadPacket(ignored, left) == Read::kClosed) {
                return true;
            }
        }
        return false;
    }

private:
    bool TakePacket(MqttPacket& out) {
        if (buffer_.size() < 2) {
            return false;
        }
        std::size_t length = 0;
        std::size_t at = 1;
        int shift = 0;
        for (;;) {
            if (at >= buffer_.size() || at > 4) {
                return false;
            }
            const std::uint8_t byte = buffer_[at++];
            length |= static_cast<std::size_t>(byte & 0x7f) << shift;
            shift += 7;
            if ((byte & 0x80) == 0) {
                break;
            }
        }
        if (buffer_.size() < at + length) {
            return false;
        }
        out.type = static_cast<std::uint8_t>(buffer_[0] >> 4);
        out.body.assign(buffer_.begin() + static_cast<long>(at),
                        buffer_.begin() + static_cast<long>(at + length));
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<long>(at + length));
        return true;
    }

    std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx_;
    std::unique_ptr<SSL, SslDeleter> ssl_;
    int fd_ = -1;
    Bytes buffer_;
    bool closed_ = false;
    std::string error_;
};

// ---- fixture ---------------------------------------------------------------------------------

class MqttLimitsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // The raw client writes with SSL_write to connections the tap closes mid-packet: the
        // write must fail with EPIPE, not end the test process.
        sim::IgnoreSigpipe();
    }

    void SetUp() override {
        ASSERT_FALSE(sim::world::FindTlsTap(ELSIM_BROKER_PLUGIN).empty())
            << "the TLS tap is not built beside " << ELSIM_BROKER_PLUGIN;
        pki_ = std::make_unique<TestPki>(dir_.path() / "pki");
        device_ = pki_->Device("device-1", "acme");
        tapped_ = StartBroker(ELSIM_BROKER_PLUGIN, "tapped");
        ASSERT_TRUE(tapped_->ok()) << tapped_->error();
        ASSERT_TRUE(tapped_->process().WaitForLog("tls_tap=yes", 2s)) << tapped_->Log();
    }

    std::unique_ptr<TestBroker> StartBroker(const fs::path& plugin, const std::string& name) {
        TestBrokerOptions options;
        options.plugin = plugin;
        options.plugin_options = {
            {"account_name", name}, {"mode", "explain"}, {"endpoint", kOwnEndpoint}};
        options.trusted_device_cas = {"acme"};
        return std::make_unique<TestBroker>(*pki_, dir_.path() / name, options);
    }

    // The same plugin from a directory without the tap beside it: no LD_PRELOAD.
    TestBroker& Untapped() {
        if (!untapped_) {
            const fs::path copy = dir_.path() / "untapped-plugin" / "elsim_broker.so";
            fs::create_directories(copy.parent_path());
            fs::copy_file(ELSIM_BROKER_PLUGIN, copy);
            untapped_ = StartBroker(copy, "untapped");
            EXPECT_TRUE(untapped_->ok()) << untapped_->error();
            EXPECT_TRUE(untapped_->process().WaitForLog("TLS tap not preloaded", 2s))
                << untapped_->Log();
        }
        return *untapped_;
    }

    std::unique_ptr<RawClient> Client(TestBroker& broker,
                                      const std::optional<std::string>& sni = "127.0.0.1") {
        auto client =
            std::make_unique<RawClient>(broker.port(), pki_->ServerCa().cert, device_, sni);
        EXPECT_EQ(client->error(), "");
        return client;
    }

    // Sends CONNECT and returns the CONNACK body (empty when none came: closed or timed out).
    static Bytes Connect(RawClient& client, int level, std::uint16_t keepalive,
                         const std::string& client_id, Read* how = nullptr) {
        EXPECT_TRUE(client.Send(ConnectPacket(level, keepalive, client_id)));
        MqttPacket packet;
        const Read read = client.ReadPacket(packet, 5s);
        if (how != nullptr) {
            *how = read;
        }
        if (read != Read::kPacket || packet.type != 2) {
            return {};
        }
        return packet.body;
    }

    TempDir dir_;
    std::unique_ptr<TestPki> pki_;
    CertFiles device_;
    std::unique_ptr<TestBroker> tapped_;
    std::unique_ptr<TestBroker> untapped_;
};

// ---- keep-alive ------------------------------------------------------------------------------

TEST_F(MqttLimitsTest, KeepAliveOfFiveSecondsIsClampedToThirtyOnlyWithTheTap) {
    auto clamped = Client(*tapped_);
    auto plain = Client(Untapped());
    const Bytes connack_clamped = Connect(*clamped, 4, 5, "silent-1");
    const Bytes connack_plain = Connect(*plain, 4, 5, "silent-2");
    ASSERT_EQ(connack_clamped, (Bytes{0x00, 0x00}));
    ASSERT_EQ(connack_plain, (Bytes{0x00, 0x00}));
    // Both stay silent. mosquitto drops a client after 1.5 x keep-alive, checked on a coarse
    // timer: a 5 s keep-alive is dropped after about 11 s (measured on 2.0.11), the 30 s AWS
    // grants after 45 s or more.
    MqttPacket packet;
    EXPECT_EQ(clamped->ReadPacket(packet, 15s), Read::kTimeout);
    EXPECT_TRUE(plain->WaitClosed(1s)) << "without the tap, keep-alive 5 s is dropped by now";
    // Still connected: a PINGREQ now is answered.
    ASSERT_TRUE(clamped->Send(kPingReq));
    ASSERT_EQ(clamped->ReadPacket(packet, 5s), Read::kPacket);
    EXPECT_EQ(packet.type, 13);  // PINGRESP
    EXPECT_TRUE(
        tapped_->process().WaitForLog("keepalive requested=5 granted=30 client_id=silent-1", 1s))
        << tapped_->Log();
    // mosquitto's own connection line shows the keep-alive it parsed.
    EXPECT_TRUE(tapped_->process().WaitForLog("as silent-1 (p2, c1, k30,", 1s));
    EXPECT_TRUE(Untapped().process().WaitForLog("as silent-2 (p2, c1, k5,", 1s));
}

TEST_F(MqttLimitsTest, Mqtt311KeepAliveZeroIsGranted1200) {
    auto client = Client(*tapped_);
    EXPECT_EQ(Connect(*client, 4, 0, "zero-1"), (Bytes{0x00, 0x00}));
    EXPECT_TRUE(tapped_->process().WaitForLog("keepalive requested=0 granted=1200", 1s))
        << tapped_->Log();
    // mosquitto's own connection line shows what it parsed. mosquitto 2.0.11 alone keeps 0 (no
    // keep-alive at all), even with max_keepalive 1200.
    EXPECT_TRUE(tapped_->process().WaitForLog("as zero-1 (p2, c1, k1200,", 1s)) << tapped_->Log();
    auto plain = Client(Untapped());
    EXPECT_EQ(Connect(*plain, 4, 0, "zero-2"), (Bytes{0x00, 0x00}));
    EXPECT_TRUE(Untapped().process().WaitForLog("as zero-2 (p2, c1, k0,", 1s));
}

TEST_F(MqttLimitsTest, Mqtt311KeepAliveAbove1200IsGranted1200) {
    auto client = Client(*tapped_);
    EXPECT_EQ(Connect(*client, 4, 3600, "long-1"), (Bytes{0x00, 0x00}));
    EXPECT_TRUE(tapped_->process().WaitForLog("keepalive requested=3600 granted=1200", 1s))
        << tapped_->Log();
    EXPECT_TRUE(tapped_->process().WaitForLog("as long-1 (p2, c1, k1200,", 1s));
    // mosquitto 2.0.11 alone, even with max_keepalive 1200, keeps an MQTT 3.1.1 client's 3600 s.
    auto plain = Client(Untapped());
    EXPECT_EQ(Connect(*plain, 4, 3600, "long-2"), (Bytes{0x00, 0x00}));
    EXPECT_TRUE(Untapped().process().WaitForLog("as long-2 (p2, c1, k3600,", 1s));
}

TEST_F(MqttLimitsTest, Mqtt5KeepAlive3600GetsServerKeepAlive1200) {
    auto client = Client(*tapped_);
    const Bytes connack = Connect(*client, 5, 3600, "v5-long");
    ASSERT_GE(connack.size(), 3u);
    EXPECT_EQ(connack[1], 0x00);
    EXPECT_EQ(ServerKeepAlive(connack), std::optional<std::uint16_t>{1200});
    EXPECT_TRUE(tapped_->process().WaitForLog("keepalive requested=3600 granted=1200", 1s));
}

TEST_F(MqttLimitsTest, Mqtt5KeepAliveFiveIsClampedToThirty) {
    auto client = Client(*tapped_);
    const Bytes connack = Connect(*client, 5, 5, "v5-short");
    ASSERT_GE(connack.size(), 3u);
    EXPECT_EQ(connack[1], 0x00);
    // Clamped before mosquitto parsed it: mosquitto saw 30 s, within its limit.
    EXPECT_EQ(ServerKeepAlive(connack), std::nullopt);
    EXPECT_TRUE(
        tapped_->process().WaitForLog("keepalive requested=5 granted=30 client_id=v5-short", 1s))
        << tapped_->Log();
    EXPECT_TRUE(tapped_->process().WaitForLog("as v5-short (p5, c1, k30,", 1s));
}

TEST_F(MqttLimitsTest, KeepAliveInsideTheRangeIsLeftAlone) {
    auto client = Client(*tapped_);
    EXPECT_EQ(Connect(*client, 4, 60, "sixty"), (Bytes{0x00, 0x00}));
    EXPECT_FALSE(tapped_->process().WaitForLog("keepalive requested=60", 300ms));
}

// ---- filters per SUBSCRIBE -------------------------------------------------------------------

TEST_F(MqttLimitsTest, SubscribeWithEightFiltersIsGranted) {
    for (const int level : {4, 5}) {
        auto client = Client(*tapped_);
        const std::string id = "eight-v" + std::to_string(level);
        ASSERT_FALSE(Connect(*client, level, 60, id).empty());
        ASSERT_TRUE(client->Send(SubscribePacket(level, 8, "dt/" + id)));
        MqttPacket suback;
        ASSERT_EQ(client->ReadPacket(suback, 5s), Read::kPacket);
        ASSERT_EQ(suback.type, 9);
        EXPECT_EQ(SubackCodes(suback, level), Bytes(8, 0x01)) << "level " << level;
    }
}

TEST_F(MqttLimitsTest, SubscribeWithNineFiltersClosesAnMqtt311Connection) {
    auto client = Client(*tapped_);
    ASSERT_FALSE(Connect(*client, 4, 60, "nine-311").empty());
    ASSERT_TRUE(client->Send(SubscribePacket(4, 9, "dt/nine")));
    // A denied subscribe on MQTT 3.1.1: SUBACK 0x80s may arrive, then the connection is closed
    // (kicked at the next TICK, ~100 ms).
    EXPECT_TRUE(client->WaitClosed(3s));
    EXPECT_TRUE(tapped_->process().WaitForLog("reason=too_many_filters", 1s)) << tapped_->Log();
}

TEST_F(MqttLimitsTest, SubscribeWithNineFiltersGets0x87PerFilterOnMqtt5) {
    auto client = Client(*tapped_);
    ASSERT_FALSE(Connect(*client, 5, 60, "nine-v5").empty());
    ASSERT_TRUE(client->Send(SubscribePacket(5, 9, "dt/nine")));
    MqttPacket suback;
    ASSERT_EQ(client->ReadPacket(suback, 5s), Read::kPacket);
    ASSERT_EQ(suback.type, 9);
    EXPECT_EQ(SubackCodes(suback, 5), Bytes(9, 0x87));
    // The connection stays up, and a later SUBSCRIBE of 8 is counted afresh.
    ASSERT_TRUE(client->Send(SubscribePacket(5, 8, "dt/eight")));
    ASSERT_EQ(client->ReadPacket(suback, 5s), Read::kPacket);
    EXPECT_EQ(SubackCodes(suback, 5), Bytes(8, 0x01));
}

TEST_F(MqttLimitsTest, WithoutTheTapNineFiltersAreGranted) {
    auto client = Client(Untapped());
    ASSERT_FALSE(Connect(*client, 4, 60, "nine-plain").empty());
    ASSERT_TRUE(client->Send(SubscribePacket(4, 9, "dt/nine")));
    MqttPacket suback;
    ASSERT_EQ(client->ReadPacket(suback, 5s), Read::kPacket);
    EXPECT_EQ(SubackCodes(suback, 4), Bytes(9, 0x01));
}

// ---- QoS 2 and payloads over 128 KB: closed before any answer --------------------------------

// The packet types a client receives after `packet` until the connection closes (or 5 s pass:
// then "timeout" is the last entry). A server that closes on a large packet's header may do so
// while the rest is still being written, so a failed send is not an answer: what was received
// before the close is read all the same.
std::vector<std::string> AnswersUntilClosed(RawClient& client, const Bytes& packet) {
    std::vector<std::string> answers;
    (void)client.Send(packet);  // its failure shows as the close read below
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
        MqttPacket answer;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        const Read read = client.ReadPacket(answer, std::max(left, 1ms));
        if (read == Read::kClosed) {
            return answers;
        }
        if (read == Read::kTimeout) {
            answers.emplace_back("timeout");
            return answers;
        }
        answers.push_back("type " + std::to_string(answer.type));
    }
}

struct RefusedCase {
    std::string name;
    int level;
    Bytes packet;
    std::string reason;
    std::string untapped_answer;  // what mosquitto alone answers first
};

class MqttLimitsRefusalTest : public MqttLimitsTest,
                              public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(MqttLimitsRefusalTest, ClosesBeforeAnyAnswerOnlyWithTheTap) {
    const auto& c = GetParam();
    auto client = Client(*tapped_);
    ASSERT_FALSE(Connect(*client, c.level, 60, "refused-" + c.name).empty());
    EXPECT_EQ(AnswersUntilClosed(*client, c.packet), std::vector<std::string>{});
    EXPECT_TRUE(tapped_->process().WaitForLog(
        "decision=deny action=close reason=" + c.reason + " client_id=refused-" + c.name, 2s))
        << tapped_->Log();
    // mosquitto alone answers the packet before the plugin's close (or keeps the connection).
    auto plain = Client(Untapped());
    ASSERT_FALSE(Connect(*plain, c.level, 60, "plain-" + c.name).empty());
    const auto answers = AnswersUntilClosed(*plain, c.packet);
    ASSERT_FALSE(answers.empty());
    EXPECT_EQ(answers.front(), c.untapped_answer);
}

INSTANTIATE_TEST_SUITE_P(
    Refused, MqttLimitsRefusalTest,
    ::testing::Values(
        RefusedCase{"Qos2PublishV311", 4, PublishPacket(4, 2, "dt/q2", 5), "qos2_not_supported",
                    "type 5"},  // PUBREC
        RefusedCase{"Qos2PublishV5", 5, PublishPacket(5, 2, "dt/q2", 5), "qos2_not_supported",
                    "type 5"},
        RefusedCase{"Qos2SubscribeV311", 4, SubscribeQosPacket(4, "cmd/q2", 2),
                    "qos2_not_supported", "type 9"},  // SUBACK
        RefusedCase{"Payload200KiBV311", 4, PublishPacket(4, 1, "dt/big", 200 * 1024),
                    "payload_too_large", "type 4"},  // PUBACK
        RefusedCase{"Payload200KiBV5", 5, PublishPacket(5, 1, "dt/big", 200 * 1024),
                    "payload_too_large", "type 4"},
        RefusedCase{"PayloadOneByteOver128KiBQos0", 4,
                    PublishPacket(4, 0, "dt/big", 128 * 1024 + 1), "payload_too_large",
                    "timeout"}),  // QoS 0: no answer, and mosquitto keeps the connection
    [](const auto& test_case) { return test_case.param.name; });

TEST_F(MqttLimitsTest, PayloadOfExactly128KiBIsAcknowledged) {
    for (const int level : {4, 5}) {
        auto client = Client(*tapped_);
        ASSERT_FALSE(Connect(*client, level, 60, "at-limit-" + std::to_string(level)).empty());
        ASSERT_TRUE(client->Send(PublishPacket(level, 1, "dt/at-limit", 128 * 1024)));
        MqttPacket puback;
        ASSERT_EQ(client->ReadPacket(puback, 5s), Read::kPacket) << "level " << level;
        EXPECT_EQ(puback.type, 4);
    }
}

// ---- SNI -------------------------------------------------------------------------------------

struct SniCase {
    std::string name;
    std::optional<std::string> sni;
    int level;
    bool accepted;
    std::string reason;  // logged in explain mode when refused
};

class MqttLimitsSniTest : public MqttLimitsTest, public ::testing::WithParamInterface<SniCase> {};

TEST_P(MqttLimitsSniTest, RefusesNoSniAndOtherAccountsEndpoint) {
    const auto& c = GetParam();
    auto client = Client(*tapped_, c.sni);
    Read how = Read::kTimeout;
    const Bytes connack = Connect(*client, c.level, 60, "sni-" + c.name, &how);
    if (c.accepted) {
        ASSERT_GE(connack.size(), 2u);
        EXPECT_EQ(connack[1], 0x00);
        return;
    }
    // Closed without CONNACK (Assumed: AWS refuses during TLS).
    EXPECT_TRUE(connack.empty());
    EXPECT_EQ(how, Read::kClosed);
    EXPECT_TRUE(tapped_->process().WaitForLog("reason=" + c.reason, 1s)) << tapped_->Log();
}

INSTANTIATE_TEST_SUITE_P(
    Sni, MqttLimitsSniTest,
    ::testing::Values(SniCase{"NoSniV311", std::nullopt, 4, false, "no_sni"},
                      SniCase{"NoSniV5", std::nullopt, 5, false, "no_sni"},
                      SniCase{"OtherAccountV311", kOtherEndpoint, 4, false, "sni_other_account"},
                      SniCase{"OtherAccountV5", kOtherEndpoint, 5, false, "sni_other_account"},
                      SniCase{"OwnEndpoint", kOwnEndpoint, 4, true, ""},
                      SniCase{"OwnEndpointV5", kOwnEndpoint, 5, true, ""},
                      SniCase{"IpLiteral", "127.0.0.1", 4, true, ""},
                      SniCase{"Localhost", "localhost", 5, true, ""}),
    [](const auto& test_case) { return test_case.param.name; });

TEST_F(MqttLimitsTest, WithoutTheTapNoSniIsAccepted) {
    auto client = Client(Untapped(), std::nullopt);
    EXPECT_EQ(Connect(*client, 4, 60, "no-sni-plain"), (Bytes{0x00, 0x00}));
}

}  // namespace
}  // namespace sim::broker
