// SPDX-License-Identifier: Apache-2.0
// `elsim bench`: the benchmarks each issue names. Each component adds a subcommand here.
#include "verbs.hpp"

namespace elsim {

void AddPkiBench(CLI::App& bench, VerbContext& context);  // pki/cli/bench_pki.cpp
void AddControlPlaneBench(CLI::App& bench, VerbContext& context);  // sim/control-plane/cli
void AddModulesBench(CLI::App& bench, VerbContext& context);  // sim/module/cli
void AddClockBench(CLI::App& bench, VerbContext& context);  // sim/module/cli/bench_clock.cpp
void AddConnectBench(CLI::App& bench, VerbContext& context);  // sim/world/cli/bench_connect.cpp
void AddClaimBench(CLI::App& bench, VerbContext& context);  // sim/oem-account/cli/src/bench_claim.cpp
void AddSuiteBench(CLI::App& bench, VerbContext& context);  // sim/scenario/cli/run_verb.cpp
void AddFleetBench(CLI::App& bench, VerbContext& context);  // sim/device/cli/bench_fleet.cpp

void AddBenchVerb(CLI::App& app, VerbContext& context) {
    auto* bench = app.add_subcommand(
        "bench", "Measure throughput (print figures; benchmarks are not timed tests)");
    bench->require_subcommand(1);
    AddPkiBench(*bench, context);
    AddControlPlaneBench(*bench, context);
    AddModulesBench(*bench, context);
    AddConnectBench(*bench, context);
    AddClaimBench(*bench, context);
    AddSuiteBench(*bench, context);
    AddFleetBench(*bench, context);
    AddClockBench(*bench, context);
}

}  // namespace elsim
