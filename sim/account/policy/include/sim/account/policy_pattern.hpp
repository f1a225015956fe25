// SPDX-License-Identifier: Apache-2.0
#pragma once
// Compiled policy strings: the Resource, NotResource, Action and Condition values of an IoT
// policy, with policy variables and wildcards parsed once (at CreatePolicy) so that the broker's
// per-message checks do no parsing.
//
// Semantics (AWS IoT Core Developer Guide, 'AWS IoT Core policy variables', 'X.509 Certificate AWS
// IoT Core policy variables', 'Publish/Subscribe policy examples'):
// - `*` matches any run of characters, including `/` and the empty run; `?` matches exactly
//   one character. Every other character is literal, including MQTT's `+` and `#`.
// - `${*}`, `${?}` and `${$}` stand for the literal characters `*`, `?` and `$`.
// - `${name}` is a policy variable. A substituted value is always literal text: a client ID
//   "a*b" does not become a wildcard (Assumed: AWS does not document this case).
// - A variable that cannot be resolved (unknown name, no thing, missing attribute or index,
//   a certificate value containing `* $ + ? #` or longer than 1024 characters) leaves the
//   `${...}` text in place in AWS, "which might cause authorization failure". Here a pattern
//   holding an unresolved variable matches nothing (Assumed: identical to AWS except for a
//   resource that literally contains the `${...}` text).
//
// Matching runs in O(|pattern| * |value|) time in the worst case and O(1) extra space: there is
// no backtracking beyond the last `*` seen, so adversarial patterns cannot blow up.
// Thread-safety: a compiled PolicyPattern is immutable; concurrent Matches() calls are safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/account/policy_identity.hpp"

namespace sim::account {

/// A parsed `${...}` reference. Built by PolicyVariable::Parse; resolved against a
/// ClientIdentity.
struct PolicyVariable {
    enum class Source : std::uint8_t {
        kUnknown,            ///< Never resolves.
        kClientId,           ///< iot:ClientId
        kSourceIp,           ///< aws:SourceIp
        kDomainName,         ///< iot:DomainName
        kThingName,          ///< iot:Connection.Thing.ThingName
        kThingTypeName,      ///< iot:Connection.Thing.ThingTypeName
        kThingAttribute,     ///< iot:Connection.Thing.Attributes[<name>]
        kThingIsAttached,    ///< iot:Connection.Thing.IsAttached ("true" / "false")
        kSubject,            ///< iot:Certificate.Subject.<name>[.N|.List]
        kIssuer,             ///< iot:Certificate.Issuer.<name>[.N|.List]
        kCertificateSerial,  ///< iot:Certificate.SerialNumber
    };
    Source source = Source::kUnknown;
    std::string name;         ///< Thing attribute name, or canonical certificate attribute name.
    std::uint32_t index = 0;  ///< Certificate value position (0 = first); see Parse.
    bool list = false;        ///< `.List` suffix: every value (conditions only).

    /// Parses a variable or condition-key name such as "iot:Certificate.Subject.Country.1".
    /// The fixed parts are matched case-insensitively (Assumed, following IAM's rule that
    /// condition keys are case-insensitive); attribute names inside `[...]` are exact.
    /// Index suffix: cert-policy-variables says "`iot:Certificate.Subject.Country.1` is
    /// replaced by the second country name"; so `.N` selects the value at zero-based position
    /// N, and the bare name the first one. Unknown names give Source::kUnknown.
    static PolicyVariable Parse(std::string_view name);
};

/// The single value `variable` resolves to for `client`, or false when unresolvable (then
/// `out` is untouched). `.List` variables do not resolve here (a resource is one string).
/// `out` views `client` (or static storage) and is valid while `client` is.
bool ResolveVariable(const PolicyVariable& variable, const ClientIdentity& client,
                     std::string_view& out);

/// Up to kMaxCertificateValues values of `variable` for condition evaluation: one value for
/// single-valued variables, all (first five) values for `.List`. Returns how many were written
/// to `out`; 0 means the key is absent from the request context.
inline constexpr std::size_t kMaxCertificateValues = 5;  // cert-policy-variables "Array fields"
std::size_t ResolveVariableValues(const PolicyVariable& variable, const ClientIdentity& client,
                                  std::array<std::string_view, kMaxCertificateValues>& out);

/// A compiled policy string.
class PolicyPattern {
public:
    /// Whether `${...}` is substituted. Only "Version": "2012-10-17" documents substitute
    /// variables (IAM: policy variables need version 2012-10-17); older ones keep `${...}`
    /// literal.
    enum class Variables : std::uint8_t { kSubstitute, kLiteral };
    /// Whether `*` and `?` are wildcards (Resource, Action, StringLike) or literal
    /// (StringEquals, Bool).
    enum class Wildcards : std::uint8_t { kEnabled, kLiteral };

    PolicyPattern() = default;
    /// Never fails: every string is a valid pattern (an unterminated `${` is literal text).
    static PolicyPattern Compile(std::string_view text, Variables variables, Wildcards wildcards);

    /// True when `value` matches this pattern after substituting `client`'s variables. With
    /// `ignore_case`, ASCII letters compare case-insensitively (IAM action names). Allocates
    /// only for patterns of more than 16 pieces.
    bool Matches(std::string_view value, const ClientIdentity& client,
                 bool ignore_case = false) const;

    /// The pattern with variables substituted and escapes applied, for explain mode and tests.
    /// Unresolved variables are kept as their `${...}` text and `all_resolved` is false.
    struct Substitution {
        std::string text;
        bool all_resolved = true;
    };
    Substitution Substitute(const ClientIdentity& client) const;

    const std::string& Text() const noexcept { return text_; }  ///< As written in the policy.
    bool HasVariables() const noexcept { return has_variables_; }

private:
    enum class TokenKind : std::uint8_t { kLiteral, kAnyRun, kAnyOne, kVariable };
    struct Token {
        TokenKind kind = TokenKind::kLiteral;
        std::string literal;      ///< kLiteral: the text; kVariable: the `${...}` source text.
        PolicyVariable variable;  ///< kVariable only.
    };
    /// Precomputed fast paths for variable-free patterns.
    enum class Shape : std::uint8_t { kGeneral, kExact, kPrefix, kAny };

    std::string text_;
    std::vector<Token> tokens_;
    bool has_variables_ = false;
    Shape shape_ = Shape::kGeneral;
};

/// `*`/`?` glob match of a plain string pattern (no variables), case-sensitive. The function
/// the fuzz target drives; PolicyPattern uses the same matcher.
bool WildcardMatch(std::string_view pattern, std::string_view value);

}  // namespace sim::account
