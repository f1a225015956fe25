// SPDX-License-Identifier: Apache-2.0
#pragma once
// Each component adds its verb to the one `elsim` executable through a function declared here
// and defined in that component's cli library. A verb's callback stores its exit status in
// `VerbContext::exit_code`, one convention for every verb (also in `elsim --help`):
//   0 success; 1 the thing checked failed (a module, a scenario, a claim refused); 2 bad input
//   or usage (a missing file, bad YAML, an unknown option); 3 the environment is unusable (an
//   address in use, mosquitto missing, a file that cannot be written).

#include <CLI/CLI.hpp>

namespace elsim {

struct VerbContext {
    int exit_code = 0;
};

/// Exit statuses shared by every verb.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    ///< The work ran and something failed (a scenario, a claim).
inline constexpr int kExitBadInput = 2;  ///< The input was refused; nothing was changed.
inline constexpr int kExitEnvironment = 3;  ///< The machine cannot do it (address in use, no
                                            ///< mosquitto); the input may be right.

void AddPkiVerb(CLI::App& app, VerbContext& context);    // pki/cli
void AddModuleVerb(CLI::App& app, VerbContext& context);  // sim/module/cli
void AddAccountVerb(CLI::App& app, VerbContext& context);  // sim/control-plane/cli
void AddWorldVerb(CLI::App& app, VerbContext& context);  // sim/world/cli
void AddClaimVerb(CLI::App& app, VerbContext& context);    // sim/staging/cli
void AddStagingVerb(CLI::App& app, VerbContext& context);  // sim/staging/cli
void AddBenchVerb(CLI::App& app, VerbContext& context);  // sim/elsim/bench.cpp
void AddOnboardVerb(CLI::App& app, VerbContext& context);  // sim/oem-account/cli: onboard, oem-account
void AddRunVerb(CLI::App& app, VerbContext& context);  // sim/scenario/cli: run
void AddScenarioVerb(CLI::App& app, VerbContext& context);  // sim/scenario/cli: scenario
void AddAwsVerb(CLI::App& app, VerbContext& context);  // sim/scenario/cli: aws cleanup
void AddDeviceVerb(CLI::App& app, VerbContext& context);  // sim/device/cli

}  // namespace elsim
