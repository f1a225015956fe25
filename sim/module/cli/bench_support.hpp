// SPDX-License-Identifier: Apache-2.0
#pragma once
// What `elsim bench modules` and `elsim bench clock` both do around their measurements: a
// scratch directory for the run, and how many modules still answer as connected afterwards.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/adapters.hpp"
#include "sim/core/result.hpp"
#include "sim/module/software_module.hpp"

namespace elsim {

/// The temporary directory of one run, removed with everything in it, named `prefix`-...
/// below `parent`; when `parent` is empty, below tmpfs when there is one (10,000 identities are
/// 40,000 files; on a disk mounted with `discard`, removing them took minutes; tmpfs pages are
/// not in the process's RSS), else the system temporary directory.
sim::Result<sim::ScratchDirectory> MakeBenchScratch(const std::string& parent,
                                                    const std::string& prefix);

/// How many of `modules` answer AT+CONNECT? as connected ("OK 1 ...").
std::size_t CountConnected(const std::vector<std::shared_ptr<sim::module::SoftwareModule>>& modules);

}  // namespace elsim
