// SPDX-License-Identifier: Apache-2.0
#include "pki/factory.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <nlohmann/json.hpp>

#include "sim/core/adapters.hpp"
#include "sim/core/hex.hpp"

namespace pki {
namespace {

sim::Unexpected<sim::Error> IoError(const fs::path& path, const std::string& what) {
    return sim::MakeError(sim::ErrorCode::kIo, path.string() + ": " + what + ": " +
                                                   std::strerror(errno));  // NOLINT
}

template <class T>
sim::Unexpected<sim::Error> Prefixed(const fs::path& file, const sim::Result<T>& result) {
    return sim::MakeError(result.error().code, file.string() + ": " + result.error().message);
}

sim::Result<std::string> ReadText(const fs::path& file) {
    auto text = sim::ReadFile(file);
    if (!text) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, text.error().message);
    }
    return text;
}

std::string RandomSuffix() {
    std::array<std::uint8_t, 6> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        return std::to_string(::getpid());
    }
    return sim::HexEncode(std::span<const std::uint8_t>(bytes));
}

sim::Status WriteAll(int fd, std::string_view contents) {
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return sim::MakeError(sim::ErrorCode::kIo, std::strerror(errno));  // NOLINT
        }
        written += static_cast<std::size_t>(n);
    }
    return {};
}

sim::Status FsyncPath(const fs::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        return IoError(path, "cannot open to flush");
    }
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        return IoError(path, "cannot flush");
    }
    return {};
}

sim::Unexpected<sim::Error> Forward(const sim::Error& error) {
    return sim::Unexpected<sim::Error>(error);
}

}  // namespace

// ---- StagedDirectory ----------------------------------------------------------------------

sim::Status StagedDirectory::Check(const fs::path& dir, bool force) {
    std::error_code ec;
    const auto status = fs::symlink_status(dir, ec);
    if (!fs::exists(status)) {
        return {};
    }
    if (!fs::is_directory(status)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              dir.string() + ": exists and is not a directory");
    }
    if (!force) {
        return sim::MakeError(sim::ErrorCode::kAlreadyExists,
                              dir.string() + ": exists (use --force to replace it)");
    }
    return {};
}

sim::Result<StagedDirectory> StagedDirectory::Begin(const fs::path& dir, bool force) {
    if (auto status = Check(dir, force); !status) {
        return Forward(status.error());
    }
    fs::path target = fs::absolute(dir).lexically_normal();
    if (!target.has_filename()) {
        target = target.parent_path();
    }
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
        return sim::MakeError(sim::ErrorCode::kIo, target.parent_path().string() +
                                                       ": cannot create: " + ec.message());
    }
    fs::path staging =
        target.parent_path() / ("." + target.filename().string() + ".tmp-" + RandomSuffix());
    if (::mkdir(staging.c_str(), 0755) != 0) {
        return IoError(staging, "cannot create");
    }
    return StagedDirectory(target, staging, force);
}

StagedDirectory::StagedDirectory(StagedDirectory&& other) noexcept
    : dir_(std::move(other.dir_)),
      staging_(std::move(other.staging_)),
      force_(other.force_),
      committed_(other.committed_) {
    other.committed_ = true;  // the moved-from object owns nothing
}

StagedDirectory::~StagedDirectory() {
    if (!committed_ && !staging_.empty()) {
        std::error_code ec;
        fs::remove_all(staging_, ec);
    }
}

sim::Status StagedDirectory::Write(const fs::path& relative, std::string_view contents,
                                   bool secret) {
    const fs::path path = staging_ / relative;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
        return sim::MakeError(sim::ErrorCode::kIo,
                              path.parent_path().string() + ": cannot create: " + ec.message());
    }
    const mode_t mode = secret ? 0600 : 0644;
    // The mode is set at creation, before any byte is written: a key is never readable by
    // others, not even for an instant. Durability comes from one syncfs() in Commit() rather
    // than an fsync per file (thousands of files per batch).
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return IoError(path, "cannot create");
    }
    ::fchmod(fd, mode);  // open() applied the umask
    auto status = WriteAll(fd, contents);
    if (::close(fd) != 0 && status) {
        return IoError(path, "cannot close");
    }
    if (!status) {
        return sim::MakeError(sim::ErrorCode::kIo,
                              path.string() + ": cannot write: " + status.error().message);
    }
    return {};
}

sim::Status StagedDirectory::Commit() {
    if (committed_) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition, "already committed");
    }
    {
        const int fd = ::open(staging_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || ::syncfs(fd) != 0) {
            auto error = IoError(staging_, "cannot flush");
            if (fd >= 0) {
                ::close(fd);
            }
            return error;
        }
        ::close(fd);
    }
    std::error_code ec;
    const bool exists = fs::exists(fs::symlink_status(dir_, ec));
    if (exists) {
        if (!force_) {
            return sim::MakeError(sim::ErrorCode::kAlreadyExists,
                                  dir_.string() + ": exists (use --force to replace it)");
        }
        // Swap atomically, then delete the old tree (now under the staging name).
        if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) !=
            0) {
            return IoError(dir_, "cannot replace");
        }
        committed_ = true;
        fs::remove_all(staging_, ec);
    } else {
        if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_NOREPLACE) !=
            0) {
            return IoError(dir_, "cannot rename into place");
        }
        committed_ = true;
    }
    return FsyncPath(dir_.parent_path(), O_RDONLY | O_DIRECTORY);
}

// ---- Loading ------------------------------------------------------------------------------

sim::Result<CertificateAuthority> LoadCaFiles(const fs::path& cert, const fs::path& key) {
    auto cert_pem = ReadText(cert);
    if (!cert_pem) {
        return Forward(cert_pem.error());
    }
    auto key_pem = ReadText(key);
    if (!key_pem) {
        return Forward(key_pem.error());
    }
    // Name the file the problem is in: the certificate's own problems first, then the key's.
    if (auto parsed = ParseCertificatePem(*cert_pem); !parsed) {
        return Prefixed(cert, parsed);
    } else if (!parsed->is_ca) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              cert.string() +
                                  ": not a CA certificate (basicConstraints CA:TRUE missing)");
    }
    if (auto parsed_key = Key::FromPrivatePem(*key_pem); !parsed_key) {
        return Prefixed(key, parsed_key);
    }
    auto ca = CertificateAuthority::Load(*cert_pem, *key_pem);
    if (!ca) {
        return Prefixed(key, ca);
    }
    return ca;
}

sim::Result<CaChain> LoadCaDirectory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              dir.string() + ": not a CA directory (missing)");
    }
    auto root = LoadCaFiles(dir / "root.pem", dir / "root.key");
    if (!root) {
        return Forward(root.error());
    }
    CaChain chain{std::move(root).value(), std::nullopt};
    if (fs::exists(dir / "intermediate.pem", ec)) {
        auto intermediate = LoadCaFiles(dir / "intermediate.pem", dir / "intermediate.key");
        if (!intermediate) {
            return Forward(intermediate.error());
        }
        auto text = ReadText(dir / "intermediate.pem");
        auto with_root = CertificateAuthority::Load(
            *text, intermediate->key().PrivatePem(), chain.root.pem());
        if (!with_root) {
            return Prefixed(dir / "intermediate.pem", with_root);
        }
        if (!IsSignedBy(with_root->info(), chain.root.info())) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  (dir / "intermediate.pem").string() +
                                      ": not signed by " + (dir / "root.pem").string());
        }
        chain.intermediate = std::move(with_root).value();
    }
    return chain;
}

sim::Result<std::string> CertificateIdOfFile(const fs::path& file) {
    auto text = ReadText(file);
    if (!text) {
        return Forward(text.error());
    }
    auto info = ParseCertificatePem(*text);
    if (!info) {
        return Prefixed(file, info);
    }
    return info->certificate_id;
}

// ---- Outputs ------------------------------------------------------------------------------

namespace {

// Writes several files, stopping at the first failure.
class Writer {
public:
    Writer(StagedDirectory& out, fs::path prefix) : out_(out), prefix_(std::move(prefix)) {}
    Writer& Put(const fs::path& name, std::string_view contents, bool secret = false) {
        if (status_) {
            status_ = out_.Write(prefix_ / name, contents, secret);
        }
        return *this;
    }
    const sim::Status& status() const { return status_; }

private:
    StagedDirectory& out_;
    fs::path prefix_;
    sim::Status status_;
};

// A root CA on a freshly generated key.
sim::Result<CertificateAuthority> NewRoot(IssueSpec spec, KeyType key_type) {
    auto key = Key::Generate(key_type);
    if (!key) {
        return Forward(key.error());
    }
    return CertificateAuthority::CreateRoot(std::move(spec), std::move(key).value());
}

// A certificate `signer` issues for a freshly generated key, with that key.
struct KeyAndCertificate {
    Key key;
    IssuedCertificate cert;
};

sim::Result<KeyAndCertificate> IssueOnNewKey(const CertificateAuthority& signer,
                                             const IssueSpec& spec, KeyType key_type) {
    auto key = Key::Generate(key_type);
    if (!key) {
        return Forward(key.error());
    }
    auto cert = signer.Issue(spec, *key);
    if (!cert) {
        return Forward(cert.error());
    }
    return KeyAndCertificate{std::move(key).value(), std::move(cert).value()};
}

}  // namespace

sim::Result<CaChain> WriteCa(const CaOptions& options, TimePoint now, StagedDirectory& out,
                             const fs::path& prefix) {
    DistinguishedName subject = options.subject;
    if (subject.entries.empty()) {
        subject.entries = {{"O", options.organization}, {"CN", options.organization + " Root CA"}};
    }
    auto root = NewRoot(RootCaSpec(subject, now, options.days), options.key_type);
    if (!root) {
        return Forward(root.error());
    }
    CaChain chain{std::move(root).value(), std::nullopt};
    Writer writer(out, prefix);
    writer.Put("root.pem", chain.root.pem()).Put("root.key", chain.root.key().PrivatePem(), true);
    if (options.intermediate) {
        DistinguishedName sub = subject;
        auto cn = std::find_if(sub.entries.begin(), sub.entries.end(),
                               [](const auto& e) { return e.first == "CN"; });
        if (cn != sub.entries.end()) {
            cn->second = cn->second.size() + 13 <= 64 ? cn->second + " Intermediate"
                                                      : cn->second.substr(0, 51) + " Intermediate";
        } else {
            sub.entries.emplace_back("CN", "Intermediate CA");
        }
        auto key = Key::Generate(options.key_type);
        if (!key) {
            return Forward(key.error());
        }
        auto intermediate = chain.root.CreateSubordinate(
            IntermediateCaSpec(sub, now, options.days), std::move(key).value());
        if (!intermediate) {
            return Forward(intermediate.error());
        }
        chain.intermediate = std::move(intermediate).value();
        writer.Put("intermediate.pem", chain.intermediate->pem())
            .Put("intermediate.key", chain.intermediate->key().PrivatePem(), true);
    }
    writer.Put("chain.pem", chain.issuing().chain_pem());
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return chain;
}

sim::Result<std::vector<ModuleRecord>> WriteModules(const CertificateAuthority& ca,
                                                    const ModulesOptions& options, TimePoint now,
                                                    StagedDirectory& out, const fs::path& prefix) {
    if (options.count == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "--count must be at least 1");
    }
    ModuleIdentityMaker::Options maker_options;
    maker_options.key_type = options.key_type;
    maker_options.organization = options.organization;
    maker_options.not_before = now - kBackdate;
    maker_options.not_after = std::min<TimePoint>(now + options.days, ca.info().not_after);
    if (maker_options.not_after <= maker_options.not_before) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "the issuing CA has expired; modules would never be valid");
    }
    ModuleIdentityMaker maker(ca, maker_options);
    std::vector<ModuleRecord> records;
    records.reserve(options.count);
    Writer writer(out, prefix);
    for (std::size_t i = 0; i < options.count; ++i) {
        auto identity = maker.Make();
        if (!identity) {
            return Forward(identity.error());
        }
        ModuleRecord record{identity->thing_name, identity->certificate.certificate_id,
                            identity->thing_name + "/cert.pem", identity->thing_name + "/key.pem",
                            identity->thing_name + "/chain.pem"};
        writer.Put(record.certificate_file, identity->certificate.pem)
            .Put(record.key_file, identity->key_pem, true)
            .Put(record.chain_file, identity->chain_pem);
        if (!writer.status()) {
            return Forward(writer.status().error());
        }
        records.push_back(std::move(record));
        if (options.progress) {
            options.progress(i + 1, options.count);
        }
    }
    nlohmann::json index;
    index["caCertificateId"] = ca.info().certificate_id;
    index["caSubject"] = ca.info().subject.ToString();
    index["modules"] = nlohmann::json::array();
    std::string csv = "thingName,certificateId,certificate,privateKey,chain\n";
    for (const auto& record : records) {
        index["modules"].push_back({{"thingName", record.thing_name},
                                    {"certificateId", record.certificate_id},
                                    {"certificate", record.certificate_file},
                                    {"privateKey", record.key_file},
                                    {"chain", record.chain_file}});
        csv += record.thing_name + "," + record.certificate_id + "," + record.certificate_file +
               "," + record.key_file + "," + record.chain_file + "\n";
    }
    writer.Put("index.json", index.dump(2) + "\n").Put("index.csv", csv);
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return records;
}

sim::Result<CertificateAuthority> WriteAwsCa(KeyType key_type, Days days, TimePoint now,
                                             StagedDirectory& out, const fs::path& prefix) {
    auto ca = NewRoot(RootCaSpec(AwsRootCaSubject(), now, days), key_type);
    if (!ca) {
        return Forward(ca.error());
    }
    Writer writer(out, prefix);
    writer.Put("root-ca.pem", ca->pem()).Put("root-ca.key", ca->key().PrivatePem(), true);
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return ca;
}

sim::Result<AwsIssuedCertificate> WriteClaim(const CertificateAuthority& aws_ca, TimePoint now,
                                             StagedDirectory& out, const fs::path& prefix) {
    auto issued = IssueAwsDeviceCertificate(aws_ca, now);
    if (!issued) {
        return Forward(issued.error());
    }
    Writer writer(out, prefix);
    writer.Put("cert.pem", issued->certificate.pem)
        .Put("private.key", issued->private_key_pem, true)
        .Put("public.key", issued->public_key_pem)
        .Put("certificate-id.txt", issued->certificate.certificate_id + "\n");
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return issued;
}

sim::Result<IssuedCertificate> WriteVerification(const CertificateAuthority& ca,
                                                 std::string_view registration_code, Days days,
                                                 TimePoint now, StagedDirectory& out,
                                                 const fs::path& prefix) {
    auto spec = VerificationSpec(registration_code, now, days);
    if (!spec) {
        return Forward(spec.error());
    }
    auto issued = IssueOnNewKey(ca, *spec, KeyType::kEcP256);
    if (!issued) {
        return Forward(issued.error());
    }
    Writer writer(out, prefix);
    writer.Put("verification.pem", issued->cert.pem)
        .Put("verification.key", issued->key.PrivatePem(), true)
        .Put("certificate-id.txt", issued->cert.certificate_id + "\n");
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return std::move(issued->cert);
}

sim::Result<IssuedCertificate> WriteServer(const CertificateAuthority& ca,
                                           const std::vector<std::string>& dns_names,
                                           const std::vector<std::string>& ip_addresses,
                                           KeyType key_type, Days days, TimePoint now,
                                           StagedDirectory& out, const fs::path& prefix) {
    auto spec = ServerSpec(dns_names, ip_addresses, now, days);
    if (!spec) {
        return Forward(spec.error());
    }
    auto issued = IssueOnNewKey(ca, *spec, key_type);
    if (!issued) {
        return Forward(issued.error());
    }
    Writer writer(out, prefix);
    writer.Put("cert.pem", issued->cert.pem)
        .Put("key.pem", issued->key.PrivatePem(), true)
        .Put("chain.pem", issued->cert.pem + ca.chain_pem())
        .Put("certificate-id.txt", issued->cert.certificate_id + "\n");
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return std::move(issued->cert);
}

sim::Result<std::vector<BrokenCase>> WriteBroken(const CaChain& chain, TimePoint now,
                                                 StagedDirectory& out, const fs::path& prefix) {
    const CertificateAuthority& ca = chain.issuing();
    std::vector<BrokenCase> cases;
    nlohmann::json index = nlohmann::json::array();
    Writer writer(out, prefix);

    // Issues one device certificate for a case, writes cert.pem/key.pem (+ chain.pem).
    auto device = [&](const std::string& name, const std::string& description,
                      const CertificateAuthority& signer, IssueSpec spec,
                      const std::string& expected, bool append_chain) -> sim::Status {
        auto issued = IssueOnNewKey(signer, spec, KeyType::kEcP256);
        if (!issued) {
            return Forward(issued.error());
        }
        const IssuedCertificate& cert = issued->cert;
        writer
            .Put(fs::path(name) / "cert.pem",
                 append_chain ? cert.pem + signer.chain_pem() : cert.pem)
            .Put(fs::path(name) / "key.pem", issued->key.PrivatePem(), true);
        cases.push_back(BrokenCase{name, description, cert.certificate_id, expected});
        nlohmann::json entry = {{"case", name},
                                {"description", description},
                                {"certificateId", cert.certificate_id},
                                {"certificate", name + "/cert.pem"},
                                {"privateKey", name + "/key.pem"},
                                {"expectedOpenSslError", expected}};
        if (&signer != &ca) {
            writer.Put(fs::path(name) / "ca.pem", signer.pem())
                .Put(fs::path(name) / "ca.key", signer.key().PrivatePem(), true);
            entry["caCertificate"] = name + "/ca.pem";
            entry["caCertificateId"] = signer.info().certificate_id;
        }
        index.push_back(std::move(entry));
        return writer.status();
    };
    auto spec_for = [&](const std::string& cn, TimePoint not_before, TimePoint not_after) {
        IssueSpec spec;
        spec.subject.entries = {{"CN", cn}};
        spec.not_before = not_before;
        spec.not_after = not_after;
        spec.eku = ExtendedKeyUsage::kClientAuth;
        return spec;
    };
    const TimePoint good_from = now - kBackdate;
    const TimePoint good_to = std::min<TimePoint>(now + Days{3650}, ca.info().not_after);
    constexpr std::chrono::hours kDay{24};

    std::vector<sim::Status> steps;
    steps.push_back(device("expired", "validity ended yesterday", ca,
                           spec_for("broken-expired", now - 2 * kDay, now - kDay),
                           "certificate has expired", false));
    steps.push_back(device("not-yet-valid", "validity starts tomorrow", ca,
                           spec_for("broken-not-yet-valid", now + kDay, now + 2 * kDay),
                           "certificate is not yet valid", false));
    {
        IssueSpec spec = spec_for("broken-no-client-auth", good_from, good_to);
        spec.eku = ExtendedKeyUsage::kServerAuth;
        steps.push_back(device("no-client-auth",
                               "EKU serverAuth only (fails `openssl verify -purpose sslclient`)",
                               ca, spec, "unsuitable certificate purpose", false));
    }
    // Assumed: the "unregistered" CA is a separate root that no account registers.
    auto unregistered = NewRoot(RootCaSpec(DistinguishedName{{{"O", "elsim Unregistered"},
                                                              {"CN", "elsim Unregistered CA"}}},
                                           now, Days{3650}),
                                KeyType::kEcP256);
    if (!unregistered) {
        return Forward(unregistered.error());
    }
    steps.push_back(device("unregistered-ca", "signed by a CA nobody registered", *unregistered,
                           spec_for("broken-unregistered-ca", good_from, good_to),
                           "unable to get local issuer certificate", false));
    // The look-alike has the issuing CA's exact subject and a new key. Its leaf carries no
    // authorityKeyIdentifier, so a verifier finds the real CA by name and the signature fails.
    auto lookalike = NewRoot(RootCaSpec(ca.info().subject, now, Days{3650}), KeyType::kEcP256);
    if (!lookalike) {
        return Forward(lookalike.error());
    }
    {
        IssueSpec spec = spec_for("broken-look-alike-ca", good_from, good_to);
        spec.authority_key_id = false;
        steps.push_back(device("look-alike-ca",
                               "signed by a CA with the same subject as the real one and a "
                               "different key",
                               *lookalike, spec, "certificate signature failure", false));
    }
    steps.push_back(device("chain-without-ca", "a good device certificate alone", ca,
                           spec_for("chain-without-ca", good_from, good_to), "", false));
    steps.push_back(device("chain-with-ca",
                           "a good device certificate followed by its CA chain (JITP/JITR style)",
                           ca, spec_for("chain-with-ca", good_from, good_to), "", true));
    for (const auto& step : steps) {
        if (!step) {
            return Forward(step.error());
        }
    }
    writer.Put("index.json", index.dump(2) + "\n");
    if (!writer.status()) {
        return Forward(writer.status().error());
    }
    return cases;
}

}  // namespace pki
