// SPDX-License-Identifier: Apache-2.0
#pragma once
// The project's AWS IoT control-plane client (adapter): SigV4-signed rest-json calls over one
// keep-alive HTTP(S) connection, to the emulator or to real AWS. Scenarios, the world and the
// benchmark use it for every control-plane call.
//
// Credentials and endpoint come from the standard sources (ClientConfigFromEnvironment):
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the [profile] of
// ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE); region from AWS_REGION /
// AWS_DEFAULT_REGION; endpoint from the caller, AWS_ENDPOINT_URL_IOT, AWS_ENDPOINT_URL, else
// https://iot.<region>.amazonaws.com.
//
// Threading: Call() is thread-safe but serialised (one connection); use one client per thread
// for parallel load. Call() blocks up to the configured timeout.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/control_plane/http.hpp"
#include "sim/control_plane/operations.hpp"
#include "sim/control_plane/sigv4.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace httplib {
class Client;
}

namespace sim::controlplane {

struct ClientConfig {
    std::string endpoint;  ///< "http://127.0.0.1:8080" or "https://iot.us-east-1.amazonaws.com"
    std::string region = "us-east-1";
    std::string service = "iot";  ///< The SigV4 signing name.
    Credentials credentials;
    std::chrono::milliseconds timeout{10'000};
};

/// Fills a ClientConfig from the standard sources (see the file comment). `endpoint`,
/// `region` and `profile` override the environment when non-empty. Errors: kInvalidArgument
/// naming what is missing (no credentials, no region).
Result<ClientConfig> ClientConfigFromEnvironment(std::string_view endpoint = {},
                                                 std::string_view region = {},
                                                 std::string_view profile = {});

/// A failed call: an AWS error reply, or a transport failure (status 0, type
/// "TransportError").
struct AwsErrorReply {
    int status = 0;
    std::string type;  ///< "ResourceNotFoundException", ... (x-amzn-ErrorType, ':' part cut)
    std::string message;
    std::string request_id;
    nlohmann::json body;  ///< The parsed error body (resourceId, resourceArn, ...), or null.
};

class AwsClient {
public:
    /// Throws std::invalid_argument when the endpoint URL is not http(s)://host[:port].
    AwsClient(ClientConfig config, std::shared_ptr<const Clock> clock);
    ~AwsClient();
    AwsClient(const AwsClient&) = delete;
    AwsClient& operator=(const AwsClient&) = delete;

    /// Builds a path from unencoded segments, percent-encoding each (labels such as ARNs keep
    /// their ':' and '/' inside one segment): Path({"things", name}) -> "/things/<enc(name)>".
    static std::string Path(std::initializer_list<std::string_view> segments);

    /// One signed request. `path` is already encoded (use Path()); `query` values are
    /// unencoded; `body` null sends an empty body. Returns the parsed JSON reply ({} for an
    /// empty body), or the AWS error.
    Result<nlohmann::json, AwsErrorReply> Call(std::string_view method, std::string_view path,
                                               const QueryParams& query = {},
                                               const nlohmann::json& body = nullptr,
                                               const HeaderList& headers = {});

    /// Calls an AWS IoT operation by its API Reference name with its request members
    /// (BuildOperationRequest places them in the path, query, headers and body), then Call().
    /// A request that cannot be built is not sent: it fails with status 0, type
    /// "InvalidRequest" and BuildOperationRequest's one-line message.
    Result<nlohmann::json, AwsErrorReply> CallOperation(std::string_view operation,
                                                        const nlohmann::json& arguments);

    const ClientConfig& config() const { return config_; }

private:
    ClientConfig config_;
    std::shared_ptr<const Clock> clock_;
    std::string host_header_;
    std::mutex mutex_;
    std::unique_ptr<httplib::Client> client_;
};

/// "20150830T123600Z" for `t`.
std::string AmzDate(TimePoint t);

/// The secret of EmulatedAccountConfig's credentials.
inline constexpr std::string_view kEmulatedSecretAccessKey = "elsim";

/// A config for an account of an elsim world: `endpoint` (its controlPlaneUrl), `region`, and
/// credentials whose access key id is `account_id` (how the emulated control plane picks the
/// account) with the fixed secret kEmulatedSecretAccessKey (see the Assumed note in the .cpp).
ClientConfig EmulatedAccountConfig(std::string endpoint, std::string region,
                                   std::string account_id);

/// Makes a client without throwing. Errors: kInvalidArgument with the reason when the endpoint
/// is not an http(s)://host[:port] URL.
Result<std::unique_ptr<AwsClient>> MakeAwsClient(ClientConfig config,
                                                 std::shared_ptr<const Clock> clock);

}  // namespace sim::controlplane
