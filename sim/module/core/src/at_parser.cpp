// SPDX-License-Identifier: Apache-2.0
#include "sim/module/at_parser.hpp"

#include <algorithm>
#include <limits>

namespace sim::module {

namespace {

bool IsEol(char c) { return c == '\r' || c == '\n'; }

char Upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool IsWordChar(char c) {
    const char u = Upper(c);
    return (u >= 'A' && u <= 'Z') || c == '_' || c == '!' || c == '?';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<AssembledLine> LineAssembler::Feed(std::string_view& bytes) {
    while (!bytes.empty()) {
        const char c = bytes.front();
        bytes.remove_prefix(1);
        if (raw_) {
            if (IsEol(c)) {
                const bool overflow = state_ == State::kDiscarding;
                state_ = State::kIdle;
                if (overflow || !buffer_.empty()) {
                    AssembledLine line{std::move(buffer_), overflow, true};
                    buffer_.clear();
                    return line;
                }
            } else if (state_ == State::kDiscarding) {
                continue;
            } else if (buffer_.size() >= kMaxCommandBytes) {
                buffer_.clear();
                state_ = State::kDiscarding;
            } else {
                state_ = State::kCollecting;
                buffer_.push_back(c);
            }
            continue;
        }
        switch (state_) {
            case State::kIdle:
                // Anything after an EOL and before the next `AT` is ignored (PG-CMD 4.5), so
                // stray bytes are never buffered and cannot overflow.
                if (Upper(c) == 'A') {
                    state_ = State::kSawA;
                }
                break;
            case State::kSawA:
                if (Upper(c) == 'T') {
                    state_ = State::kCollecting;
                    buffer_.clear();
                } else if (Upper(c) != 'A') {
                    state_ = State::kIdle;
                }
                break;
            case State::kCollecting:
                if (IsEol(c)) {
                    AssembledLine line{std::move(buffer_), false, false};
                    buffer_.clear();
                    state_ = State::kIdle;
                    return line;
                }
                if (buffer_.size() >= kMaxCommandBytes + 1) {
                    // +1: the buffer holds the "+" before the 9 KB formatted command.
                    // Overflow: keep discarding until the next EOL, then ERR1 (PG-CMD 4.4).
                    buffer_.clear();
                    buffer_.shrink_to_fit();
                    state_ = State::kDiscarding;
                } else {
                    buffer_.push_back(c);
                }
                break;
            case State::kDiscarding:
                if (IsEol(c)) {
                    state_ = State::kIdle;
                    return AssembledLine{std::string{}, true, false};
                }
                break;
        }
    }
    return std::nullopt;
}

void LineAssembler::FeedAll(std::string_view bytes, std::vector<AssembledLine>& out) {
    while (auto line = Feed(bytes)) {
        out.push_back(std::move(*line));
    }
}

void LineAssembler::SetRawMode(bool raw) {
    raw_ = raw;
    buffer_.clear();
    state_ = State::kIdle;
}

void LineAssembler::Clear() {
    buffer_.clear();
    state_ = State::kIdle;
}

Result<Command, ParseFailure> ParseCommand(std::string_view text) {
    Command command;
    if (text.empty()) {
        return command;  // `AT{EOL}`: the attention command.
    }
    if (text.front() != '+') {
        return Unexpected(ParseFailure{AtError::kParseError});
    }
    std::size_t pos = 1;
    while (pos < text.size() && IsWordChar(text[pos])) {
        command.word.push_back(Upper(text[pos]));
        ++pos;
    }
    if (command.word.empty() || command.word.size() > kMaxCommandWordBytes) {
        return Unexpected(ParseFailure{AtError::kParseError});
    }
    bool had_suffix = false;
    if (pos < text.size() && IsDigit(text[pos])) {
        had_suffix = true;
        std::uint64_t value = 0;
        constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
        while (pos < text.size() && IsDigit(text[pos])) {
            const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
            value = (value > (kMax - digit) / 10) ? kMax : value * 10 + digit;
            ++pos;
        }
        command.index = value;
    }
    if (pos == text.size()) {
        return command;
    }
    if (text[pos] != ' ') {
        // PG-CMD 4.2 says ERR2 for any other character after the suffix, but its own example
        // answers `AT+SLEEP9A` with ERR4 (PG-CMD, SLEEP); the example wins after a suffix, the rule
        // applies after a bare word.
        return Unexpected(ParseFailure{had_suffix ? AtError::kParameterError
                                                  : AtError::kParseError});
    }
    auto parameter = Unescape(text.substr(pos + 1));
    if (!parameter) {
        return Unexpected(parameter.error());
    }
    command.parameter = std::move(*parameter);
    return command;
}

std::string Escape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (const char c : raw) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\r':
                out += "\\D";
                break;
            case '\n':
                out += "\\A";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

Result<std::string, ParseFailure> Unescape(std::string_view escaped) {
    std::string out;
    out.reserve(escaped.size());
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        const char c = escaped[i];
        if (c != '\\') {
            out.push_back(c);
            continue;
        }
        if (i + 1 >= escaped.size()) {
            return Unexpected(ParseFailure{AtError::kInvalidEscape});
        }
        const char next = escaped[++i];
        if (next == 'A') {
            out.push_back('\n');
        } else if (next == 'D') {
            out.push_back('\r');
        } else if (next == '\\') {
            out.push_back('\\');
        } else {
            return Unexpected(ParseFailure{AtError::kInvalidEscape});
        }
    }
    return out;
}

std::size_t ResponseLineCount(std::string_view first) {
    if (first.size() > 2 && first.compare(0, 2, "OK") == 0 && first[2] >= '0' && first[2] <= '9') {
        std::size_t n = 0;
        for (std::size_t i = 2; i < first.size() && first[i] >= '0' && first[i] <= '9'; ++i) {
            n = std::min<std::size_t>(n * 10 + static_cast<std::size_t>(first[i] - '0'), 1000000);
        }
        return 1 + n;
    }
    return 1;
}

}  // namespace sim::module
