// SPDX-License-Identifier: Apache-2.0
#pragma once
// The AWS IoT rest-json router (pure core, moto's responses.py shape): an HttpRequest is
// matched to an operation of the botocore `iot` 2015-05-28 model (exact method and path),
// decoded (path labels percent-decoded per segment, query booleans "true"/"false", JSON body or
// empty body), run against one account's sim::account::Registry, and shaped into an
// HttpResponse: 200 with the AWS member names and epoch-seconds timestamps, or the AWS error
// (status from account::HttpStatusOf, header `x-amzn-ErrorType: <Name>`, body
// {"message", "__type"[, "resourceId", "resourceArn"]}), as botocore's RestJSONParser reads it;
// statuses per the AWS IoT API Reference.
//
// Pure: no I/O, clock or randomness of its own. Certificate issuance (key generation) goes
// through the CertificateIssuer port, implemented by the adapter with pki. Not thread-safe:
// the caller holds the account's lock — shared for Access::kRead operations, exclusive for
// Access::kWrite — around Execute().

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pki/certificate.hpp"
#include "sim/account/registry.hpp"
#include "sim/account/types.hpp"
#include "sim/control_plane/http.hpp"

namespace sim::controlplane {

/// Issues AWS-issued certificates (the adapter owns keys and randomness).
class CertificateIssuer {
public:
    virtual ~CertificateIssuer() = default;
    struct KeysAndCertificate {
        pki::CertificateInfo certificate;
        std::string public_key_pem;   ///< "-----BEGIN PUBLIC KEY-----"
        std::string private_key_pem;  ///< "-----BEGIN RSA PRIVATE KEY-----"
    };
    /// A new RSA-2048 key pair and a certificate for it signed by the account's service CA
    /// (CreateKeysAndCertificate, CreateProvisioningClaim).
    virtual account::AwsResult<KeysAndCertificate> CreateKeysAndCertificate() = 0;
    /// A certificate for the CSR's key. InvalidRequestException for a garbled CSR, a bad CSR
    /// signature or an unsupported key (AWS IoT API Reference, CreateCertificateFromCsr).
    virtual account::AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(
        std::string_view csr_pem) = 0;
};

enum class Access {
    kRead,   ///< Does not change the registry: a shared lock suffices.
    kWrite,  ///< May change the registry: exclusive lock; persist TakeChanges() afterwards.
};

struct OperationSpec;  // router.cpp

/// A request matched to an operation and decoded, ready to Execute().
struct ParsedRequest {
    const OperationSpec* spec = nullptr;
    std::string operation;            ///< "DescribeThing", ... (botocore operation name)
    Access access = Access::kRead;
    std::vector<std::string> labels;  ///< Decoded path labels, in path order.
    QueryParams query;                ///< Decoded.
    nlohmann::json body;              ///< Always an object ({} for an empty body).
    std::optional<std::string> principal;  ///< Header x-amzn-principal.
};

/// x-amzn-ErrorType of an unknown route (404) and of a known path with a method it does not
/// serve (405, with an Allow header).
inline constexpr std::string_view kUnknownOperation = "UnknownOperationException";
inline constexpr std::string_view kMethodNotAllowed = "MethodNotAllowedException";

/// Largest request body accepted (the largest modeled member, policyDocument, is 404600
/// characters). Assumed: bigger bodies get InvalidRequestException.
inline constexpr std::size_t kMaxBodyBytes = 512 * 1024;

/// One operation the router serves: its botocore name, method and path template (labels named
/// as the model's locationName: "/cacertificate/{caCertificateId}").
struct ServedOperation {
    std::string_view name;
    std::string_view method;
    std::string_view path;
};

/// Every operation the router serves, in routing order.
std::vector<ServedOperation> ServedOperations();

/// Matches, decodes and validates. Errors (never throws): UnknownOperationException 404 for a
/// path outside the model, MethodNotAllowedException 405 for a known path with another method
/// (Assumed: AWS's front end answers such requests itself), and InvalidRequestException for
/// malformed encoding, JSON that is not an object, a body over kMaxBodyBytes, or members the
/// service model refuses (ValidateRequest: types, required members, lengths, patterns, enums,
/// ranges).
account::AwsResult<ParsedRequest> ParseRequest(const HttpRequest& request);

/// Runs `parsed` against `registry` and shapes the reply (without x-amzn-RequestId). Wrong
/// member types and over-long members give InvalidRequestException; registry errors pass
/// through with their AWS type. A failed request leaves the registry unchanged.
HttpResponse Execute(const ParsedRequest& parsed, account::Registry& registry,
                     CertificateIssuer& issuer);

/// The AWS error reply for `error`.
HttpResponse ErrorResponse(const account::AwsError& error);

/// The reply to a request ParseRequest refused with `error`: ErrorResponse, plus an Allow header
/// naming the methods of the path for MethodNotAllowedException.
HttpResponse RefusalResponse(const HttpRequest& request, const account::AwsError& error);

/// ParseRequest + Execute, adding `x-amzn-RequestId: request_id`. For tests and the fuzzer;
/// the server calls the two steps itself so that it can lock in between.
HttpResponse Handle(const HttpRequest& request, account::Registry& registry,
                    CertificateIssuer& issuer, std::string_view request_id);

/// Every operation the router serves, as "Method /path/{label}" lines, for docs and tests.
std::vector<std::string> ListOperations();

}  // namespace sim::controlplane
