// SPDX-License-Identifier: Apache-2.0
// `elsim bench pki`: module identities per second, single thread, three ways side by side:
//  (a) baseline: the minimum OpenSSL work per identity, written directly against the C API
//      (EVP_EC_gen, X509 build with the same extensions, sign, PEM of cert and key in memory);
//  (b) factory: pki::ModuleIdentityMaker in memory (same work plus our bookkeeping);
//  (c) files: pki::WriteModules into a staged temporary directory (cert, key, chain, index).
// Several repetitions; medians and the factory/baseline ratio are printed. Not a timed test.
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// (a) One identity with OpenSSL alone. Returns the PEM sizes so the work cannot be elided.
std::size_t BaselineIdentity(X509* ca_cert, EVP_PKEY* ca_key) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, X509_VERSION_3);
    unsigned char serial[17];
    RAND_bytes(serial, sizeof serial);
    serial[0] = static_cast<unsigned char>((serial[0] & 0x3F) | 0x40);
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    char cn[2 * sizeof serial + 1];
    for (std::size_t i = 0; i < sizeof serial; ++i) {
        std::snprintf(cn + 2 * i, 3, "%02x", serial[i]);
    }
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(ca_cert));
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3650L * 86400L);
    X509_set_pubkey(cert, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, cert, nullptr, nullptr, 0);
    const std::pair<int, const char*> extensions[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "clientAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid"},
    };
    for (const auto& [nid, value] : extensions) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(cert, ca_key, EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    const std::size_t size = static_cast<std::size_t>(BIO_pending(bio));
    BIO_free(bio);
    X509_free(cert);
    EVP_PKEY_free(key);
    return size;
}

double Rate(std::size_t count, Clock::duration elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

double Median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

struct BenchArgs {
    std::size_t count = 10000;
    int repetitions = 3;
    std::string temp_dir;
};

int RunBench(const BenchArgs& args) {
    const auto now = sim::SystemClock().Now();
    auto root_key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!root_key) {
        std::fprintf(stderr, "elsim bench pki: %s\n", root_key.error().message.c_str());
        return kExitFailed;
    }
    auto ca = pki::CertificateAuthority::CreateRoot(
        pki::RootCaSpec(pki::DistinguishedName{{{"O", "bench"}, {"CN", "bench Root CA"}}}, now,
                        pki::Days{3650}),
        *root_key);
    if (!ca) {
        std::fprintf(stderr, "elsim bench pki: %s\n", ca.error().message.c_str());
        return kExitFailed;
    }
    // The baseline signs with the same CA, decoded into its own X509.
    BIO* bio = BIO_new_mem_buf(ca->pem().data(), static_cast<int>(ca->pem().size()));
    X509* ca_cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    const fs::path temp_root =
        args.temp_dir.empty() ? fs::temp_directory_path() : fs::path(args.temp_dir);

    std::vector<double> baseline;
    std::vector<double> factory;
    std::vector<double> files;
    std::printf("elsim bench pki: %zu module identities (EC P-256), single thread, %d repetitions\n",
                args.count, args.repetitions);
    int status = kExitOk;
    for (int rep = 0; rep < args.repetitions && status == kExitOk; ++rep) {
        std::size_t sink = 0;
        auto start = Clock::now();
        for (std::size_t i = 0; i < args.count; ++i) {
            sink += BaselineIdentity(ca_cert, ca->key().get());
        }
        baseline.push_back(Rate(args.count, Clock::now() - start));

        pki::ModuleIdentityMaker::Options options;
        options.not_before = now - pki::kBackdate;
        options.not_after = now + pki::Days{3650};
        pki::ModuleIdentityMaker maker(*ca, options);
        start = Clock::now();
        for (std::size_t i = 0; i < args.count; ++i) {
            auto identity = maker.Make();
            if (!identity) {
                std::fprintf(stderr, "elsim bench pki: %s\n", identity.error().message.c_str());
                status = kExitFailed;
                break;
            }
            sink += identity->certificate.pem.size() + identity->key_pem.size();
        }
        factory.push_back(Rate(args.count, Clock::now() - start));

        const fs::path dir = temp_root / ("elsim-bench-pki-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(rep));
        start = Clock::now();
        {
            auto out = pki::StagedDirectory::Begin(dir, false);
            pki::ModulesOptions modules;
            modules.count = args.count;
            auto written = out ? pki::WriteModules(*ca, modules, now, *out)
                               : sim::Result<std::vector<pki::ModuleRecord>>(
                                     sim::Unexpected<sim::Error>(out.error()));
            sim::Status committed = written ? out->Commit() : sim::Status(sim::Unexpected<sim::Error>(written.error()));
            if (!committed) {
                std::fprintf(stderr, "elsim bench pki: %s\n", committed.error().message.c_str());
                status = kExitFailed;
            }
        }
        files.push_back(Rate(args.count, Clock::now() - start));
        std::error_code ec;
        fs::remove_all(dir, ec);
        std::printf("  rep %d: baseline %.0f/s  factory %.0f/s  files %.0f/s  (checksum %zu)\n",
                    rep + 1, baseline.back(), factory.back(), files.back(), sink % 1000);
        std::fflush(stdout);  // progress is visible when stdout is a file
    }
    X509_free(ca_cert);
    if (status != kExitOk) {
        return status;
    }
    const double b = Median(baseline);
    const double f = Median(factory);
    const double w = Median(files);
    std::printf("median identities/s: baseline %.0f  factory %.0f  factory+files %.0f\n", b, f, w);
    std::printf("ratio factory/baseline %.2f  (factory+files)/baseline %.2f\n", f / b, w / b);
    return kExitOk;
}

}  // namespace

void AddPkiBench(CLI::App& bench, VerbContext& context) {
    auto args = std::make_shared<BenchArgs>();
    auto* verb = bench.add_subcommand(
        "pki", "Module identities per second: OpenSSL baseline vs the factory in memory vs "
               "the factory writing files (single thread)");
    verb->add_option("--count", args->count, "Identities per measurement")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}))
        ->capture_default_str();
    verb->add_option("--repetitions", args->repetitions, "Repetitions (the median is reported)")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    verb->add_option("--tmp", args->temp_dir,
                     "Where the file measurement writes (default: TMPDIR); it is removed after");
    verb->callback([args, &context] { context.exit_code = RunBench(*args); });
}

}  // namespace elsim
