// SPDX-License-Identifier: Apache-2.0
#pragma once
// FileDefaultModeCaIndex: the DEFAULT-mode CA index of a world whose accounts run in separate
// mosquitto processes (adapter: files). AWS: "a CA certificate can be registered in DEFAULT
// mode by only one account in a Region"; SNI_ONLY CAs by several (AWS IoT Core Developer
// Guide, 'Manage your CA certificates').
//
// Layout: one file per slot in `directory` (the world's DIR/shared/default-mode-cas/), named
// "<region>.<caCertificateId>" (SlotFileName) and holding "<accountId>\n" (SlotContents).
//
// Contract
//  - Claim: the contents are written to a temporary file (created with O_CREAT|O_EXCL in the
//    same directory, fsynced), which is then hard-linked to the slot name. link(2) fails with
//    EEXIST when the slot is taken, so exactly one account wins and a slot file is never seen
//    half-written. Claiming a slot the same account already owns succeeds (so a crash between
//    the claim and the registry's commit never locks the owner out).
//  - Release: only the owner's release removes the slot; a release by another account, or of
//    a free slot, changes nothing.
//  - Mirrors sim::account::Registry's use of the index: claimed by RegisterCACertificate in
//    DEFAULT mode (and again by Registry::Load), released by DeleteCACertificate of a DEFAULT
//    CA (a CA's mode cannot change). ReleaseAllExcept lets an account drop, at start, slots it
//    holds for CAs its registry no longer has (a crash between claim and commit).
//  - Thread-safe; safe across processes (the file system arbitrates). Blocking: a few small
//    file operations and fsyncs per call.
//  - Errors (I/O, a corrupt slot file) fail closed in the DefaultModeCaIndex overrides:
//    TryClaim answers false (the registry then refuses the registration) and Release leaves the
//    slot; both log one line naming the file (logger "broker").

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/account/registry.hpp"
#include "sim/core/result.hpp"

namespace sim::broker {

class FileDefaultModeCaIndex final : public sim::account::DefaultModeCaIndex {
public:
    /// Uses `directory`, which must exist, be a directory and be writable. Errors:
    /// kNotFound "<dir>: no such directory", kInvalidArgument "<dir>: not a directory",
    /// kPermissionDenied "<dir>: not writable".
    static sim::Result<std::unique_ptr<FileDefaultModeCaIndex>> Open(
        const std::filesystem::path& directory);

    /// Claims the slot for `account_id`: true when it was free or is already held by
    /// `account_id`, false when another account holds it. Errors: kInvalidArgument (bad region,
    /// id or account id; a corrupt slot file, naming it), kIo.
    sim::Result<bool> ClaimSlot(std::string_view region, std::string_view ca_certificate_id,
                                std::string_view account_id);

    enum class ReleaseOutcome { kReleased, kWasFree, kHeldByAnother };
    /// Releases the slot when `account_id` holds it. Errors as ClaimSlot.
    sim::Result<ReleaseOutcome> ReleaseSlot(std::string_view region,
                                            std::string_view ca_certificate_id,
                                            std::string_view account_id);

    /// The account holding the slot; empty when it is free.
    sim::Result<std::string> Owner(std::string_view region,
                                   std::string_view ca_certificate_id) const;

    /// Releases every slot of `region` held by `account_id` whose CA id is not in `keep`;
    /// returns the released CA ids. Slots of other accounts and regions are not touched.
    sim::Result<std::vector<std::string>> ReleaseAllExcept(std::string_view region,
                                                           std::string_view account_id,
                                                           const std::set<std::string>& keep);

    // sim::account::DefaultModeCaIndex (errors logged, fail closed).
    bool TryClaim(std::string_view region, std::string_view ca_certificate_id,
                  std::string_view account_id) override;
    void Release(std::string_view region, std::string_view ca_certificate_id,
                 std::string_view account_id) override;

    const std::filesystem::path& directory() const { return directory_; }

private:
    explicit FileDefaultModeCaIndex(std::filesystem::path directory)
        : directory_(std::move(directory)) {}
    std::filesystem::path directory_;
};

}  // namespace sim::broker
