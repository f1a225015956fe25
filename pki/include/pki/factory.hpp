// SPDX-License-Identifier: Apache-2.0
#pragma once
// The certificate factory's file side (an adapter): loading CAs from files and writing every
// kind of output into a directory the user names. Layout: pki/README.md.
//
// Atomicity: an output directory is built under a temporary sibling name
// (".<name>.tmp-<random>") and renamed into place by Commit(); with `force`, an existing
// directory is swapped out atomically (renameat2 RENAME_EXCHANGE) and then removed. A failed
// or interrupted run therefore never leaves a half-written output directory (an interrupted
// run may leave the hidden temporary sibling). Private keys are created with mode 0600.
// Callers validate every input (LoadCa*, option checks) before Begin(), so that bad input
// writes nothing. Not thread-safe per StagedDirectory; different directories are independent.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/authority.hpp"
#include "pki/profiles.hpp"
#include "sim/core/result.hpp"

namespace pki {

namespace fs = std::filesystem;

class StagedDirectory {
public:
    /// Checks that `dir` may be written (errors: kAlreadyExists "DIR: exists (use --force to
    /// replace it)", kInvalidArgument when DIR exists and is not a directory) and creates the
    /// temporary sibling (and DIR's missing parents).
    static sim::Result<StagedDirectory> Begin(const fs::path& dir, bool force);
    /// Checks only, creating nothing: what Begin() would refuse.
    static sim::Status Check(const fs::path& dir, bool force);

    StagedDirectory(StagedDirectory&&) noexcept;
    StagedDirectory& operator=(StagedDirectory&&) = delete;
    StagedDirectory(const StagedDirectory&) = delete;
    StagedDirectory& operator=(const StagedDirectory&) = delete;
    /// Removes the temporary directory unless Commit() succeeded.
    ~StagedDirectory();

    /// Writes `relative` (parents created) inside the staged directory: mode 0600 when
    /// `secret`, else 0644. Fails if the file exists.
    sim::Status Write(const fs::path& relative, std::string_view contents, bool secret = false);
    /// Flushes everything to disk and renames the staged directory to its final name.
    sim::Status Commit();

    const fs::path& final_path() const { return dir_; }

private:
    StagedDirectory(fs::path dir, fs::path staging, bool force)
        : dir_(std::move(dir)), staging_(std::move(staging)), force_(force) {}
    fs::path dir_;
    fs::path staging_;
    bool force_ = false;
    bool committed_ = false;
};

/// A manufacturer CA as loaded from a `ca` output directory.
struct CaChain {
    CertificateAuthority root;
    std::optional<CertificateAuthority> intermediate;
    /// The CA that signs modules and verification certificates: the intermediate if any.
    const CertificateAuthority& issuing() const { return intermediate ? *intermediate : root; }
};

/// Loads DIR/root.pem + DIR/root.key and, if DIR/intermediate.pem exists, DIR/intermediate.pem
/// + DIR/intermediate.key. Errors name the file: "DIR/root.key: the private key does not match
/// the certificate".
sim::Result<CaChain> LoadCaDirectory(const fs::path& dir);
/// Loads a CA from a certificate file (a chain is allowed: CA first) and a key file.
sim::Result<CertificateAuthority> LoadCaFiles(const fs::path& cert, const fs::path& key);

// ---- Outputs. Each writes under `prefix` inside a staged directory. -------------------------

struct CaOptions {
    KeyType key_type = KeyType::kEcP256;
    Days days{7300};
    DistinguishedName subject;  ///< Empty: O=<organization>, CN=<organization> Root CA.
    std::string organization = "elsim Manufacturer";
    bool intermediate = false;
};
/// root.pem, root.key[, intermediate.pem, intermediate.key], chain.pem (issuing CA first).
sim::Result<CaChain> WriteCa(const CaOptions& options, TimePoint now, StagedDirectory& out,
                             const fs::path& prefix = {});

struct ModuleRecord {
    std::string thing_name;
    std::string certificate_id;
    std::string certificate_file;  ///< Relative to the modules directory.
    std::string key_file;
    std::string chain_file;
};
struct ModulesOptions {
    std::size_t count = 1;
    KeyType key_type = KeyType::kEcP256;
    Days days{3650};  ///< Capped at the issuing CA's notAfter.
    std::string organization;
    /// Called after each identity with (done, total); the CLI prints progress from it.
    std::function<void(std::size_t, std::size_t)> progress;
};
/// <ThingName>/{cert.pem, key.pem, chain.pem} for each module, index.json, index.csv.
sim::Result<std::vector<ModuleRecord>> WriteModules(const CertificateAuthority& ca,
                                                    const ModulesOptions& options, TimePoint now,
                                                    StagedDirectory& out,
                                                    const fs::path& prefix = {});

/// The emulated AWS IoT CA: root-ca.pem, root-ca.key.
sim::Result<CertificateAuthority> WriteAwsCa(KeyType key_type, Days days, TimePoint now,
                                             StagedDirectory& out, const fs::path& prefix = {});

/// Claim-thing certificate (AWS-issued, RSA-2048): cert.pem, private.key (RSA PRIVATE KEY),
/// public.key, certificate-id.txt.
sim::Result<AwsIssuedCertificate> WriteClaim(const CertificateAuthority& aws_ca, TimePoint now,
                                             StagedDirectory& out, const fs::path& prefix = {});

/// Verification certificate: verification.pem, verification.key, certificate-id.txt.
sim::Result<IssuedCertificate> WriteVerification(const CertificateAuthority& ca,
                                                 std::string_view registration_code, Days days,
                                                 TimePoint now, StagedDirectory& out,
                                                 const fs::path& prefix = {});

/// Server certificate: cert.pem, key.pem, chain.pem (cert + CA), certificate-id.txt.
sim::Result<IssuedCertificate> WriteServer(const CertificateAuthority& ca,
                                           const std::vector<std::string>& dns_names,
                                           const std::vector<std::string>& ip_addresses,
                                           KeyType key_type, Days days, TimePoint now,
                                           StagedDirectory& out, const fs::path& prefix = {});

/// One broken case (see WriteBroken).
struct BrokenCase {
    std::string name;
    std::string description;
    std::string certificate_id;
    std::string expected_openssl_error;  ///< What `openssl verify` prints (empty: verifies).
};
/// The broken cases, each in its own folder <case>/ with cert.pem, key.pem, and ca.pem +
/// ca.key for the cases with their own CA; index.json lists them:
/// expired, not-yet-valid, no-client-auth, unregistered-ca, look-alike-ca,
/// chain-without-ca, chain-with-ca.
sim::Result<std::vector<BrokenCase>> WriteBroken(const CaChain& ca, TimePoint now,
                                                 StagedDirectory& out,
                                                 const fs::path& prefix = {});

/// Reads a PEM file and returns the certificateId of its first certificate; errors name it.
sim::Result<std::string> CertificateIdOfFile(const fs::path& file);

}  // namespace pki
