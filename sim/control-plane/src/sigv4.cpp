// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "sim/core/hex.hpp"

namespace sim::controlplane {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

// Header values: trimmed, runs of spaces collapsed to one (the spec's "Trimall").
std::string TrimAll(std::string_view value) {
    value = Trim(value);
    std::string out;
    out.reserve(value.size());
    bool in_space = false;
    for (char c : value) {
        if (c == ' ' || c == '\t') {
            if (!in_space) {
                out.push_back(' ');
            }
            in_space = true;
        } else {
            out.push_back(c);
            in_space = false;
        }
    }
    return out;
}

// Lenient decoding for the canonical query: a malformed escape stays literal, as botocore
// leaves such text alone.
std::string QueryDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = sim::HexDigitValue(text[i + 1]);
            const int lo = sim::HexDigitValue(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::string HeaderValue(const HeaderList& headers, std::string_view lower_name) {
    std::string joined;
    bool first = true;
    for (const auto& [name, value] : headers) {
        if (Lower(name) == lower_name) {
            if (!first) {
                joined.push_back(',');
            }
            joined += TrimAll(value);
            first = false;
        }
    }
    return joined;
}

bool HasHeader(const HeaderList& headers, std::string_view lower_name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& header) { return Lower(header.first) == lower_name; });
}

std::string Signature(const SignableRequest& request, const std::vector<std::string>& signed_headers,
                      std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view amz_date) {
    const std::string scope = std::string(date) + "/" + std::string(region) + "/" +
                              std::string(service) + "/aws4_request";
    const std::string to_sign =
        StringToSign(amz_date, scope, CanonicalRequest(request, signed_headers));
    return HexEncode(HmacSha256(SigningKey(secret, date, region, service), to_sign));
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
    return HexEncode(std::span<const std::uint8_t>(digest.data(), digest.size()));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
    return std::string(reinterpret_cast<const char*>(out.data()), length);
}

std::string UriEncode(std::string_view text, bool keep_slash) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0f]);
        }
    }
    return out;
}

std::string CanonicalQueryString(std::string_view raw_query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t start = 0;
    while (start <= raw_query.size()) {
        std::size_t end = raw_query.find('&', start);
        if (end == std::string_view::npos) {
            end = raw_query.size();
        }
        const std::string_view item = raw_query.substr(start, end - start);
        if (!item.empty()) {
            const std::size_t eq = item.find('=');
            const std::string_view name = item.substr(0, eq);
            const std::string_view value =
                eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
            pairs.emplace_back(UriEncode(QueryDecode(name), false),
                               UriEncode(QueryDecode(value), false));
        }
        start = end + 1;
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [name, value] : pairs) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += name;
        out.push_back('=');
        out += value;
    }
    return out;
}

std::string CanonicalRequest(const SignableRequest& request,
                             const std::vector<std::string>& signed_headers) {
    std::vector<std::string> names;
    names.reserve(signed_headers.size());
    for (const auto& name : signed_headers) {
        names.push_back(Lower(name));
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());

    std::string out = request.method;
    out.push_back('\n');
    out += UriEncode(request.raw_path.empty() ? std::string_view("/") : request.raw_path, true);
    out.push_back('\n');
    out += CanonicalQueryString(request.raw_query);
    out.push_back('\n');
    for (const auto& name : names) {
        out += name;
        out.push_back(':');
        out += HeaderValue(request.headers, name);
        out.push_back('\n');
    }
    out.push_back('\n');
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i != 0) {
            out.push_back(';');
        }
        out += names[i];
    }
    out.push_back('\n');
    out += Sha256Hex(request.payload);
    return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
    std::string out(kAlgorithm);
    out.push_back('\n');
    out += amz_date;
    out.push_back('\n');
    out += scope;
    out.push_back('\n');
    out += Sha256Hex(canonical_request);
    return out;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
    const std::string k_date = HmacSha256("AWS4" + std::string(secret), date);
    const std::string k_region = HmacSha256(k_date, region);
    const std::string k_service = HmacSha256(k_region, service);
    return HmacSha256(k_service, "aws4_request");
}

HeaderList Sign(const SignableRequest& request, const Credentials& credentials,
                std::string_view region, std::string_view service, std::string_view amz_date) {
    HeaderList added;
    added.emplace_back("X-Amz-Date", std::string(amz_date));
    if (!credentials.session_token.empty()) {
        added.emplace_back("X-Amz-Security-Token", credentials.session_token);
    }
    SignableRequest full = request;
    full.headers.insert(full.headers.end(), added.begin(), added.end());
    std::vector<std::string> names;
    for (const auto& header : full.headers) {
        names.push_back(Lower(header.first));
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    const std::string date(amz_date.substr(0, 8));
    const std::string signature = Signature(full, names, credentials.secret_access_key, date,
                                            region, service, amz_date);
    std::string signed_list;
    for (const auto& name : names) {
        if (!signed_list.empty()) {
            signed_list.push_back(';');
        }
        signed_list += name;
    }
    added.emplace_back("Authorization",
                       std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                           date + "/" + std::string(region) + "/" + std::string(service) +
                           "/aws4_request, SignedHeaders=" + signed_list +
                           ", Signature=" + signature);
    return added;
}

Result<Authorization> ParseAuthorization(std::string_view header) {
    header = Trim(header);
    if (header.substr(0, kAlgorithm.size()) != kAlgorithm) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "Authorization: only AWS4-HMAC-SHA256 is supported");
    }
    header.remove_prefix(kAlgorithm.size());
    Authorization auth;
    bool have_credential = false;
    bool have_signed = false;
    bool have_signature = false;
    std::size_t start = 0;
    while (start < header.size()) {
        std::size_t end = header.find(',', start);
        if (end == std::string_view::npos) {
            end = header.size();
        }
        const std::string_view part = Trim(header.substr(start, end - start));
        start = end + 1;
        const std::size_t eq = part.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        const std::string_view key = part.substr(0, eq);
        const std::string_view value = part.substr(eq + 1);
        if (key == "Credential") {
            // AKID/DATE/REGION/SERVICE/aws4_request; the AKID itself never holds '/'.
            std::vector<std::string_view> fields;
            std::size_t from = 0;
            while (true) {
                const std::size_t slash = value.find('/', from);
                fields.push_back(value.substr(from, slash - from));
                if (slash == std::string_view::npos) {
                    break;
                }
                from = slash + 1;
            }
            if (fields.size() != 5 || fields[0].empty() || fields[1].size() != 8 ||
                fields[2].empty() || fields[3].empty() || fields[4] != "aws4_request") {
                return MakeError(ErrorCode::kInvalidArgument,
                                 "Authorization: malformed Credential scope");
            }
            auth.access_key_id = fields[0];
            auth.date = fields[1];
            auth.region = fields[2];
            auth.service = fields[3];
            have_credential = true;
        } else if (key == "SignedHeaders") {
            std::size_t from = 0;
            while (from <= value.size()) {
                std::size_t semi = value.find(';', from);
                if (semi == std::string_view::npos) {
                    semi = value.size();
                }
                if (semi > from) {
                    auth.signed_headers.push_back(Lower(value.substr(from, semi - from)));
                }
                from = semi + 1;
            }
            have_signed = !auth.signed_headers.empty();
        } else if (key == "Signature") {
            auth.signature = Lower(value);
            have_signature = IsLowerHex(auth.signature, 64);
        }
    }
    if (!have_credential) {
        return MakeError(ErrorCode::kInvalidArgument, "Authorization: missing Credential");
    }
    if (!have_signed) {
        return MakeError(ErrorCode::kInvalidArgument, "Authorization: missing SignedHeaders");
    }
    if (!have_signature) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "Authorization: missing or malformed Signature");
    }
    return auth;
}

Status VerifySignature(const SignableRequest& request, const Authorization& authorization,
                       std::string_view secret) {
    const std::string amz_date = HeaderValue(request.headers, "x-amz-date");
    if (amz_date.size() != 16 || amz_date.substr(0, 8) != authorization.date) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "X-Amz-Date is missing or does not match the credential scope");
    }
    for (const auto& name : authorization.signed_headers) {
        if (!HasHeader(request.headers, name)) {
            return MakeError(ErrorCode::kPermissionDenied,
                             "signed header " + name + " is not in the request");
        }
    }
    const std::string expected =
        Signature(request, authorization.signed_headers, secret, authorization.date,
                  authorization.region, authorization.service, amz_date);
    if (expected.size() != authorization.signature.size() ||
        CRYPTO_memcmp(expected.data(), authorization.signature.data(), expected.size()) != 0) {
        return MakeError(ErrorCode::kPermissionDenied, "signature does not match");
    }
    return {};
}

}  // namespace sim::controlplane
