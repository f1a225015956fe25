// SPDX-License-Identifier: Apache-2.0
#pragma once
// Message helpers shared by the onboarding sources (private to the library).

#include <string>
#include <string_view>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"

namespace sim::onboarding::internal {

/// `error` with "<step>: " in front of its message.
inline sim::Error Wrap(std::string_view step, const sim::Error& error) {
    return sim::Error{error.code, std::string(step) + ": " + error.message};
}

/// "<operation>: <AWS error type>: <message>", or "control plane unreachable" when no reply came.
inline std::string AwsMessage(std::string_view operation,
                              const controlplane::AwsErrorReply& reply) {
    if (reply.status == 0) {
        return std::string(operation) + ": control plane unreachable: " + reply.message;
    }
    return std::string(operation) + ": " + reply.type + ": " + reply.message;
}

inline bool StartsWith(const std::string& text, std::string_view prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace sim::onboarding::internal
