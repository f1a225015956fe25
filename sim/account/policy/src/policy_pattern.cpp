// SPDX-License-Identifier: Apache-2.0
// Policy variables and wildcard matching (AWS IoT Core Developer Guide, 'AWS IoT Core policy
// variables' and its pages on basic, thing and X.509 certificate policy variables).
#include "sim/account/policy_pattern.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "policy_text.hpp"

namespace sim::account {
namespace {

using detail::AsciiLower;
using detail::IEndsWith;
using detail::IEquals;
using detail::IStartsWith;

constexpr std::string_view kThingAttributesPrefix = "iot:Connection.Thing.Attributes[";
constexpr std::string_view kSubjectPrefix = "iot:Certificate.Subject.";
constexpr std::string_view kIssuerPrefix = "iot:Certificate.Issuer.";
constexpr std::string_view kListSuffix = ".List";

// cert-policy-variables: the subject/issuer attributes and alternative names AWS exposes.
constexpr std::array<std::string_view, 18> kCertificateAttributes = {
    "DistinguishedNameQualifier",
    "Country",
    "Organization",
    "OrganizationalUnit",
    "State",
    "CommonName",
    "SerialNumber",
    "Title",
    "Surname",
    "GivenName",
    "Initials",
    "Pseudonym",
    "GenerationQualifier",
    "AlternativeName.RFC822Name",
    "AlternativeName.DNSName",
    "AlternativeName.DirectoryName",
    "AlternativeName.UniformResourceIdentifier",
    "AlternativeName.IPAddress",
};

// cert-policy-variables "X.509 Certificate policy variable limitations": values holding a
// wildcard character, or longer than 1024 characters, are not substituted.
constexpr std::size_t kMaxCertificateValueChars = 1024;

bool CertificateValueUsable(std::string_view value) {
    return value.size() <= kMaxCertificateValueChars &&
           value.find_first_of("*$+?#") == std::string_view::npos;
}

bool ThingVisible(const ClientIdentity& client) {
    return client.thing.has_value() && client.thing->is_attached;
}

const CertificateFields& FieldsOf(const PolicyVariable& variable, const ClientIdentity& client) {
    return variable.source == PolicyVariable::Source::kSubject ? client.subject : client.issuer;
}

// The glob matcher. A pattern is a sequence of pieces: non-empty literal runs, `*` and `?`.
enum class PieceKind : std::uint8_t { kLiteral, kAnyRun, kAnyOne };
struct Piece {
    PieceKind kind = PieceKind::kLiteral;
    std::string_view text;
};

bool CharEquals(char a, char b, bool ignore_case) {
    return ignore_case ? AsciiLower(a) == AsciiLower(b) : a == b;
}

bool TextEquals(std::string_view a, std::string_view b, bool ignore_case) {
    return ignore_case ? IEquals(a, b) : a == b;
}

// The classic greedy algorithm: advance literally; on a mismatch, let the most recent `*`
// absorb one more character and retry from just after it. Earlier stars never need revisiting
// (any match using them differently can be rearranged to use the last one), so the worst case
// is O(|pattern| * |value|) with no recursion and no extra memory.
bool GlobMatch(const Piece* pieces, std::size_t count, std::string_view value, bool ignore_case) {
    std::size_t t = 0;        // position in value
    std::size_t pi = 0;       // current piece
    std::size_t pk = 0;       // offset inside a literal piece
    bool have_star = false;   // a `*` has been seen
    std::size_t star_pi = 0;  // piece after the last `*`
    std::size_t star_t = 0;   // value position that `*` has absorbed up to
    while (t < value.size()) {
        if (pi < count) {
            const Piece& piece = pieces[pi];
            if (piece.kind == PieceKind::kAnyRun) {
                have_star = true;
                star_pi = pi + 1;
                star_t = t;
                pi = star_pi;
                pk = 0;
                continue;
            }
            if (piece.kind == PieceKind::kAnyOne) {
                ++pi;
                pk = 0;
                ++t;
                continue;
            }
            if (CharEquals(piece.text[pk], value[t], ignore_case)) {
                ++t;
                if (++pk == piece.text.size()) {
                    ++pi;
                    pk = 0;
                }
                continue;
            }
        }
        if (!have_star) {
            return false;
        }
        pi = star_pi;
        pk = 0;
        t = ++star_t;
    }
    while (pi < count && pk == 0 && pieces[pi].kind == PieceKind::kAnyRun) {
        ++pi;
    }
    return pi == count && pk == 0;
}

const ClientIdentity& EmptyIdentity() {
    static const ClientIdentity kEmpty;
    return kEmpty;
}

}  // namespace

PolicyVariable PolicyVariable::Parse(std::string_view name) {
    PolicyVariable variable;
    using S = Source;
    struct Fixed {
        std::string_view name;
        Source source;
    };
    static constexpr std::array<Fixed, 7> kFixed = {{
        {"iot:ClientId", S::kClientId},
        {"aws:SourceIp", S::kSourceIp},
        {"iot:DomainName", S::kDomainName},
        {"iot:Connection.Thing.ThingName", S::kThingName},
        {"iot:Connection.Thing.ThingTypeName", S::kThingTypeName},
        {"iot:Connection.Thing.IsAttached", S::kThingIsAttached},
        {"iot:Certificate.SerialNumber", S::kCertificateSerial},
    }};
    for (const auto& fixed : kFixed) {
        if (IEquals(name, fixed.name)) {
            variable.source = fixed.source;
            return variable;
        }
    }
    if (IStartsWith(name, kThingAttributesPrefix) &&
        name.size() > kThingAttributesPrefix.size() + 1 && name.back() == ']') {
        variable.source = S::kThingAttribute;
        variable.name = std::string(name.substr(kThingAttributesPrefix.size(),
                                                name.size() - kThingAttributesPrefix.size() - 1));
        return variable;
    }
    std::string_view rest;
    Source source = S::kUnknown;
    if (IStartsWith(name, kSubjectPrefix)) {
        rest = name.substr(kSubjectPrefix.size());
        source = S::kSubject;
    } else if (IStartsWith(name, kIssuerPrefix)) {
        rest = name.substr(kIssuerPrefix.size());
        source = S::kIssuer;
    } else {
        return variable;
    }
    if (IEndsWith(rest, kListSuffix)) {
        variable.list = true;
        rest.remove_suffix(kListSuffix.size());
    } else if (const auto dot = rest.rfind('.'); dot != std::string_view::npos) {
        const std::string_view digits = rest.substr(dot + 1);
        if (!digits.empty() && std::all_of(digits.begin(), digits.end(),
                                           [](char c) { return c >= '0' && c <= '9'; })) {
            std::uint32_t index = 0;
            for (const char c : digits) {
                // Anything beyond the five values AWS keeps cannot resolve; saturate.
                index = index > 1000 ? index : index * 10 + static_cast<std::uint32_t>(c - '0');
            }
            variable.index = index;
            rest = rest.substr(0, dot);
        }
    }
    for (const std::string_view attribute : kCertificateAttributes) {
        if (IEquals(rest, attribute)) {
            variable.source = source;
            variable.name = std::string(attribute);
            return variable;
        }
    }
    variable.list = false;
    variable.index = 0;
    return variable;  // kUnknown
}

bool ResolveVariable(const PolicyVariable& variable, const ClientIdentity& client,
                     std::string_view& out) {
    using S = PolicyVariable::Source;
    switch (variable.source) {
        case S::kUnknown:
            return false;
        case S::kClientId:
            // basic-policy-variables: substituted as is; a client ID of "+" yields a
            // topic filter "foo/+/bar", which is why iot:Connect must restrict client IDs.
            out = client.client_id;
            return true;
        case S::kSourceIp:
            if (client.source_ip.empty()) {
                return false;
            }
            out = client.source_ip;
            return true;
        case S::kDomainName:
            if (client.domain_name.empty()) {
                return false;
            }
            out = client.domain_name;
            return true;
        case S::kThingName:
            if (!ThingVisible(client) || client.thing->name.empty()) {
                return false;
            }
            out = client.thing->name;
            return true;
        case S::kThingTypeName:
            if (!ThingVisible(client) || client.thing->type_name.empty()) {
                return false;
            }
            out = client.thing->type_name;
            return true;
        case S::kThingAttribute: {
            if (!ThingVisible(client)) {
                return false;
            }
            const auto it = client.thing->attributes.find(variable.name);
            if (it == client.thing->attributes.end()) {
                return false;
            }
            out = it->second;
            return true;
        }
        case S::kThingIsAttached:
            // Assumed: without an associated, attached thing the variable is "false" rather
            // than unresolved (thing-policy-variables: "This variable has a value of true or
            // false").
            out = ThingVisible(client) ? std::string_view("true") : std::string_view("false");
            return true;
        case S::kSubject:
        case S::kIssuer: {
            if (variable.list) {
                return false;
            }
            const auto& fields = FieldsOf(variable, client).values;
            const auto it = fields.find(variable.name);
            if (it == fields.end() ||
                variable.index >= std::min(it->second.size(), kMaxCertificateValues)) {
                return false;
            }
            const std::string& value = it->second[variable.index];
            if (!CertificateValueUsable(value)) {
                return false;
            }
            out = value;
            return true;
        }
        case S::kCertificateSerial:
            if (client.serial_number.empty() || !CertificateValueUsable(client.serial_number)) {
                return false;
            }
            out = client.serial_number;
            return true;
    }
    return false;
}

std::size_t ResolveVariableValues(const PolicyVariable& variable, const ClientIdentity& client,
                                  std::array<std::string_view, kMaxCertificateValues>& out) {
    using S = PolicyVariable::Source;
    if ((variable.source == S::kSubject || variable.source == S::kIssuer) && variable.list) {
        const auto& fields = FieldsOf(variable, client).values;
        const auto it = fields.find(variable.name);
        if (it == fields.end()) {
            return 0;
        }
        const std::size_t count = std::min(it->second.size(), kMaxCertificateValues);
        for (std::size_t i = 0; i < count; ++i) {
            // Assumed: one unusable value makes the whole list unavailable, as a single
            // unusable value leaves its variable unsubstituted.
            if (!CertificateValueUsable(it->second[i])) {
                return 0;
            }
            out[i] = it->second[i];
        }
        return count;
    }
    std::string_view value;
    if (!ResolveVariable(variable, client, value)) {
        return 0;
    }
    out[0] = value;
    return 1;
}

PolicyPattern PolicyPattern::Compile(std::string_view text, Variables variables,
                                     Wildcards wildcards) {
    PolicyPattern pattern;
    pattern.text_ = std::string(text);
    auto& tokens = pattern.tokens_;
    auto add_literal = [&tokens](std::string_view literal) {
        if (literal.empty()) {
            return;
        }
        if (!tokens.empty() && tokens.back().kind == TokenKind::kLiteral) {
            tokens.back().literal.append(literal);
        } else {
            tokens.push_back(Token{TokenKind::kLiteral, std::string(literal), {}});
        }
    };
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (variables == Variables::kSubstitute && c == '$' && i + 1 < text.size() &&
            text[i + 1] == '{') {
            const std::size_t close = text.find('}', i + 2);
            if (close != std::string_view::npos) {
                const std::string_view inner = text.substr(i + 2, close - i - 2);
                if (inner == "*" || inner == "?" || inner == "$") {
                    add_literal(inner);  // iot-policy-variables: the escapes ${*} ${?} ${$}
                } else {
                    tokens.push_back(Token{TokenKind::kVariable,
                                           std::string(text.substr(i, close - i + 1)),
                                           PolicyVariable::Parse(inner)});
                    pattern.has_variables_ = true;
                }
                i = close + 1;
                continue;
            }
            // Assumed: an unterminated "${" is literal text.
        }
        if (wildcards == Wildcards::kEnabled && c == '*') {
            if (tokens.empty() || tokens.back().kind != TokenKind::kAnyRun) {
                tokens.push_back(Token{TokenKind::kAnyRun, {}, {}});
            }
            ++i;
            continue;
        }
        if (wildcards == Wildcards::kEnabled && c == '?') {
            tokens.push_back(Token{TokenKind::kAnyOne, {}, {}});
            ++i;
            continue;
        }
        add_literal(text.substr(i, 1));
        ++i;
    }
    if (!pattern.has_variables_) {
        if (tokens.empty() || (tokens.size() == 1 && tokens[0].kind == TokenKind::kLiteral)) {
            pattern.shape_ = Shape::kExact;
        } else if (tokens.size() == 1 && tokens[0].kind == TokenKind::kAnyRun) {
            pattern.shape_ = Shape::kAny;
        } else if (tokens.size() == 2 && tokens[0].kind == TokenKind::kLiteral &&
                   tokens[1].kind == TokenKind::kAnyRun) {
            pattern.shape_ = Shape::kPrefix;
        }
    }
    return pattern;
}

bool PolicyPattern::Matches(std::string_view value, const ClientIdentity& client,
                            bool ignore_case) const {
    switch (shape_) {
        case Shape::kExact:
            return tokens_.empty() ? value.empty()
                                   : TextEquals(tokens_[0].literal, value, ignore_case);
        case Shape::kPrefix: {
            const std::string& prefix = tokens_[0].literal;
            return value.size() >= prefix.size() &&
                   TextEquals(prefix, value.substr(0, prefix.size()), ignore_case);
        }
        case Shape::kAny:
            return true;
        case Shape::kGeneral:
            break;
    }
    constexpr std::size_t kInline = 16;
    std::array<Piece, kInline> inline_pieces;
    std::vector<Piece> heap_pieces;
    Piece* pieces = inline_pieces.data();
    if (tokens_.size() > kInline) {
        heap_pieces.resize(tokens_.size());
        pieces = heap_pieces.data();
    }
    std::size_t count = 0;
    for (const Token& token : tokens_) {
        switch (token.kind) {
            case TokenKind::kLiteral:
                pieces[count++] = Piece{PieceKind::kLiteral, token.literal};
                break;
            case TokenKind::kAnyRun:
                pieces[count++] = Piece{PieceKind::kAnyRun, {}};
                break;
            case TokenKind::kAnyOne:
                pieces[count++] = Piece{PieceKind::kAnyOne, {}};
                break;
            case TokenKind::kVariable: {
                std::string_view resolved;
                if (!ResolveVariable(token.variable, client, resolved)) {
                    return false;  // an unresolved variable never matches (header)
                }
                if (!resolved.empty()) {
                    pieces[count++] = Piece{PieceKind::kLiteral, resolved};
                }
                break;
            }
        }
    }
    return GlobMatch(pieces, count, value, ignore_case);
}

PolicyPattern::Substitution PolicyPattern::Substitute(const ClientIdentity& client) const {
    Substitution result;
    for (const Token& token : tokens_) {
        switch (token.kind) {
            case TokenKind::kLiteral:
                result.text += token.literal;
                break;
            case TokenKind::kAnyRun:
                result.text += '*';
                break;
            case TokenKind::kAnyOne:
                result.text += '?';
                break;
            case TokenKind::kVariable: {
                std::string_view resolved;
                if (ResolveVariable(token.variable, client, resolved)) {
                    result.text += resolved;
                } else {
                    result.text += token.literal;
                    result.all_resolved = false;
                }
                break;
            }
        }
    }
    return result;
}

bool WildcardMatch(std::string_view pattern, std::string_view value) {
    return PolicyPattern::Compile(pattern, PolicyPattern::Variables::kLiteral,
                                  PolicyPattern::Wildcards::kEnabled)
        .Matches(value, EmptyIdentity());
}

}  // namespace sim::account
