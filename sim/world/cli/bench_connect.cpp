// SPDX-License-Identifier: Apache-2.0
// `elsim bench connect`: full mTLS connects per second (TCP + TLS 1.3 with a client certificate +
// MQTT CONNECT/CONNACK + DISCONNECT, no session resumption) against an account broker (mosquitto
// + elsim_broker hosting the account: registry lookup of the certificate, iot:Connect policy
// check) and against a bare mosquitto with the same TLS settings, in one run; then JITP first
// connects per second (each a new certificate under an SNI_ONLY CA with a template: registered,
// thing created, policy attached, connection closed without CONNACK).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "verbs.hpp"
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#if SIM_BENCH_WITH_ACCOUNT
#include "sim/account/template.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/posix_io.hpp"
#endif
#include "pki/authority.hpp"
#include "pki/capath.hpp"
#include "pki/profiles.hpp"
#include "sim/world/mosquitto_config.hpp"
#include "sim/world/mosquitto_process.hpp"

#ifndef SIM_BROKER_PLUGIN_DEFAULT_PATH
#define SIM_BROKER_PLUGIN_DEFAULT_PATH ""
#endif

namespace elsim {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct BenchArgs {
    double seconds = 3.0;
    int clients = 2;
    std::string plugin;
};

struct SslCtxDeleter {
    void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};

bool WriteFile(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    return static_cast<bool>(out);
}

// Bench certificates come from pki (EC P-256), valid for a day around now.
constexpr pki::Days kBenchDays{1};

sim::Result<pki::CertificateAuthority> BenchCa(const std::string& common_name) {
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    return pki::CertificateAuthority::CreateRoot(
        pki::RootCaSpec(pki::DistinguishedName{{{"O", "elsim"}, {"CN", common_name}}},
                        std::chrono::system_clock::now(), kBenchDays),
        *key);
}

struct BenchLeaf {
    std::string certificate_pem;
    std::string key_pem;
    std::string certificate_id;  // lowercase hex SHA-256 of the DER (pki::IssuedCertificate)
};

sim::Result<BenchLeaf> IssueLeaf(const pki::CertificateAuthority& ca, const pki::IssueSpec& spec) {
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    auto issued = ca.Issue(spec, *key);
    if (!issued) {
        return sim::Unexpected<sim::Error>(issued.error());
    }
    return BenchLeaf{issued->pem, key->PrivatePem(), issued->certificate_id};
}

// A client certificate: CN = `common_name`, EKU clientAuth.
sim::Result<BenchLeaf> IssueDevice(const pki::CertificateAuthority& ca,
                                   const std::string& common_name) {
    const auto now = std::chrono::system_clock::now();
    pki::IssueSpec spec;
    spec.subject.entries.emplace_back("CN", common_name);
    spec.not_before = now - pki::kBackdate;
    spec.not_after = now + kBenchDays;
    spec.eku = pki::ExtendedKeyUsage::kClientAuth;
    return IssueLeaf(ca, spec);
}

// An MQTT 3.1.1 CONNECT with clean session, keep-alive 60 s and `client_id`.
std::string ConnectPacket(const std::string& client_id) {
    std::string body;
    body += std::string("\x00\x04MQTT\x04\x02\x00\x3c", 10);
    body += static_cast<char>((client_id.size() >> 8) & 0xff);
    body += static_cast<char>(client_id.size() & 0xff);
    body += client_id;
    std::string packet(1, '\x10');
    packet += static_cast<char>(body.size());  // < 128 bytes: one length byte
    return packet + body;
}

// Opens a TCP connection to 127.0.0.1:`port` (TCP_NODELAY) with an SSL object on it (SNI
// "localhost", handshake not yet run) and returns what `session(ssl)` returns; false when the
// socket cannot be made or connected. Frees the SSL object and closes the socket after.
template <typename Session>
bool OverLoopbackTls(SSL_CTX* ctx, std::uint16_t port, Session&& session) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool result = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, "localhost");
        result = session(ssl);
        SSL_free(ssl);
    }
    ERR_clear_error();
    ::close(fd);
    return result;
}

// One full connect; true when CONNACK 0 arrived.
bool ConnectOnce(SSL_CTX* ctx, std::uint16_t port, const std::string& client_id) {
    return OverLoopbackTls(ctx, port, [&client_id](SSL* ssl) {
        if (SSL_connect(ssl) != 1) {
            return false;
        }
        const std::string packet = ConnectPacket(client_id);
        std::array<unsigned char, 4> connack{};
        int got = 0;
        if (SSL_write(ssl, packet.data(), static_cast<int>(packet.size())) ==
            static_cast<int>(packet.size())) {
            // With TLS 1.3 a refused client certificate shows up here, not in SSL_connect.
            while (got < 4) {
                const int n = SSL_read(ssl, connack.data() + got, 4 - got);
                if (n <= 0) {
                    break;
                }
                got += n;
            }
        }
        const bool ok = got == 4 && connack[0] == 0x20 && connack[3] == 0;
        if (ok) {
            constexpr std::array<char, 2> kDisconnect = {'\xe0', '\x00'};
            SSL_write(ssl, kDisconnect.data(), static_cast<int>(kDisconnect.size()));
        }
        return ok;
    });
}

// One JITP first connect with its own certificate: true when the broker closed the
// connection without CONNACK (what AWS does after auto-registering, as devices observe it).
bool FirstConnectOnce(SSL_CTX* ctx, std::uint16_t port, X509* cert, EVP_PKEY* key,
                      const std::string& client_id) {
    return OverLoopbackTls(ctx, port, [&](SSL* ssl) {
        if (SSL_use_certificate(ssl, cert) != 1 || SSL_use_PrivateKey(ssl, key) != 1 ||
            SSL_connect(ssl) != 1) {
            return false;
        }
        const std::string packet = ConnectPacket(client_id);
        if (SSL_write(ssl, packet.data(), static_cast<int>(packet.size())) !=
            static_cast<int>(packet.size())) {
            return false;
        }
        std::array<unsigned char, 4> connack{};
        return SSL_read(ssl, connack.data(), 4) <= 0;
    });
}

struct RunResult {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    double seconds = 0;
    double Rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

RunResult Measure(SSL_CTX* ctx, std::uint16_t port, const BenchArgs& args, const std::string& tag) {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> ok{0};
    std::atomic<std::uint64_t> failed{0};
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(args.clients));
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < args.clients; ++t) {
        threads.emplace_back([&, t] {
            std::uint64_t n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                // A fresh client id per connect: AWS allows 1 CONNECT/s per client id.
                const std::string id = tag + "-" + std::to_string(t) + "-" + std::to_string(n++);
                (ConnectOnce(ctx, port, id) ? ok : failed).fetch_add(1);
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
    stop = true;
    for (auto& thread : threads) {
        thread.join();
    }
    RunResult result;
    result.ok = ok;
    result.failed = failed;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

#if SIM_BENCH_WITH_ACCOUNT
constexpr const char* kBenchAccountId = "123456789012";
constexpr const char* kBenchEndpoint = "benchbenchbenc-ats.iot.us-east-1.elsim.test";

// The device CA (SNI_ONLY, ACTIVE), the device certificate (ACTIVE) and a policy allowing
// iot:Connect, through the account's control plane. False with a message on stderr.
bool SetUpBenchAccount(sim::controlplane::AwsClient& client, const std::string& ca_pem,
                       const std::string& device_pem, const std::string& device_id) {
    using sim::controlplane::AwsClient;
    const std::string arn_prefix = std::string("arn:aws:iot:us-east-1:") + kBenchAccountId;
    const nlohmann::json policy = {
        {"Version", "2012-10-17"},
        {"Statement",
         {{{"Effect", "Allow"}, {"Action", "iot:Connect"}, {"Resource", arn_prefix + ":client/*"}}}}};
    const std::vector<std::tuple<std::string, std::string, sim::controlplane::QueryParams,
                                 nlohmann::json>>
        calls = {
            {"POST", "/cacertificate", {{"setAsActive", "true"}},
             {{"caCertificate", ca_pem}, {"certificateMode", "SNI_ONLY"}}},
            {"POST", "/certificate/register", {},
             {{"certificatePem", device_pem}, {"caCertificatePem", ca_pem}, {"status", "ACTIVE"}}},
            {"POST", AwsClient::Path({"policies", "BenchConnect"}), {},
             {{"policyDocument", policy.dump()}}},
            {"PUT", AwsClient::Path({"target-policies", "BenchConnect"}), {},
             {{"target", arn_prefix + ":cert/" + device_id}}},
        };
    for (const auto& [method, path, query, body] : calls) {
        auto reply = client.Call(method, path, query, body);
        if (!reply) {
            (void)std::fprintf(stderr, "elsim bench connect: %s %s: %s %s\n", method.c_str(),
                               path.c_str(), reply.error().type.c_str(),
                               reply.error().message.c_str());
            return false;
        }
    }
    return true;
}

// JITP first connects per second against the account broker on `port`.
int RunJitpBench(const BenchArgs& args, std::uint16_t port, SSL_CTX* ctx,
                 sim::controlplane::AwsClient& client) {
    using sim::controlplane::AwsClient;
    auto ca = BenchCa("Bench JITP CA");
    if (!ca) {
        (void)std::fprintf(stderr, "elsim bench connect: cannot issue the JITP CA: %s\n",
                           ca.error().message.c_str());
        return kExitFailed;
    }
    const std::string template_body =
        sim::account::JitpTemplateBody(sim::account::JitpTemplatePolicy::Named("BenchConnect"));
    auto registered = client.Call(
        "POST", "/cacertificate", {{"setAsActive", "true"}, {"allowAutoRegistration", "true"}},
        {{"caCertificate", ca->pem()},
         {"certificateMode", "SNI_ONLY"},
         {"registrationConfig",
          {{"templateBody", template_body},
           {"roleArn", std::string("arn:aws:iam::") + kBenchAccountId + ":role/JITP"}}}});
    if (!registered) {
        (void)std::fprintf(stderr, "elsim bench connect: RegisterCACertificate (JITP): %s %s\n",
                           registered.error().type.c_str(), registered.error().message.c_str());
        return kExitFailed;
    }
    // Certificates are made before the clock starts: 3 rounds of `per_round` each.
    constexpr int kRounds = 3;
    const int per_round = std::clamp(static_cast<int>(args.seconds * 150), 100, 2000);
    struct Identity {
        std::string name;
        X509* cert = nullptr;
        EVP_PKEY* key = nullptr;
    };
    std::vector<Identity> identities;
    const auto free_identities = [&identities] {
        for (auto& identity : identities) {
            X509_free(identity.cert);
            EVP_PKEY_free(identity.key);
        }
    };
    // Module birth identities (CN = serial = ThingName, pki::ModuleIdentityMaker): the template
    // names each thing after the certificate's common name.
    const auto now = std::chrono::system_clock::now();
    pki::ModuleIdentityMaker maker(
        *ca, pki::ModuleIdentityMaker::Options{pki::KeyType::kEcP256, "", now - pki::kBackdate,
                                               now + kBenchDays});
    for (int i = 0; i < kRounds * per_round; ++i) {
        auto made = maker.Make();
        if (!made) {
            free_identities();
            (void)std::fprintf(stderr, "elsim bench connect: cannot issue JITP certificates: %s\n",
                               made.error().message.c_str());
            return kExitFailed;
        }
        Identity identity{made->thing_name, nullptr, nullptr};
        const std::string& cert_pem = made->certificate.pem;
        BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
        BIO* key_bio =
            BIO_new_mem_buf(made->key_pem.data(), static_cast<int>(made->key_pem.size()));
        identity.cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
        identity.key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
        BIO_free(cert_bio);
        BIO_free(key_bio);
        identities.push_back(identity);
    }
    std::vector<double> rates;
    std::uint64_t ok_total = 0;
    std::uint64_t failed_total = 0;
    for (int round = 0; round < kRounds; ++round) {
        std::atomic<int> next{round * per_round};
        const int end = (round + 1) * per_round;
        std::atomic<std::uint64_t> ok{0};
        std::atomic<std::uint64_t> failed{0};
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::thread> threads;
        for (int t = 0; t < args.clients; ++t) {
            threads.emplace_back([&] {
                for (int i = next.fetch_add(1); i < end; i = next.fetch_add(1)) {
                    const auto& identity = identities[static_cast<std::size_t>(i)];
                    (FirstConnectOnce(ctx, port, identity.cert, identity.key, identity.name)
                         ? ok
                         : failed)
                        .fetch_add(1);
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        rates.push_back(seconds > 0 ? static_cast<double>(ok.load()) / seconds : 0);
        ok_total += ok;
        failed_total += failed;
    }
    // Every first connect must have provisioned: spot-check the last thing and certificate.
    const std::string last = identities.back().name;
    free_identities();
    auto thing = client.Call("GET", AwsClient::Path({"things", last}));
    auto principals = thing ? client.Call("GET", AwsClient::Path({"things", last, "principals"}))
                            : thing;
    const bool provisioned =
        thing && principals && principals->contains("principals") &&
        (*principals)["principals"].size() == 1;
    std::sort(rates.begin(), rates.end());
    (void)std::printf(
        "%-44s %8.0f first connects/s median of %d rounds (%llu closed after JITP, %llu other, "
        "%d clients; target >= 300/s)%s\n",
        "JITP first connect (account broker)", rates[rates.size() / 2], kRounds,
        static_cast<unsigned long long>(ok_total), static_cast<unsigned long long>(failed_total),
        args.clients, provisioned ? "" : " [thing not provisioned!]");
    return failed_total == 0 && provisioned ? kExitOk : kExitFailed;
}
#endif

int RunBench(const BenchArgs& args) {
    auto scratch = sim::ScratchDirectory::Create(fs::temp_directory_path(), "elsim-bench-connect");
    if (!scratch) {
        (void)std::fprintf(stderr, "elsim bench connect: %s\n", scratch.error().message.c_str());
        return kExitFailed;
    }
    const fs::path& dir = scratch->path();

    const fs::path plugin =
        args.plugin.empty() ? fs::path(SIM_BROKER_PLUGIN_DEFAULT_PATH) : fs::path(args.plugin);
    std::error_code ec;
    if (plugin.empty() || !fs::is_regular_file(plugin, ec)) {
        (void)std::fprintf(stderr, "elsim bench connect: broker plugin not found: '%s'\n",
                           plugin.c_str());
        return kExitBadInput;
    }
    // PKI: a server root and server certificate for 127.0.0.1, a device CA and one device.
    auto root = BenchCa("elsim Bench Root");
    auto server_spec =
        pki::ServerSpec({"localhost"}, {"127.0.0.1"}, std::chrono::system_clock::now(), kBenchDays);
    auto server = root && server_spec ? IssueLeaf(*root, *server_spec)
                                      : sim::Result<BenchLeaf>(sim::MakeError(
                                            sim::ErrorCode::kInternal, "bench server root"));
    auto device_ca = BenchCa("Bench Device CA");
    auto device =
        device_ca
            ? IssueDevice(*device_ca, "bench-device")
            : sim::Result<BenchLeaf>(sim::MakeError(sim::ErrorCode::kInternal, "bench device CA"));
    if (!root || !server || !device_ca || !device) {
        (void)std::fprintf(stderr, "elsim bench connect: cannot issue the bench certificates\n");
        return kExitFailed;
    }
    const fs::path capath = dir / "capath";
    if (!WriteFile(dir / "root.pem", root->pem()) ||
        !WriteFile(dir / "server.pem", server->certificate_pem) ||
        !WriteFile(dir / "server.key", server->key_pem) ||
        !WriteFile(dir / "device.pem", device->certificate_pem) ||
        !WriteFile(dir / "device.key", device->key_pem) ||
        !pki::AddCaToCapath(capath, device_ca->pem())) {
        (void)std::fprintf(stderr, "elsim bench connect: cannot write %s\n", dir.c_str());
        return kExitFailed;
    }

    std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx.get(), (dir / "root.pem").c_str(), nullptr) != 1 ||
        SSL_CTX_use_certificate_file(ctx.get(), (dir / "device.pem").c_str(), SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), (dir / "device.key").c_str(), SSL_FILETYPE_PEM) !=
            1) {
        (void)std::fprintf(stderr, "elsim bench connect: cannot set up the TLS client\n");
        return kExitFailed;
    }

    // Both brokers run side by side; measured rounds alternate between them so that noise from
    // other load on the machine hits both alike. Reported figures are medians over the rounds.
    const std::array<const char*, 2> names = {"account broker (mosquitto + elsim_broker)",
                                              "bare mosquitto"};
    std::array<std::unique_ptr<sim::world::MosquittoProcess>, 2> brokers;
    std::array<std::uint16_t, 2> ports = {0, 0};
#if SIM_BENCH_WITH_ACCOUNT
    std::unique_ptr<sim::controlplane::AwsClient> client;
#endif
    for (int variant = 0; variant < 2; ++variant) {
        sim::world::MosquittoConfig config;
        config.address = "127.0.0.1";
        const auto port = sim::FreeTcpPort(config.address);
        if (!port) {
            (void)std::fprintf(stderr, "elsim bench connect: %s\n", port.error().message.c_str());
            return kExitFailed;
        }
        config.port = *port;
        config.capath = variant == 0 ? dir / "account-capath" : capath;
        config.certfile = dir / "server.pem";
        config.keyfile = dir / "server.key";
#if SIM_BENCH_WITH_ACCOUNT
        const auto free_control_port = sim::FreeTcpPort(config.address);
        if (!free_control_port) {
            (void)std::fprintf(stderr, "elsim bench connect: %s\n",
                               free_control_port.error().message.c_str());
            return kExitFailed;
        }
        const std::uint16_t control_port = *free_control_port;
#endif
        if (variant == 0) {
            config.plugin = plugin;
            config.plugin_options = {{"account_name", "bench"}, {"mode", "strict"}};
#if SIM_BENCH_WITH_ACCOUNT
            // The account broker hosts the account: the device CA is trusted only once
            // registered through the control plane (hot-added to this capath).
            fs::create_directories(config.capath, ec);
            config.plugin_options.insert(
                config.plugin_options.end(),
                {{"account_dir", (dir / "account").string()},
                 {"account_id", kBenchAccountId},
                 {"kind", "oem"},
                 {"region", "us-east-1"},
                 {"endpoint", kBenchEndpoint},
                 {"capath", config.capath.string()},
                 {"control_plane", "127.0.0.1:" + std::to_string(control_port)}});
#else
            config.capath = capath;
#endif
        }
        config.run_as_user = ::geteuid() == 0 ? "root" : "";
        const fs::path config_file = dir / ("mosquitto-" + std::to_string(variant) + ".conf");
        if (!WriteFile(config_file, sim::world::RenderMosquittoConfig(config))) {
            (void)std::fprintf(stderr, "elsim bench connect: cannot write %s\n",
                               config_file.c_str());
            return kExitFailed;
        }
        sim::world::MosquittoOptions options;
        options.config_file = config_file;
        options.port = config.port;
        if (variant == 0) {
            // The account broker runs as in a world: plugin plus the TLS tap (sim/broker/README.md).
            options.preload = sim::world::FindTlsTap(plugin);
        }
        auto broker = sim::world::MosquittoProcess::Start(options);
        if (!broker) {
            (void)std::fprintf(stderr, "elsim bench connect: %s\n", broker.error().message.c_str());
            return kExitFailed;
        }
        brokers[variant] = std::move(*broker);
        ports[variant] = config.port;
#if SIM_BENCH_WITH_ACCOUNT
        if (variant == 0) {
            sim::controlplane::ClientConfig client_config;
            client_config.endpoint = "http://127.0.0.1:" + std::to_string(control_port);
            client_config.credentials = {kBenchAccountId, "bench-secret", ""};
            client = std::make_unique<sim::controlplane::AwsClient>(
                client_config, std::make_shared<sim::SystemClock>());
            if (!SetUpBenchAccount(*client, device_ca->pem(), device->certificate_pem,
                                   device->certificate_id)) {
                return kExitFailed;
            }
        }
#endif
        BenchArgs warm = args;
        warm.seconds = 0.3;
        Measure(ctx.get(), config.port, warm, "warm");
    }
    const int rounds = std::max(1, static_cast<int>(args.seconds / 0.5));
    BenchArgs round_args = args;
    round_args.seconds = args.seconds / rounds;
    std::array<std::vector<double>, 2> rates;
    std::array<std::uint64_t, 2> ok = {0, 0};
    std::array<std::uint64_t, 2> failed = {0, 0};
    for (int round = 0; round < rounds; ++round) {
        for (int variant = 0; variant < 2; ++variant) {
            const auto r =
                Measure(ctx.get(), ports[variant], round_args,
                        std::string(variant == 0 ? "acct-" : "bare-") + std::to_string(round));
            rates[variant].push_back(r.Rate());
            ok[variant] += r.ok;
            failed[variant] += r.failed;
        }
    }
    std::array<double, 2> medians = {0, 0};
    for (int variant = 0; variant < 2; ++variant) {
        auto sorted = rates[variant];
        std::sort(sorted.begin(), sorted.end());
        medians[variant] = sorted[sorted.size() / 2];
        (void)std::printf(
            "%-44s %8.0f connects/s median of %d rounds (%llu ok, %llu failed, %d "
            "clients)\n",
            names[variant], medians[variant], rounds, static_cast<unsigned long long>(ok[variant]),
            static_cast<unsigned long long>(failed[variant]), args.clients);
    }
    const double ratio = medians[1] > 0 ? medians[0] / medians[1] : 0;
    (void)std::printf("ratio account/bare: %.1f%% (target >= 85%%)\n", 100.0 * ratio);
    (void)std::fflush(stdout);
    brokers[1]->Stop();
    int jitp_exit = kExitOk;
#if SIM_BENCH_WITH_ACCOUNT
    jitp_exit = RunJitpBench(args, ports[0], ctx.get(), *client);
#endif
    brokers[0]->Stop();
    return failed[0] + failed[1] == 0 && jitp_exit == kExitOk ? kExitOk : kExitFailed;
}

}  // namespace

void AddConnectBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<BenchArgs>();
    auto* connect = bench.add_subcommand(
        "connect",
        "mTLS connects/s against an account broker and a bare mosquitto (same TLS settings)");
    connect
        ->add_option("--seconds", args->seconds,
                     "Measured time per broker (in alternating 0.5 s rounds)")
        ->check(CLI::Range(0.2, 60.0))
        ->capture_default_str();
    connect->add_option("--clients", args->clients, "Parallel connecting clients")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    connect->add_option("--plugin", args->plugin, "Broker plugin .so (default: the built one)");
    connect->callback([args, &context] { context.exit_code = RunBench(*args); });
}

}  // namespace elsim
