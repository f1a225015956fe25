// SPDX-License-Identifier: Apache-2.0
// Policy evaluation (AWS IoT Core Developer Guide, 'AWS IoT Core policies', and IAM's evaluation
// logic): default deny, an applicable Deny wins over every Allow, across every effective policy.
#include <cstring>
#include <string>

#include "policy_text.hpp"
#include <arpa/inet.h>

#include "sim/account/policy.hpp"

namespace sim::account {
namespace {

using Qualifier = PolicyCondition::SetQualifier;

const ClientIdentity& EmptyIdentity() {
    static const ClientIdentity kEmpty;
    return kEmpty;
}

bool IsNegated(ConditionOperator op) {
    return op == ConditionOperator::kStringNotEquals ||
           op == ConditionOperator::kStringNotEqualsIgnoreCase ||
           op == ConditionOperator::kStringNotLike || op == ConditionOperator::kNotIpAddress;
}

bool CidrContains(const PolicyCondition::Cidr& cidr, const std::array<std::uint8_t, 16>& bytes,
                  std::size_t length) {
    if (length != cidr.length) {
        return false;
    }
    std::size_t bits = cidr.prefix_bits;
    for (std::size_t i = 0; i < length && bits > 0; ++i) {
        const std::size_t take = bits >= 8 ? 8 : bits;
        const auto mask = static_cast<std::uint8_t>(0xFFU << (8 - take));
        if ((bytes[i] & mask) != (cidr.bytes[i] & mask)) {
            return false;
        }
        bits -= take;
    }
    return true;
}

// The positive sense of the operator for one request value: does any policy value match it?
bool AnyValueMatches(const PolicyCondition& condition, std::string_view request_value,
                     const ClientIdentity& client) {
    switch (condition.op) {
        case ConditionOperator::kStringEquals:
        case ConditionOperator::kStringNotEquals:
        case ConditionOperator::kStringLike:
        case ConditionOperator::kStringNotLike:
            for (const PolicyPattern& value : condition.values) {
                if (value.Matches(request_value, client)) {
                    return true;
                }
            }
            return false;
        case ConditionOperator::kStringEqualsIgnoreCase:
        case ConditionOperator::kStringNotEqualsIgnoreCase:
        case ConditionOperator::kBool:
            for (const PolicyPattern& value : condition.values) {
                if (value.Matches(request_value, client, /*ignore_case=*/true)) {
                    return true;
                }
            }
            return false;
        case ConditionOperator::kIpAddress:
        case ConditionOperator::kNotIpAddress: {
            std::array<std::uint8_t, 16> bytes = {};
            std::size_t length = 0;
            const std::string address(request_value);
            if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
                length = 4;
            } else if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
                length = 16;
            } else {
                return false;
            }
            for (const auto& cidr : condition.cidrs) {
                if (CidrContains(cidr, bytes, length)) {
                    return true;
                }
            }
            return false;
        }
        case ConditionOperator::kNull:
        case ConditionOperator::kUnsupported:
            return false;
    }
    return false;
}

// IAM condition semantics: a key missing from the request context fails positive operators
// and satisfies negated ones; `...IfExists` makes a missing key satisfy any operator;
// `ForAllValues:` holds for an empty set, `ForAnyValue:` does not.
bool ConditionHolds(const PolicyCondition& condition, const ClientIdentity& client) {
    if (condition.op == ConditionOperator::kUnsupported) {
        // Not emulated: operators outside the subset in policy.hpp never hold, so their
        // statement never applies (for a Deny statement, that is more permissive than AWS).
        return false;
    }
    std::array<std::string_view, kMaxCertificateValues> values;
    const std::size_t count = ResolveVariableValues(condition.key, client, values);
    if (condition.op == ConditionOperator::kNull) {
        // "Null": {"key": "true"} holds when the key is absent, "false" when it is present.
        for (const PolicyPattern& value : condition.values) {
            const bool want_absent = detail::IEquals(value.Text(), "true");
            if (want_absent == (count == 0)) {
                return true;
            }
        }
        return false;
    }
    const bool negated = IsNegated(condition.op);
    if (count == 0) {
        if (condition.if_exists || condition.qualifier == Qualifier::kForAllValues) {
            return true;
        }
        if (condition.qualifier == Qualifier::kForAnyValue) {
            return false;
        }
        return negated;
    }
    switch (condition.qualifier) {
        case Qualifier::kNone: {
            // Assumed: a multi-valued key without a set qualifier behaves as ForAnyValue for
            // positive operators and as "matches none" for negated ones.
            bool any = false;
            for (std::size_t i = 0; i < count && !any; ++i) {
                any = AnyValueMatches(condition, values[i], client);
            }
            return negated ? !any : any;
        }
        case Qualifier::kForAnyValue:
            for (std::size_t i = 0; i < count; ++i) {
                if (AnyValueMatches(condition, values[i], client) != negated) {
                    return true;
                }
            }
            return false;
        case Qualifier::kForAllValues:
            for (std::size_t i = 0; i < count; ++i) {
                if (AnyValueMatches(condition, values[i], client) == negated) {
                    return false;
                }
            }
            return true;
    }
    return false;
}

bool ActionApplies(const PolicyStatement& statement, const AuthzRequest& request,
                   const ClientIdentity& client) {
    const auto index = static_cast<std::size_t>(request.action);
    if (index < kKnownActionCount) {
        return (statement.known_action_mask & (1U << index)) != 0;
    }
    bool listed = false;
    for (const PolicyPattern& pattern : statement.actions) {
        if (pattern.Matches(request.action_name, client, /*ignore_case=*/true)) {
            listed = true;
            break;
        }
    }
    return listed != statement.not_action;
}

bool ResourceApplies(const PolicyStatement& statement, const AuthzRequest& request,
                     const ClientIdentity& client) {
    bool listed = false;
    for (const PolicyPattern& pattern : statement.resources) {
        if (pattern.Matches(request.resource, client)) {
            listed = true;
            break;
        }
    }
    return listed != statement.not_resource;
}

bool StatementApplies(const PolicyStatement& statement, const AuthzRequest& request,
                      const ClientIdentity& client) {
    if (!ActionApplies(statement, request, client) ||
        !ResourceApplies(statement, request, client)) {
        return false;
    }
    for (const PolicyCondition& condition : statement.conditions) {
        if (!ConditionHolds(condition, client)) {
            return false;
        }
    }
    return true;
}

std::string StatementReason(std::string_view prefix, const NamedPolicy& policy,
                            std::size_t statement_index) {
    std::string reason(prefix);
    reason += " by policy '";
    reason += policy.name;
    reason += "' statement ";
    reason += std::to_string(statement_index);
    const std::string& sid = policy.document->statements[statement_index].sid;
    if (!sid.empty()) {
        reason += " (Sid \"";
        reason += sid;
        reason += "\")";
    }
    return reason;
}

}  // namespace

Decision Evaluate(std::span<const NamedPolicy> effective, const AuthzRequest& request,
                  Explain explain) {
    const ClientIdentity& client = request.client != nullptr ? *request.client : EmptyIdentity();
    Decision decision;
    bool have_allow = false;
    for (std::size_t p = 0; p < effective.size(); ++p) {
        const NamedPolicy& policy = effective[p];
        if (!policy.document) {
            continue;
        }
        const auto& statements = policy.document->statements;
        for (std::size_t s = 0; s < statements.size(); ++s) {
            const PolicyStatement& statement = statements[s];
            // Once an Allow is known, only a Deny can change the answer.
            if (have_allow && statement.effect == PolicyEffect::kAllow) {
                continue;
            }
            if (!StatementApplies(statement, request, client)) {
                continue;
            }
            if (statement.effect == PolicyEffect::kDeny) {
                decision.allowed = false;
                decision.basis = Decision::Basis::kExplicitDeny;
                decision.policy_index = p;
                decision.statement_index = s;
                if (explain == Explain::kYes) {
                    decision.reason = StatementReason("explicit deny", policy, s);
                }
                return decision;
            }
            have_allow = true;
            decision.policy_index = p;
            decision.statement_index = s;
        }
    }
    if (have_allow) {
        decision.allowed = true;
        decision.basis = Decision::Basis::kAllowed;
        if (explain == Explain::kYes) {
            decision.reason = StatementReason("allowed", effective[decision.policy_index],
                                              decision.statement_index);
        }
        return decision;
    }
    decision.allowed = false;
    decision.basis = Decision::Basis::kNoAllow;
    if (explain == Explain::kYes) {
        if (effective.empty()) {
            decision.reason = "no allow: no policies attached";
        } else {
            const std::string_view action =
                request.action == Action::kOther ? request.action_name : ActionName(request.action);
            decision.reason = "no allow: no statement of " + std::to_string(effective.size()) +
                              (effective.size() == 1 ? " policy" : " policies") + " allows " +
                              std::string(action) + " on " + std::string(request.resource);
        }
    }
    return decision;
}

}  // namespace sim::account
