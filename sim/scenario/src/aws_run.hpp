// SPDX-License-Identifier: Apache-2.0
#pragma once
// The accounts of a run against real AWS (adapter, private to sim/scenario): one control-plane
// client per OEM account of accounts.yaml (SigV4, that account's credentials and region), the
// account check, the run prefix and tags on everything created, the ledger of what the run
// created (a JSON-lines file written before the run goes on), and the clean-up that deletes it
// again, checking ownership before every delete.
//
// Ownership (nothing is deleted without it):
//   thing        attribute elsim-run = prefix, or named by an identity this run made
//   certificate  in the ledger (created by a call of this run, or a birth/client identity this
//                run generated)
//   ca           in the ledger (a successful RegisterCACertificate of this run)
//   policy, template, thing type/group
//                the name starts with "PREFIX-" and, where the account answers
//                ListTagsForResource, the tag elsim-run = prefix
//
// Account check: STS is not used (not emulated): the first write of a run is a deny-all
// policy "PREFIX-run" whose ARN names the account that holds it; a different account id than
// accounts.yaml's stops the run at once (the policy is deleted again). Replies' ARNs are
// checked the same way for every later call.
//
// Threading: Call() may be called from several threads (the JITR handler, parallel steps).

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"
#include "sim/scenario/aws_cleanup.hpp"
#include "sim/scenario/aws_target.hpp"

namespace sim::scenario {

/// One ledger line: what was created, in which account.
struct LedgerEntry {
    std::string account;     ///< The scenario's account name.
    std::string account_id;
    aws::Created created;
};

/// Reads every ledger line of `file` (missing file: none). Lines that do not parse are
/// skipped.
std::vector<LedgerEntry> ReadLedger(const std::filesystem::path& file);

class AwsRun {
public:
    /// `ledger` is appended to (created with its folder).
    AwsRun(aws::AccountsFile accounts, std::string prefix, std::filesystem::path ledger);
    ~AwsRun();
    AwsRun(const AwsRun&) = delete;
    AwsRun& operator=(const AwsRun&) = delete;

    const aws::AccountsFile& accounts() const { return accounts_; }
    const std::string& prefix() const { return prefix_; }

    /// The client of an OEM account (nullptr for staging or an unmapped name). Errors of
    /// credentials are reported by Open().
    controlplane::AwsClient* Client(const std::string& account);

    /// Makes the account's client and checks it: credentials resolve, DescribeEndpoint
    /// (iot:Data-ATS) answers, the marker policy's ARN names the listed account id. Returns
    /// the data endpoint's host name.
    sim::Result<std::string, std::string> Open(const std::string& account);

    /// A call as the scenario wrote it: names prefixed (except `keep`), creates tagged, the
    /// reply's ARNs checked against the account id, what it created written to the ledger
    /// before this returns, and the prefix taken out of the reply.
    sim::Result<nlohmann::json, controlplane::AwsErrorReply> Call(
        const std::string& account, const std::string& operation, const nlohmann::json& arguments,
        const std::set<std::string>& keep);

    /// Records something this run made outside a call (an identity generated for an actor).
    void Record(const std::string& account, const aws::Created& created);

    /// The host name `host` resolves to for this run: the hosts map of accounts.yaml, else
    /// the name itself (DNS).
    std::string Resolve(const std::string& host) const;

    /// Deletes what the ledger names, in dependency order, each after its ownership check.
    /// `print` gets one line per resource ("deleted policy elsim-1a2b3c-Device in oem-a").
    /// Returns how many could not be deleted.
    int Cleanup(bool dry_run, const std::function<void(const std::string&)>& print);

private:
    aws::AccountsFile accounts_;
    std::string prefix_;
    std::filesystem::path ledger_;
    std::mutex mutex_;
    std::map<std::string, std::unique_ptr<controlplane::AwsClient>> clients_;
    std::vector<LedgerEntry> created_;
    std::set<std::string> identity_names_;  ///< ThingNames of identities this run generated.
};

}  // namespace sim::scenario
