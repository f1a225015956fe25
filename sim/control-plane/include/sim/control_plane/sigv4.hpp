// SPDX-License-Identifier: Apache-2.0
#pragma once
// AWS Signature Version 4 (header form), pure: hashing and HMAC only, no clock, no I/O. The
// signer takes the request time as an argument; the verifier takes the secret looked up by the
// caller. Specification: "Signature Version 4 signing process" (AWS General Reference) and the
// public aws-sig-v4-test-suite, whose vectors the unit tests carry.
//
// Path canonicalisation follows botocore for non-S3 services (`botocore/auth.py`; AWS's SigV4
// documentation: every path segment URI-encoded twice, except for Amazon S3):
// the path *as sent on the wire* (already percent-encoded by the client) is URI-encoded once
// more, keeping '/', so "%3A" becomes "%253A". No dot-segment normalisation is done: botocore does
// none, and the IoT API never sends "." or ".." segments.
// Thread-safe: every function is reentrant.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/result.hpp"

namespace sim::controlplane {

/// An ordered list of header (name, value); names compare case-insensitively.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  ///< Empty when the credentials are long-term.
};

/// What the signature covers. `raw_path` and `raw_query` are exactly as on the wire.
struct SignableRequest {
    std::string method;
    std::string raw_path;   ///< "/things/my%3Athing"; "" means "/".
    std::string raw_query;  ///< "a=1&b=2", without '?'.
    HeaderList headers;     ///< Must contain Host and X-Amz-Date for a verifiable signature.
    std::string_view payload;
};

/// The parsed `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b, Signature=hex` header.
struct Authorization {
    std::string access_key_id;
    std::string date;     ///< YYYYMMDD
    std::string region;
    std::string service;  ///< AWS CLI 2.9.19 with --endpoint-url signs "execute-api".
    std::vector<std::string> signed_headers;  ///< Lowercase, in header order.
    std::string signature;                    ///< 64 lowercase hex.
};

/// Lowercase hex SHA-256.
std::string Sha256Hex(std::string_view data);
/// Raw HMAC-SHA256 (32 bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

/// RFC 3986 percent-encoding of everything but A-Z a-z 0-9 - _ . ~ (and '/' when
/// `keep_slash`), uppercase hex: SigV4's UriEncode.
std::string UriEncode(std::string_view text, bool keep_slash);
/// The canonical query string: pairs decoded, re-encoded with UriEncode, sorted by name then
/// value, "name=value" joined by '&' (a name without '=' gets an empty value).
std::string CanonicalQueryString(std::string_view raw_query);
/// The full canonical request for `signed_headers` (lowercase names, any order).
std::string CanonicalRequest(const SignableRequest& request,
                             const std::vector<std::string>& signed_headers);
/// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

/// Signs `request` at `amz_date` ("20150830T123600Z"): returns the headers to add
/// (Authorization, X-Amz-Date, and X-Amz-Security-Token when the credentials have one). Every
/// header of `request` plus those added is signed. `request.headers` must contain Host.
HeaderList Sign(const SignableRequest& request, const Credentials& credentials,
                std::string_view region, std::string_view service, std::string_view amz_date);

/// Parses an Authorization header. Errors: kInvalidArgument naming the missing or bad part.
Result<Authorization> ParseAuthorization(std::string_view header);

/// Recomputes the signature of `request` with `secret` and the scope of `authorization`;
/// kPermissionDenied ("signature does not match") when it differs, kInvalidArgument when
/// X-Amz-Date is missing or does not match the credential date.
Status VerifySignature(const SignableRequest& request, const Authorization& authorization,
                       std::string_view secret);

}  // namespace sim::controlplane
