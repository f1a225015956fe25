// SPDX-License-Identifier: Apache-2.0
#pragma once
// AT command framing and parsing (PG-CMD 4.2-4.6). Pure.
//
// Bytes from the host go through a LineAssembler, which finds `AT` (case-insensitive; anything
// before it on a line is ignored), collects the rest of the line up to CR or LF, and enforces
// the 9 KB input limit. Each complete line is then split by ParseCommand into the command word,
// the optional numeric suffix and the unescaped parameter.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/module/errors.hpp"

namespace sim::module {

/// The whole formatted command after `AT+` may be up to 9 KB (PG-CMD 4.4, v1.3).
inline constexpr std::size_t kMaxCommandBytes = 9 * 1024;
/// The command word is at most 32 bytes (PG-CMD 4.4).
inline constexpr std::size_t kMaxCommandWordBytes = 32;

/// What the assembler produced from the bytes fed so far.
struct AssembledLine {
    /// The bytes after `AT` (so "+CONF? About" for `AT+CONF? About`, "" for a bare `AT`).
    std::string text;
    /// True when the line exceeded the buffer; `text` is empty and the answer is ERR1.
    bool overflow = false;
    /// True for a line read in raw mode (the whole line, no `AT` detection).
    bool raw = false;
};

/// Splits a byte stream into command lines. Not thread-safe; one per link.
class LineAssembler {
public:
    /// Consumes bytes from the front of `bytes` up to and including the first EOL that
    /// completes a line, and returns that line; returns nothing once `bytes` is used up
    /// without completing one. Call again with the rest: a mode change made after a line
    /// (SetRawMode) then applies to the bytes that follow it.
    std::optional<AssembledLine> Feed(std::string_view& bytes);
    /// Convenience: feeds everything and appends each completed line to `out`.
    void FeedAll(std::string_view bytes, std::vector<AssembledLine>& out);
    /// Forgets a partial line (the link was dropped mid-command).
    void Clear();
    /// True while part of a line is buffered or being discarded.
    bool InLine() const { return state_ != State::kIdle; }
    /// Raw mode returns whole non-empty lines as they are (multi-line PEM input after
    /// `CONF {cert}=pem`); the same 9 KB limit applies per line.
    void SetRawMode(bool raw);
    bool RawMode() const { return raw_; }

private:
    enum class State { kIdle, kSawA, kCollecting, kDiscarding };
    State state_ = State::kIdle;
    bool raw_ = false;
    std::string buffer_;
};

/// A parsed command line.
struct Command {
    std::string word;                   ///< Upper-cased command word, e.g. "CONF?", "SEND".
    std::optional<std::uint64_t> index; ///< Numeric suffix; saturates at UINT64_MAX.
    std::optional<std::string> parameter;  ///< Unescaped; present iff a separator space was sent.
};

/// A parse failure: the error number to answer with.
struct ParseFailure {
    AtError error = AtError::kParseError;
};

/// Parses the text of an assembled line. "" → the plain attention command (word ""), and
/// "+WORD[#][ parameter]" → a Command. Errors: ERR2 (no `+`, empty or over-long word, bad
/// character after the word), ERR4 (bad character right after a numeric suffix, as in the
/// spec's `AT+SLEEP9A` example), ERR5 (bad escape in the parameter).
Result<Command, ParseFailure> ParseCommand(std::string_view text);

/// Escapes CR, LF and backslash as `\D`, `\A`, `\\` (PG-CMD 4.3); backslash first.
std::string Escape(std::string_view raw);
/// Reverses Escape; any other `\x`, or a trailing lone backslash, is ERR5.
Result<std::string, ParseFailure> Unescape(std::string_view escaped);

/// How many lines a response has, counting its first line: `OK{n} ...` announces n more
/// (PG-CMD 4.6.1); anything else (`OK`, `OK 1 CONNECTED`, `ERR..`) stands alone.
std::size_t ResponseLineCount(std::string_view first);

}  // namespace sim::module
