// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/transcript.hpp"

#include <algorithm>
#include <optional>
#include <regex>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace sim::scenario {

namespace {

enum class Direction { kSent, kAnswer, kOther };

struct Line {
    int number = 0;
    Direction direction = Direction::kOther;
    std::string text;  ///< Without timestamp and direction marker; the whole line for kOther.
};

std::string Trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

bool StartsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// One transcript line: timestamp and logging prefix removed, direction told.
Line Classify(int number, const std::string& raw) {
    static const std::regex kTimestamp(
        R"(^\[?(\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}:\d{2}([.,]\d+)?Z?\]?\s*)");
    static const std::regex kLogger(R"(^(DEBUG|INFO|WARNING|ERROR)(:[A-Za-z0-9_.]*)*:\s*)");
    static const std::regex kMarker(
        R"(^(->|<-|>>|<<|>|<|TX:|RX:|tx:|rx:|send:|recv:|SEND:|RECV:)\s*)");
    Line line{number, Direction::kOther, Trim(raw)};
    std::string text = line.text;
    if (text.empty() || text[0] == '#') {
        return line;
    }
    std::smatch match;
    if (std::regex_search(text, match, kTimestamp)) {
        text = match.suffix();
    }
    if (std::regex_search(text, match, kLogger)) {
        text = match.suffix();
    }
    std::optional<Direction> marked;
    if (std::regex_search(text, match, kMarker)) {
        const std::string marker = match[1];
        marked = (marker[0] == '>' || marker == "->" || marker == "TX:" || marker == "tx:" ||
                  marker == "send:" || marker == "SEND:")
                     ? Direction::kSent
                     : Direction::kAnswer;
        text = match.suffix();
    }
    text = Trim(text);
    if (StartsWith(text, "AT")) {
        line.direction = marked.value_or(Direction::kSent) == Direction::kSent ? Direction::kSent
                                                                                : Direction::kOther;
    } else if (StartsWith(text, "OK") || StartsWith(text, "ERR")) {
        line.direction = marked.value_or(Direction::kAnswer) == Direction::kAnswer
                             ? Direction::kAnswer
                             : Direction::kOther;
    }
    if (line.direction != Direction::kOther) {
        line.text = text;
    }
    return line;
}

// A YAML double-quoted scalar (JSON's string syntax is YAML's).
std::string Quoted(const std::string& text) { return nlohmann::json(text).dump(); }

// A literal "${" of the transcript, kept literal: the runner would take it for a value.
std::string EscapeValues(const std::string& text) {
    std::string escaped;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.compare(i, 2, "${") == 0) {
            escaped += "$";
        }
        escaped += text[i];
    }
    return escaped;
}

// The answer as a MATCH: exact, or a regular expression where the answer holds values a new
// world makes anew (ThingNames, certificate ids, endpoints, addresses, times, large numbers).
std::string Expectation(const std::string& answer) {
    static const std::regex kVariable(
        R"([0-9a-fA-F]{8,}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+){2,}(:\d+)?|\d{4}/\d{2}/\d{2}|\d{1,2}:\d{2}:\d{2}(\.\d+)?|\d{6,})");
    static const std::regex kSpecial(R"([\\^$.|?*+()\[\]{}])");
    std::string pattern;
    bool variable = false;
    auto begin = std::sregex_iterator(answer.begin(), answer.end(), kVariable);
    std::size_t at = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
        variable = true;
        const auto position = static_cast<std::size_t>(it->position());
        pattern += std::regex_replace(answer.substr(at, position - at), kSpecial, "\\$&");
        pattern += ".+";
        at = position + static_cast<std::size_t>(it->length());
    }
    if (!variable) {
        return Quoted(EscapeValues(answer));
    }
    pattern += std::regex_replace(answer.substr(at), kSpecial, "\\$&");
    return Quoted(EscapeValues("/^" + pattern + "$/"));
}

// A command with the module's ThingName (a long hex run) as ${m1.thingName}.
std::string Command(const std::string& sent) {
    static const std::regex kThingName(R"([0-9a-fA-F]{32,})");
    return std::regex_replace(EscapeValues(sent), kThingName, "${m1.thingName}");
}

struct Exchange {
    int line = 0;
    std::string sent;
    std::string answer;  ///< Empty: none recorded.
};

}  // namespace

sim::Result<std::string> ScenarioFromTranscript(std::string_view transcript,
                                                const TranscriptOptions& options) {
    // Pass 1: lines into exchanges (a command and its first answer) and comments, in order.
    struct Item {
        std::optional<Exchange> exchange;
        std::string comment;
    };
    std::vector<Item> items;
    std::istringstream in{std::string(transcript)};
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
        ++number;
        const Line line = Classify(number, raw);
        if (line.direction == Direction::kSent) {
            items.push_back(Item{Exchange{line.number, line.text, {}}, {}});
        } else if (line.direction == Direction::kAnswer && !items.empty() &&
                   items.back().exchange && items.back().exchange->answer.empty()) {
            items.back().exchange->answer = line.text;
        } else if (!line.text.empty()) {
            const std::string text = line.direction == Direction::kAnswer
                                         ? "an answer nobody asked for: " + line.text
                                         : line.text;
            items.push_back(Item{std::nullopt, "line " + std::to_string(line.number) + ": " + text});
        }
    }
    const bool any_command = std::any_of(items.begin(), items.end(),
                                         [](const Item& item) { return item.exchange.has_value(); });
    if (!any_command) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              options.source + ": no AT command found (lines sent to the module "
                                               "start with AT, optionally after '> ' or a "
                                               "timestamp)");
    }

    // Pass 2: steps.
    std::ostringstream steps;
    int step_count = 0;
    bool in_staging = false;
    bool claimed = false;
    bool retry_next = false;
    int empty_polls = 0;
    auto flush_polls = [&] {
        if (empty_polls > 0) {
            steps << "  # " << empty_polls << " empty AT+EVENT? poll(s)\n";
            empty_polls = 0;
        }
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        if (!item.exchange) {
            flush_polls();
            std::string comment = item.comment;
            for (auto& c : comment) {
                if (c == '\n' || c == '\r') {
                    c = ' ';
                }
            }
            steps << "  # " << comment << "\n";
            continue;
        }
        const Exchange& exchange = *item.exchange;
        const std::string name = "line " + std::to_string(exchange.line) + ": " + exchange.sent;
        if (exchange.sent == "AT+EVENT?") {
            if (exchange.answer == "OK" || exchange.answer.empty()) {
                ++empty_polls;
                continue;
            }
            flush_polls();
            std::istringstream words(exchange.answer);
            std::string ok;
            std::string id;
            std::string param;
            std::string mnemonic;
            words >> ok >> id >> param >> mnemonic;
            if (mnemonic == "MSG" && in_staging && !claimed) {
                steps << "  - {name: " << Quoted("the claim that line " +
                                                 std::to_string(exchange.line) + " shows arriving")
                      << ", claim: {by: portal, module: m1, endpoint: oem-a}}\n";
                claimed = true;
            }
            if (mnemonic == "CONLOST") {
                in_staging = false;
            }
            steps << "  - {name: " << Quoted(name + " -> " + exchange.answer)
                  << ", event: m1, expect: " << mnemonic << "}\n";
            ++step_count;
            continue;
        }
        flush_polls();
        // A back-off answer followed by the same command again: one step that retries.
        const bool backoff = StartsWith(exchange.answer, "ERR14 1 ");
        if (backoff && i + 1 < items.size() && items[i + 1].exchange &&
            items[i + 1].exchange->sent == exchange.sent) {
            retry_next = true;
            continue;
        }
        if (exchange.answer.find("CONNECTED STAGING") != std::string::npos) {
            in_staging = true;
        }
        ++step_count;
        steps << "  - name: " << Quoted(name) << "\n"
              << "    at: m1\n"
              << "    send: " << Quoted(Command(exchange.sent)) << "\n";
        if (!exchange.answer.empty()) {
            steps << "    expect: " << Expectation(exchange.answer) << "\n";
        }
        if (retry_next) {
            steps << "    retry-while: \"/^ERR14 1 /\"\n";
            retry_next = false;
        }
        if (StartsWith(exchange.sent, "AT+CONNECT") && exchange.sent != "AT+CONNECT?") {
            steps << "    within: 30s\n";
        }
    }
    flush_polls();
    if (step_count == 0) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              options.source + ": only empty AT+EVENT? polls, nothing to replay");
    }

    std::ostringstream out;
    out << "# Made by `elsim scenario from-transcript` from " << options.source
        << ": edit freely.\n"
        << "description: >\n"
        << "  Replays the serial transcript " << options.source
        << " against a local world: every command the host sent, expecting the answer the\n"
        << "  module gave (values a new world makes anew, such as ThingNames and endpoints, are\n"
        << "  matched by pattern).\n"
        << "world: " << Quoted(options.world) << "\n"
        << "actors:\n"
        << "  m1: {module: acme}\n";
    if (claimed) {
        out << "  portal: {claim-thing: oem-a}\n";
    }
    out << "steps:\n" << steps.str();
    return out.str();
}

}  // namespace sim::scenario
