// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/normalise.hpp"

#include <regex>

namespace sim::scenario {

std::string NormaliseForComparison(std::string_view text) {
    // Applied in order: a PEM body contains hex-looking runs and slashes, addresses contain
    // numbers.
    // The body: base64, line breaks (also as the two characters \n inside JSON text), and the
    // "...(N chars)" a shortened timeline entry ends with.
    static const std::regex kPem(
        R"(-----BEGIN [A-Z ]+-----[A-Za-z0-9+/=\\\s.()]*(-----END [A-Z ]+-----)?)");
    static const std::regex kPath(R"((/[A-Za-z0-9._+-]+){2,}/?)");
    static const std::regex kAddress(R"(\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?\b)");
    static const std::regex kUuid(
        R"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})");
    static const std::regex kHex(R"([0-9a-fA-F]{8,})");
    static const std::regex kMillis(R"(\b\d+ ?ms\b)");
    static const std::regex kNumber(R"(\b\d+\.\d+\b|\b\d{6,}\b)");
    std::string out(text);
    out = std::regex_replace(out, kPem, "<pem>");
    out = std::regex_replace(out, kPath, "<path>");
    out = std::regex_replace(out, kAddress, "<address>");
    out = std::regex_replace(out, kUuid, "<uuid>");
    out = std::regex_replace(out, kMillis, "<ms>");
    out = std::regex_replace(out, kNumber, "<number>");
    out = std::regex_replace(out, kHex, "<hex>");
    return out;
}

}  // namespace sim::scenario
