// SPDX-License-Identifier: Apache-2.0
// The software module against a real mosquitto over mutual TLS, through the in-process API:
// CONNECT, SEND/SUBSCRIBE/GET round trip, CONLOST on a broker drop, and ERR14 hints 2-5; and
// against a TLS server of the test's own (OpenSSL) that fails one stage on purpose: the hint
// for each failure kind, and the SNI the server sees.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/module/clock_advance.hpp"
#include "sim/module/fleet.hpp"
#include "sim/module/mqtt_codec.hpp"

#ifndef SIM_MOSQUITTO_EXECUTABLE
#define SIM_MOSQUITTO_EXECUTABLE "mosquitto"
#endif

namespace sim::module {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kBrokerIp = "127.0.0.4";
constexpr const char* kHost = "broker.elsim.test";

std::uint16_t FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, kBrokerIp, &sa.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);
    return ntohs(sa.sin_port);
}

// RAII over one mosquitto process: config per test, ready on the "running" log line, SIGTERM
// repeated until it exits (a SIGTERM during mosquitto's start-up can be lost), log printed only on
// failure.
class Mosquitto {
public:
    Mosquitto(const fs::path& dir, const std::string& extra)
        : port_(FreePort()), log_(dir / "broker.log") {
        const fs::path conf = dir / "broker.conf";
        std::ofstream(conf) << "listener " << port_ << " " << kBrokerIp << "\n"
                            << "cafile " << (dir / "ca/root.pem").string() << "\n"
                            << "certfile " << (dir / "server/cert.pem").string() << "\n"
                            << "keyfile " << (dir / "server/key.pem").string() << "\n"
                            << "require_certificate true\nuse_identity_as_username false\n"
                            << "set_tcp_nodelay true\n"
                            << (::geteuid() == 0 ? "user root\n" : "") << extra;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed or killed test
            const std::string log = log_.string();
            std::freopen(log.c_str(), "w", stderr);  // NOLINT(cert-err33-c)
            std::freopen(log.c_str(), "a", stdout);  // NOLINT(cert-err33-c)
            ::execl(SIM_MOSQUITTO_EXECUTABLE, "mosquitto", "-c", conf.c_str(), nullptr);
            ::_exit(127);
        }
        for (int i = 0; i < 500 && !Running(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
    }
    ~Mosquitto() { Stop(); }
    Mosquitto(const Mosquitto&) = delete;
    Mosquitto& operator=(const Mosquitto&) = delete;

    bool Running() const {
        auto text = ReadFile(log_);
        return text && text->find(" running") != std::string::npos;
    }
    void Stop() {
        if (pid_ <= 0) {
            return;
        }
        for (int i = 0; i < 100; ++i) {
            ::kill(pid_, SIGTERM);
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    std::uint16_t port() const { return port_; }
    std::string Log() const { return ReadFile(log_).value_or(""); }

private:
    std::uint16_t port_;
    fs::path log_;
    pid_t pid_ = -1;
};

// A one-connection-at-a-time MQTT-over-TLS server on a real socket, with the fixture's server
// certificate, that fails the stage the test picks. It records the SNI of every handshake.
class FakeBroker {
public:
    enum class Mode {
        kAccept,          ///< CONNACK 0, SUBACK for every SUBSCRIBE.
        kRefuse,          ///< CONNACK 5 (not authorised).
        kDropAfterConnect, ///< Reads CONNECT, closes without CONNACK (a JITP first connect).
        kSilentPings,     ///< As kAccept, but PINGREQs get no PINGRESP.
        kSlowPings        ///< As kAccept, but each PINGRESP goes out kSlowPingDelay late.
    };
    static constexpr std::chrono::milliseconds kSlowPingDelay{200};

    FakeBroker(const fs::path& dir, Mode mode) : mode_(mode) {
        ctx_ = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate_chain_file(ctx_, (dir / "server/cert.pem").c_str());
        SSL_CTX_use_PrivateKey_file(ctx_, (dir / "server/key.pem").c_str(), SSL_FILETYPE_PEM);
        // Asks for the client certificate and accepts any: the stage under test comes later.
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
        SSL_CTX_set_tlsext_servername_callback(ctx_, &FakeBroker::OnServerName);
        SSL_CTX_set_tlsext_servername_arg(ctx_, this);
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        ::inet_pton(AF_INET, kBrokerIp, &sa.sin_addr);
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        ::listen(listen_fd_, 8);
        socklen_t len = sizeof sa;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        thread_ = std::thread([this] { Serve(); });
    }
    ~FakeBroker() {
        stop_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        thread_.join();
        ::close(listen_fd_);
        SSL_CTX_free(ctx_);
    }
    FakeBroker(const FakeBroker&) = delete;
    FakeBroker& operator=(const FakeBroker&) = delete;

    std::uint16_t port() const { return port_; }
    std::vector<std::string> ServerNames() {
        std::lock_guard lock(mutex_);
        return server_names_;
    }
    int PingRequests() const { return pings_.load(); }

private:
    static int OnServerName(SSL* ssl, int*, void* arg) {
        auto* self = static_cast<FakeBroker*>(arg);
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        std::lock_guard lock(self->mutex_);
        self->server_names_.emplace_back(name != nullptr ? name : "");
        return SSL_TLSEXT_ERR_OK;
    }

    void Serve() {
        while (!stop_) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                return;
            }
            timeval timeout{5, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
            SSL* ssl = SSL_new(ctx_);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) == 1) {
                Session(ssl);
            }
            ERR_clear_error();
            SSL_free(ssl);
            ::close(fd);
        }
    }

    void Session(SSL* ssl) {
        std::string in;
        char buffer[4096];
        bool connected = false;
        while (true) {
            auto next = mqtt::NextPacket(in, 1 << 20);
            if (!next) {
                return;
            }
            if (!*next) {
                const int n = SSL_read(ssl, buffer, sizeof buffer);
                if (n <= 0) {
                    return;
                }
                in.append(buffer, static_cast<std::size_t>(n));
                continue;
            }
            in.erase(0, (*next)->consumed);
            const auto& packet = (*next)->packet;
            std::string reply;
            if (!connected && packet.type == mqtt::PacketType::kConnect) {
                if (mode_ == Mode::kDropAfterConnect) {
                    return;
                }
                reply = mode_ == Mode::kRefuse ? std::string("\x20\x02\x00\x05", 4)
                                               : std::string("\x20\x02\x00\x00", 4);
                connected = true;
            } else if (packet.type == mqtt::PacketType::kSubscribe && packet.body.size() >= 2) {
                reply = std::string("\x90\x03", 2) + packet.body.substr(0, 2) + std::string(1, '\x01');
            } else if (packet.type == mqtt::PacketType::kPingReq) {
                ++pings_;
                if (mode_ == Mode::kSlowPings) {
                    std::this_thread::sleep_for(kSlowPingDelay);
                }
                if (mode_ != Mode::kSilentPings) {
                    reply = std::string("\xD0\x00", 2);
                }
            } else if (packet.type == mqtt::PacketType::kDisconnect) {
                return;
            }
            if (!reply.empty() && SSL_write(ssl, reply.data(), static_cast<int>(reply.size())) <= 0) {
                return;
            }
            if (mode_ == Mode::kRefuse && connected) {
                return;
            }
        }
    }

    Mode mode_;
    SSL_CTX* ctx_ = nullptr;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> pings_{0};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::string> server_names_;
};

class ModuleMqttTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("elsim-module-it-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        const auto now = std::chrono::system_clock::now();
        auto make = [&](const std::string& name, auto&& write) {
            auto staged = pki::StagedDirectory::Begin(dir_ / name, false);
            ASSERT_TRUE(staged) << staged.error().message;
            auto written = write(*staged);
            ASSERT_TRUE(written) << written.error().message;
            ASSERT_TRUE(staged->Commit());
        };
        std::optional<pki::CaChain> ca;
        std::optional<pki::CertificateAuthority> aws;
        make("ca", [&](auto& out) {
            auto r = pki::WriteCa(pki::CaOptions{}, now, out);
            if (r)
                ca = std::move(*r);
            return r;
        });
        make("aws", [&](auto& out) {
            auto r = pki::WriteAwsCa(pki::KeyType::kEcP256, pki::Days{30}, now, out);
            if (r)
                aws = std::move(*r);
            return r;
        });
        ASSERT_TRUE(ca && aws);
        make("modules", [&](auto& out) {
            pki::ModulesOptions options;
            options.count = 1;
            return pki::WriteModules(ca->issuing(), options, now, out);
        });
        make("server", [&](auto& out) {
            return pki::WriteServer(*aws, {kHost}, {kBrokerIp}, pki::KeyType::kEcP256,
                                    pki::Days{30}, now, out);
        });
        // A second CA the module does not trust as server root (hint 4).
        make("other", [&](auto& out) {
            return pki::WriteAwsCa(pki::KeyType::kEcP256, pki::Days{30}, now, out);
        });
    }
    void TearDown() override {
        fleet_.reset();
        broker_.reset();
        fake_.reset();
        fs::remove_all(dir_);
    }

    void StartBroker(const std::string& extra = "allow_anonymous true\n") {
        broker_ = std::make_unique<Mosquitto>(dir_, extra);
        ASSERT_TRUE(broker_->Running()) << broker_->Log();
    }

    std::shared_ptr<SoftwareModule> StartModule(const std::string& root_ca = "aws/root-ca.pem",
                                                std::shared_ptr<sim::WorldClock> clock = nullptr,
                                                int keep_alive_seconds = 60) {
        FleetOptions options;
        options.clock = std::move(clock);
        options.keep_alive_seconds = keep_alive_seconds;
        options.staging_endpoint = kHost;
        options.root_ca_file = (dir_ / root_ca).string();
        world::EndpointsMap map;
        const std::uint16_t port =
            fake_ ? fake_->port() : broker_ ? broker_->port() : FreePort();
        map.Add(kHost, world::ResolvedAddress{kBrokerIp, port});
        options.resolver = map.MakeResolver();
        options.state_dir = (dir_ / "state").string();
        auto identities = ListIdentities(dir_ / "modules");
        EXPECT_TRUE(identities && identities->size() == 1);
        auto fleet = Fleet::Start(options, *identities);
        EXPECT_TRUE(fleet) << fleet.error().message;
        fleet_ = std::move(*fleet);
        return fleet_->modules().at(0);
    }

    static std::string WaitEvent(SoftwareModule& module, const std::string& prefix) {
        for (int i = 0; i < 200; ++i) {
            auto got = module.Command("AT+EVENT?", std::chrono::seconds{5});
            if (!got.empty() && got[0].rfind(prefix, 0) == 0) {
                return got[0];
            }
            if (got == std::vector<std::string>{"OK"}) {
                std::this_thread::sleep_for(std::chrono::milliseconds{50});
            }
        }
        return "timeout waiting for " + prefix;
    }

    // A module with KeepAlive `keep_alive_seconds` on a frozen world clock (clock_, moved only
    // by the test), connected to the broker the test started.
    std::shared_ptr<SoftwareModule> ConnectOnFrozenClock(int keep_alive_seconds) {
        auto clock = sim::WorldClock::Create(dir_ / "clock", sim::ClockMode::kFrozen);
        if (!clock) {
            ADD_FAILURE() << clock.error().message;
            return nullptr;
        }
        clock_ = std::move(*clock);
        auto module = StartModule("aws/root-ca.pem", clock_, keep_alive_seconds);
        EXPECT_THAT(module->Command("AT+CONNECT"), ElementsAre("OK 1 CONNECTED"))
            << (broker_ ? broker_->Log() : "");
        return module;
    }

    // Every event queued so far, oldest first (AT+EVENT? until it answers a bare OK).
    static std::vector<std::string> QueuedEvents(SoftwareModule& module) {
        std::vector<std::string> events;
        for (int i = 0; i < 100; ++i) {
            auto got = module.Command("AT+EVENT?", std::chrono::seconds{5});
            if (got.empty() || got[0] == "OK") {
                break;
            }
            events.push_back(got[0]);
        }
        return events;
    }

    fs::path dir_;
    std::unique_ptr<Mosquitto> broker_;
    std::unique_ptr<FakeBroker> fake_;
    std::unique_ptr<Fleet> fleet_;
    std::shared_ptr<sim::WorldClock> clock_;
};

TEST_F(ModuleMqttTest, ConnectsSendsSubscribesAndGets) {
    StartBroker();
    auto module = StartModule();
    const std::string thing = module->profile().thing_name;
    EXPECT_THAT(module->Command("AT+CONNECT"), ElementsAre("OK 1 CONNECTED")) << broker_->Log();
    EXPECT_THAT(module->Command("AT+CONNECT?"), ElementsAre("OK 1 0 CONNECTED STAGING"));
    EXPECT_THAT(module->Command("AT+CONF Topic2=" + thing + "/echo"), ElementsAre("OK"));
    EXPECT_THAT(module->Command("AT+CONF QoS=1"), ElementsAre("OK"));
    EXPECT_THAT(module->Command("AT+SUBSCRIBE2"), ElementsAre("OK"));
    EXPECT_EQ(WaitEvent(*module, "OK 8 "), "OK 8 2 SUBACK");
    EXPECT_THAT(module->Command("AT+SEND2 ping\\Dpong"), ElementsAre("OK"));
    EXPECT_EQ(WaitEvent(*module, "OK 1 "), "OK 1 2 MSG");
    EXPECT_THAT(module->Command("AT+GET2"), ElementsAre("OK ping\\Dpong"));
    EXPECT_THAT(module->Command("AT+DISCONNECT"), ElementsAre("OK 0 DISCONNECTED"));
    EXPECT_EQ(WaitEvent(*module, "OK 3 "), "OK 3 0 CONLOST");
}

TEST_F(ModuleMqttTest, ConnectWritesNoTlsFiles) {
    // A fleet of 10,000 must not write (and fsync) files at connect: the TLS context is built in
    // memory from the Certificate and RootCA values and the birth key. The state directory
    // holds the module's persistent configuration only.
    StartBroker();
    auto module = StartModule();
    ASSERT_THAT(module->Command("AT+CONNECT"), ElementsAre("OK 1 CONNECTED")) << broker_->Log();
    std::vector<std::string> written;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "state")) {
        written.push_back(entry.path().filename().string());
    }
    for (const auto& name : written) {
        EXPECT_THAT(name, ::testing::EndsWith(".json")) << "written at connect: " << name;
    }
}

TEST_F(ModuleMqttTest, BrokerDropRaisesConlostThenHint3) {
    StartBroker();
    auto module = StartModule();
    ASSERT_THAT(module->Command("AT+CONNECT"), ElementsAre("OK 1 CONNECTED"));
    broker_->Stop();
    EXPECT_EQ(WaitEvent(*module, "OK 3 "), "OK 3 0 CONLOST");
    auto got = module->Command("AT+CONNECT");
    ASSERT_EQ(got.size(), 1U);
    EXPECT_THAT(got[0], StartsWith("ERR14 3 UNABLE TO CONNECT"));
    // Back-off: an immediate retry is refused with hint 1.
    EXPECT_THAT(module->Command("AT+CONNECT"),
                ElementsAre("ERR14 1 UNABLE TO CONNECT Back-off in progress"));
}

TEST_F(ModuleMqttTest, UntrustedServerIsHint4) {
    StartBroker();
    auto module = StartModule("other/root-ca.pem");
    auto got = module->Command("AT+CONNECT");
    ASSERT_EQ(got.size(), 1U);
    EXPECT_THAT(got[0], StartsWith("ERR14 4 UNABLE TO CONNECT"));
}

TEST_F(ModuleMqttTest, RefusedLoginIsHint5) {
    // No anonymous logins and no password file: CONNACK "not authorised".
    StartBroker("allow_anonymous false\n");
    auto module = StartModule();
    auto got = module->Command("AT+CONNECT");
    ASSERT_EQ(got.size(), 1U);
    EXPECT_THAT(got[0], StartsWith("ERR14 5 UNABLE TO CONNECT")) << broker_->Log();
}

TEST_F(ModuleMqttTest, NoNetworkIsHint2AndUnresolvedIsHint3) {
    StartBroker();
    auto module = StartModule();
    module->SetNetworkAvailable(false);
    EXPECT_THAT(module->Command("AT+CONNECT"),
                ElementsAre("ERR14 2 UNABLE TO CONNECT Failed to access network"));
    module->SetNetworkAvailable(true);
    EXPECT_THAT(module->Command("AT+CONF Endpoint=nowhere.elsim.test"), ElementsAre("OK"));
    std::this_thread::sleep_for(std::chrono::milliseconds{1300});  // back-off of 1 failure
    EXPECT_THAT(module->Command("AT+CONNECT"),
                ElementsAre("ERR14 3 UNABLE TO CONNECT Invalid Endpoint? cannot resolve "
                            "nowhere.elsim.test"));
}

// The hint comes from the stage that failed (PG-CMD 4.7.2.2), each against a real socket.
struct HintCase {
    const char* name;
    enum { kClosedPort, kWrongServerCa, kRefusedConnAck, kDroppedBeforeConnAck } failure;
    std::string expected;
};

class ModuleHintTest : public ModuleMqttTest, public ::testing::WithParamInterface<HintCase> {};

TEST_P(ModuleHintTest, HintFromTheFailingStage) {
    std::string root_ca = "aws/root-ca.pem";
    switch (GetParam().failure) {
        case HintCase::kClosedPort:
            break;  // nothing listens on the mapped port
        case HintCase::kWrongServerCa:
            fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kAccept);
            root_ca = "other/root-ca.pem";
            break;
        case HintCase::kRefusedConnAck:
            fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kRefuse);
            break;
        case HintCase::kDroppedBeforeConnAck:
            fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kDropAfterConnect);
            break;
    }
    auto module = StartModule(root_ca);
    auto got = module->Command("AT+CONNECT");
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ModuleHintTest,
    ::testing::Values(
        HintCase{"ClosedPort", HintCase::kClosedPort,
                 "ERR14 3 UNABLE TO CONNECT Failed to reach endpoint"},
        HintCase{"WrongServerCa", HintCase::kWrongServerCa,
                 "ERR14 4 UNABLE TO CONNECT Failed to securely authenticate with AWS"},
        HintCase{"RefusedConnAck", HintCase::kRefusedConnAck,
                 "ERR14 5 UNABLE TO CONNECT Failed to login AWS (MQTT) broker"},
        HintCase{"DroppedBeforeConnAck", HintCase::kDroppedBeforeConnAck,
                 "ERR14 4 UNABLE TO CONNECT Failed to securely authenticate with AWS"}),
    [](const ::testing::TestParamInfo<HintCase>& param_info) { return param_info.param.name; });

TEST_F(ModuleMqttTest, SendsTheEndpointHostAsSni) {
    // The TCP connection goes to the mapped address; the TLS server name is the Endpoint host.
    fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kAccept);
    auto module = StartModule();
    EXPECT_THAT(module->Command("AT+CONNECT"), ElementsAre("OK 1 CONNECTED"));
    EXPECT_THAT(fake_->ServerNames(), ElementsAre(kHost));
}

// Keep-alive runs on the fleet's clock: a frozen world clock sends no PINGREQ however long the
// real wait; advancing it by KeepAlive sends one, and settling the timers waits for its
// PINGRESP, so advancing by KeepAlive again does not find it unanswered.
TEST_F(ModuleMqttTest, KeepAliveRunsOnTheWorldClock) {
    fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kAccept);
    auto module = ConnectOnFrozenClock(1);
    ASSERT_TRUE(module);
    std::this_thread::sleep_for(std::chrono::milliseconds{2500});  // 2.5 keep-alives of real time
    EXPECT_EQ(fake_->PingRequests(), 0);
    for (int expected = 1; expected <= 2; ++expected) {
        ASSERT_TRUE(clock_->Advance(std::chrono::seconds{1}));
        ASSERT_TRUE(fleet_->timers().Settle(std::chrono::seconds{5}));
        for (int i = 0; i < 100 && fake_->PingRequests() < expected; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
        EXPECT_EQ(fake_->PingRequests(), expected);  // and Settle read its PINGRESP
    }
    EXPECT_THAT(module->Command("AT+CONNECT?"), ElementsAre("OK 1 0 CONNECTED STAGING"));
}

TEST_F(ModuleMqttTest, UnansweredPingLosesTheConnectionOnTheWorldClock) {
    auto clock = sim::WorldClock::Create(dir_ / "clock", sim::ClockMode::kFrozen);
    ASSERT_TRUE(clock) << clock.error().message;
    fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kSilentPings);
    auto module = StartModule("aws/root-ca.pem", *clock, 1);
    ASSERT_THAT(module->Command("AT+CONNECT"), ElementsAre("OK 1 CONNECTED"));
    ASSERT_TRUE((*clock)->Advance(std::chrono::seconds{1}));
    ASSERT_TRUE(fleet_->timers().Settle(std::chrono::seconds{5}));
    for (int i = 0; i < 100 && fake_->PingRequests() < 1; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    ASSERT_EQ(fake_->PingRequests(), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds{500});  // no PINGRESP in real time:
    EXPECT_THAT(module->Command("AT+CONNECT?"), ElementsAre("OK 1 0 CONNECTED STAGING"));
    ASSERT_TRUE((*clock)->Advance(std::chrono::seconds{1}));  // ...but one KeepAlive on the clock
    ASSERT_TRUE(fleet_->timers().Settle(std::chrono::seconds{5}));
    EXPECT_EQ(WaitEvent(*module, "OK 3 "), "OK 3 0 CONLOST");
}

// An advance stops at every keep-alive deadline on its way (as a scenario's `advance:` does) and
// each PINGREQ it causes is answered before world time moves on, however long (in real time)
// the broker takes: a healthy module stays connected across many intervals, whether they pass
// in one advance or in many small ones.
TEST_F(ModuleMqttTest, AdvanceAcrossKeepAlivesWaitsForEachPingResponse) {
    fake_ = std::make_unique<FakeBroker>(dir_, FakeBroker::Mode::kSlowPings);
    auto module = ConnectOnFrozenClock(1);
    ASSERT_TRUE(module);
    const auto stops = StopsOf(fleet_->timers(), std::chrono::seconds{5});
    const auto advanced = AdvanceThroughTimers(*clock_, std::chrono::seconds{10}, stops);
    ASSERT_TRUE(advanced) << advanced.error();
    EXPECT_EQ(fake_->PingRequests(), 10);
    for (int step = 0; step < 40; ++step) {
        const auto stepped = AdvanceThroughTimers(*clock_, std::chrono::milliseconds{250}, stops);
        ASSERT_TRUE(stepped) << stepped.error();
    }
    EXPECT_EQ(fake_->PingRequests(), 20);
    EXPECT_THAT(module->Command("AT+CONNECT?"), ElementsAre("OK 1 0 CONNECTED STAGING"));
    EXPECT_THAT(QueuedEvents(*module), Not(Contains(HasSubstr("CONLOST"))));
}

// The same against mosquitto: ten keep-alive intervals of world time in one advance, then ten
// more in steps of a sixth of one.
TEST_F(ModuleMqttTest, ModuleStaysConnectedToMosquittoAcrossKeepAlivesOfWorldTime) {
    StartBroker();
    auto module = ConnectOnFrozenClock(60);
    ASSERT_TRUE(module);
    const auto stops = StopsOf(fleet_->timers(), std::chrono::seconds{5});
    const auto advanced = AdvanceThroughTimers(*clock_, std::chrono::minutes{10}, stops);
    ASSERT_TRUE(advanced) << advanced.error();
    for (int step = 0; step < 60; ++step) {
        const auto stepped = AdvanceThroughTimers(*clock_, std::chrono::seconds{10}, stops);
        ASSERT_TRUE(stepped) << stepped.error();
    }
    EXPECT_THAT(module->Command("AT+CONNECT?"), ElementsAre("OK 1 0 CONNECTED STAGING"));
    EXPECT_THAT(QueuedEvents(*module), Not(Contains(HasSubstr("CONLOST")))) << broker_->Log();
}

}  // namespace
}  // namespace sim::module
