// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the router's parse-and-execute path. Input: "METHOD TARGET\n", header
// lines "Name: value\n" up to an empty line, then the body. Each input runs against a fresh
// registry; the properties checked are "no crash, no sanitizer report, always a JSON reply with
// a status and, on error, an x-amzn-ErrorType".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sim/control_plane/router.hpp"

namespace {

// Key generation is too slow for fuzzing and not what is under test.
class RefusingIssuer final : public sim::controlplane::CertificateIssuer {
public:
    sim::account::AwsResult<KeysAndCertificate> CreateKeysAndCertificate() override {
        return sim::account::Fail(sim::account::error_type::kInternalFailure, "fuzzing");
    }
    sim::account::AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(
        std::string_view) override {
        return sim::account::Fail(sim::account::error_type::kInvalidRequest, "fuzzing");
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    sim::controlplane::HttpRequest request;
    auto line_end = input.find('\n');
    const std::string_view first = input.substr(0, line_end);
    const auto space = first.find(' ');
    request.method = std::string(first.substr(0, space));
    std::tie(request.raw_path, request.raw_query) = sim::controlplane::SplitTarget(
        space == std::string_view::npos ? std::string_view{} : first.substr(space + 1));
    input = line_end == std::string_view::npos ? std::string_view{} : input.substr(line_end + 1);
    while (!input.empty()) {
        line_end = input.find('\n');
        const std::string_view line = input.substr(0, line_end);
        input = line_end == std::string_view::npos ? std::string_view{} : input.substr(line_end + 1);
        if (line.empty()) {
            break;
        }
        const auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            request.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
        }
    }
    request.body = std::string(input);

    sim::ManualClock clock;
    sim::SeededRandom random(4);
    sim::account::Registry registry({"123456789012", "us-east-1", "abcdefghijklmn", "elsim.test"},
                                    clock, random);
    RefusingIssuer issuer;
    const auto response = sim::controlplane::Handle(request, registry, issuer, "fuzz");
    if (response.status < 200 || response.status > 599) {
        std::abort();
    }
    if (response.status != 200 && !response.Header("x-amzn-ErrorType")) {
        std::abort();
    }
    if (nlohmann::json::parse(response.body, nullptr, false).is_discarded()) {
        std::abort();
    }
    return 0;
}
