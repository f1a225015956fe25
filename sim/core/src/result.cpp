// SPDX-License-Identifier: Apache-2.0
#include "sim/core/result.hpp"

namespace sim {

const char* ToString(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return "invalid_argument";
        case ErrorCode::kNotFound:
            return "not_found";
        case ErrorCode::kAlreadyExists:
            return "already_exists";
        case ErrorCode::kFailedPrecondition:
            return "failed_precondition";
        case ErrorCode::kPermissionDenied:
            return "permission_denied";
        case ErrorCode::kResourceExhausted:
            return "resource_exhausted";
        case ErrorCode::kUnavailable:
            return "unavailable";
        case ErrorCode::kIo:
            return "io";
        case ErrorCode::kInternal:
            return "internal";
    }
    return "unknown";
}

}  // namespace sim
