// SPDX-License-Identifier: Apache-2.0
#pragma once
// The account's Lambda stand-ins (adapter, used by AccountHost): what serves a function ARN a
// provisioning template names as its pre-provisioning hook. The world writes them, one file
// per account, from the world file's `lambda_functions:` (sim/world/world_spec.hpp):
//
//   {"functions": [{"arn": "arn:aws:lambda:...:function:check", "command": ["python3", "x.py"]},
//                  {"arn": "arn:aws:lambda:...:function:hook", "url": "http://127.0.0.9:8080/h"}]}
//
// A command gets the invocation's input JSON on its standard input and writes the function's
// output JSON on its standard output; exiting non-zero is a function error. A URL gets the
// input as the body of an HTTP POST and answers 200 with the output as its body. Only
// 127.0.0.0/8 addresses are reachable (no name is resolved).
//
// Threading: Invoke blocks for at most the time limit; call it from a worker thread, never
// from mosquitto's. Several invocations may run at once.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/result.hpp"

namespace sim::broker {

struct LambdaFunction {
    std::string arn;
    std::vector<std::string> command;  ///< argv (PATH searched for argv[0]); or
    std::string url;                   ///< http://<127.x.y.z>:<port>/<path>
};

/// Function ARN -> its stand-in.
using LambdaFunctions = std::map<std::string, LambdaFunction>;

/// Reads the `{"functions": [...]}` document. Errors name the entry and the field.
sim::Result<LambdaFunctions> ParseLambdaFunctions(const nlohmann::json& document);

/// Reads the file the world wrote (plugin_opt_lambda_functions). Errors name the file.
sim::Result<LambdaFunctions> LoadLambdaFunctions(const std::filesystem::path& file);

/// Runs `function` with `input` and returns its output text. Errors: the command could not
/// start, exited non-zero or was killed, the URL did not answer 200, the output exceeded 6 MB,
/// or `limit` passed (the command is killed). `cancel` (set at shutdown) stops waiting early.
sim::Result<std::string> InvokeLambda(const LambdaFunction& function, std::string_view input,
                                      std::chrono::milliseconds limit,
                                      const std::atomic<bool>& cancel);

}  // namespace sim::broker
