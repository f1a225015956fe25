// SPDX-License-Identifier: Apache-2.0
// Evaluate on the hot paths the broker takes: an ExpressLink module under the staging policy
// (client/topic/topicfilter resources with ${iot:Connection.Thing.ThingName}). Not a test; run
// build/.../sim_account_policy_bench and read the figures.
#include "policy_test_support.hpp"
#include <benchmark/benchmark.h>

namespace sim::account {
namespace {

// The staging statements plus a Deny, so every decision also walks a Deny statement.
const std::string kStaging = testing::PolicyJson(std::string(testing::kStagingStatements) + R"(,
    {"Effect": "Deny", "Action": "iot:Publish",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/admin/*"})");

void Run(benchmark::State& state, Action action, const std::string& resource, Explain explain) {
    const ClientIdentity identity = testing::ModuleIdentity();
    const std::vector<NamedPolicy> effective = {{"staging", testing::MustParse(kStaging)}};
    const AuthzRequest request{action, {}, resource, &identity};
    for (auto _ : state) {
        Decision decision = Evaluate(effective, request, explain);
        benchmark::DoNotOptimize(decision);
    }
}

void BM_PublishAllowed(benchmark::State& state) {
    Run(state, Action::kPublish, testing::Arn("topic", "0123456789abcdef/sensors/temperature"),
        Explain::kNo);
}
void BM_PublishDeniedOutside(benchmark::State& state) {
    Run(state, Action::kPublish, testing::Arn("topic", "someone/else/topic"), Explain::kNo);
}
void BM_ReceiveAllowed(benchmark::State& state) {
    Run(state, Action::kReceive, testing::Arn("topic", "0123456789abcdef/expresslink_config"),
        Explain::kNo);
}
void BM_PublishAllowedExplain(benchmark::State& state) {
    Run(state, Action::kPublish, testing::Arn("topic", "0123456789abcdef/sensors/temperature"),
        Explain::kYes);
}
void BM_ParseStagingPolicy(benchmark::State& state) {
    for (auto _ : state) {
        auto parsed = ParsePolicyDocument(kStaging);
        benchmark::DoNotOptimize(parsed);
    }
}

BENCHMARK(BM_PublishAllowed);
BENCHMARK(BM_PublishDeniedOutside);
BENCHMARK(BM_ReceiveAllowed);
BENCHMARK(BM_PublishAllowedExplain);
BENCHMARK(BM_ParseStagingPolicy);

}  // namespace
}  // namespace sim::account

BENCHMARK_MAIN();
