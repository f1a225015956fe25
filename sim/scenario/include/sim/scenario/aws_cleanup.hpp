// SPDX-License-Identifier: Apache-2.0
#pragma once
// Removing later what a run against real AWS left (adapter): `elsim aws cleanup`.

#include <filesystem>
#include <functional>
#include <string>

#include "sim/core/result.hpp"
#include "sim/scenario/aws_target.hpp"

namespace sim::scenario {

/// `elsim aws cleanup`: for every OEM account of `accounts`, finds what a run with `prefix`
/// left (the ledgers under `ledger_dir` named PREFIX*.jsonl, things with the attribute
/// elsim-run = prefix, policies and templates named PREFIX-...) and deletes it after the
/// ownership check (dry_run: only prints). Returns how many could not be deleted; errors:
/// the prefix is not a run prefix, an account's credentials do not resolve.
sim::Result<int> CleanupPrefix(const aws::AccountsFile& accounts, const std::string& prefix,
                               const std::filesystem::path& ledger_dir, bool dry_run,
                               const std::function<void(const std::string&)>& print);

}  // namespace sim::scenario
