// SPDX-License-Identifier: Apache-2.0
#include "sim/testing/support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pki/authority.hpp"
#include "pki/capath.hpp"
#include "pki/certificate.hpp"
#include "pki/profiles.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/posix_io.hpp"
#include "sim/world/mosquitto_config.hpp"

namespace sim::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
    auto created = sim::ScratchDirectory::Create(fs::temp_directory_path(), "elsim-test");
    if (!created) {
        throw std::runtime_error(created.error().message);
    }
    directory_.emplace(std::move(*created));
}

TempDir::~TempDir() = default;

std::uint16_t FreePort(const std::string& host) {
    auto port = sim::FreeTcpPort(host);
    if (!port) {
        throw std::runtime_error("no free port on " + host + ": " + port.error().message);
    }
    return *port;
}

void WriteTextFile(const fs::path& path, const std::string& contents) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

namespace {

// Test PKI failures abort the test at once (they are set-up bugs, not the behaviour tested).
template <class T>
T Must(sim::Result<T> result, const char* what) {
    if (!result) {
        throw std::runtime_error(std::string("test PKI: ") + what + ": " + result.error().message);
    }
    return std::move(result).value();
}

pki::CertificateAuthority NewRoot(pki::DistinguishedName subject) {
    auto key = Must(pki::Key::Generate(pki::KeyType::kEcP256), "key");
    return Must(
        pki::CertificateAuthority::CreateRoot(
            pki::RootCaSpec(std::move(subject), std::chrono::system_clock::now(), pki::Days{365}),
            key),
        "root CA");
}

}  // namespace

TestPki::TestPki(fs::path directory) : directory_(std::move(directory)) {
    fs::create_directories(directory_);
    const auto root =
        NewRoot(pki::DistinguishedName{{{"O", "elsim"}, {"CN", "elsim Test Server Root"}}});
    server_ca_ = Write("server-ca", root.pem(), root.key().PrivatePem());
    const auto spec = Must(pki::ServerSpec({"localhost"}, {"127.0.0.1"},
                                           std::chrono::system_clock::now(), pki::Days{365}),
                           "server spec");
    const auto key = Must(pki::Key::Generate(pki::KeyType::kEcP256), "key");
    server_ = Write("server", Must(root.Issue(spec, key), "server").pem, key.PrivatePem());
}

CertFiles TestPki::Write(const std::string& name, const std::string& cert_pem,
                         const std::string& key_pem) {
    CertFiles files;
    files.cert = directory_ / (name + ".pem");
    files.key = directory_ / (name + ".key");
    files.cert_pem = cert_pem;
    files.key_pem = key_pem;
    files.certificate_id = Must(pki::ParseCertificatePem(cert_pem), "certificate").certificate_id;
    WriteTextFile(files.cert, files.cert_pem);
    WriteTextFile(files.key, files.key_pem);
    return files;
}

const CertFiles& TestPki::DeviceCa(const std::string& name) {
    for (const auto& [ca_name, files] : device_cas_) {
        if (ca_name == name) {
            return files;
        }
    }
    const auto ca = NewRoot(pki::DistinguishedName{{{"O", name}, {"CN", name + " Device CA"}}});
    device_cas_.emplace_back(name, Write("ca-" + name, ca.pem(), ca.key().PrivatePem()));
    return device_cas_.back().second;
}

CertFiles TestPki::Device(const std::string& name, const std::string& ca, std::chrono::seconds from,
                          std::chrono::seconds to) {
    const CertFiles& issuer_files = DeviceCa(ca);
    const auto issuer = Must(
        pki::CertificateAuthority::Load(issuer_files.cert_pem, issuer_files.key_pem), "device CA");
    const auto now = std::chrono::system_clock::now();
    pki::IssueSpec spec;
    spec.subject = pki::DistinguishedName{{{"O", ca}, {"CN", name}}};
    spec.not_before = now + from;
    spec.not_after = now + to;
    spec.eku = pki::ExtendedKeyUsage::kClientAuth;
    const auto key = Must(pki::Key::Generate(pki::KeyType::kEcP256), "key");
    return Write("device-" + name, Must(issuer.Issue(spec, key), "device").pem, key.PrivatePem());
}

CertFiles ModuleBirthCertificate(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                 const fs::path& directory, std::string& thing_name) {
    const auto ca = Must(pki::CertificateAuthority::Load(ca_cert_pem, ca_key_pem), "module CA");
    pki::ModuleIdentityMaker::Options options;
    options.not_before = std::chrono::system_clock::now() - std::chrono::hours{1};
    options.not_after = std::chrono::system_clock::now() + std::chrono::hours{24};
    pki::ModuleIdentityMaker maker(ca, options);
    const auto identity = Must(maker.Make(), "module identity");
    thing_name = identity.thing_name;
    CertFiles files;
    files.cert = directory / (thing_name + ".pem");
    files.key = directory / (thing_name + ".key");
    files.cert_pem = identity.certificate.pem;
    files.key_pem = identity.key_pem;
    files.certificate_id = identity.certificate.certificate_id;
    WriteTextFile(files.cert, files.cert_pem);
    WriteTextFile(files.key, files.key_pem);
    return files;
}

TestBroker::TestBroker(TestPki& pki, const fs::path& directory, const TestBrokerOptions& options) {
    port_ = FreePort();
    capath_ = directory / "capath";
    fs::create_directories(capath_);
    for (const auto& ca : options.trusted_device_cas) {
        if (auto s = pki::AddCaToCapath(capath_, pki.DeviceCa(ca).cert_pem); !s) {
            error_ = s.error().message;
            return;
        }
    }
    sim::world::MosquittoConfig config;
    config.address = "127.0.0.1";
    config.port = port_;
    config.capath = capath_;
    config.certfile = pki.Server().cert;
    config.keyfile = pki.Server().key;
    config.plugin = options.plugin;
    config.plugin_options = options.plugin_options;
    config.run_as_user = ::geteuid() == 0 ? "root" : "";
    config.verbose_log = options.verbose_log;
    const fs::path config_file = directory / "mosquitto.conf";
    WriteTextFile(config_file, sim::world::RenderMosquittoConfig(config));
    sim::world::MosquittoOptions process_options;
    process_options.config_file = config_file;
    process_options.host = "127.0.0.1";
    process_options.port = port_;
    process_options.preload = sim::world::FindTlsTap(options.plugin);  // the TLS tap, if built
    auto process = sim::world::MosquittoProcess::Start(process_options);
    if (!process) {
        error_ = process.error().message;
        return;
    }
    process_ = std::move(*process);
}

TestBroker::~TestBroker() {
    if (process_) {
        process_->Stop();
        // The broker log is printed only when the test failed (mosquitto's harness does so).
        if (::testing::Test::HasFailure()) {
            (void)std::fprintf(stderr,
                               "---- broker log (port %u) ----\n%s---- end of broker log ----\n",
                               static_cast<unsigned>(port_), process_->Log().c_str());
        }
    }
}

}  // namespace sim::testing
