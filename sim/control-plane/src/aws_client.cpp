// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/aws_client.hpp"

#include <httplib.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>

namespace sim::controlplane {
namespace {

std::string Env(const char* name) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
    return value == nullptr ? std::string() : std::string(value);
}

std::string TrimText(std::string text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// Reads [profile] from an AWS shared credentials file (INI). Missing file -> nullopt.
std::optional<Credentials> ReadCredentialsFile(const std::string& path, const std::string& profile) {
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    Credentials credentials;
    bool in_section = false;
    std::string line;
    while (std::getline(in, line)) {
        line = TrimText(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') {
            continue;
        }
        if (line.front() == '[' && line.back() == ']') {
            in_section = TrimText(line.substr(1, line.size() - 2)) == profile;
            continue;
        }
        if (!in_section) {
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        const std::string key = TrimText(line.substr(0, eq));
        const std::string value = TrimText(line.substr(eq + 1));
        if (key == "aws_access_key_id") {
            credentials.access_key_id = value;
        } else if (key == "aws_secret_access_key") {
            credentials.secret_access_key = value;
        } else if (key == "aws_session_token") {
            credentials.session_token = value;
        }
    }
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
        return std::nullopt;
    }
    return credentials;
}

struct ParsedUrl {
    std::string scheme;
    std::string host;
    int port = 0;
};

std::optional<ParsedUrl> ParseUrl(std::string_view url) {
    ParsedUrl parsed;
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) {
        return std::nullopt;
    }
    parsed.scheme = std::string(url.substr(0, sep));
    if (parsed.scheme != "http" && parsed.scheme != "https") {
        return std::nullopt;
    }
    std::string_view rest = url.substr(sep + 3);
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        rest = rest.substr(0, slash);
    }
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
        parsed.host = std::string(rest.substr(0, colon));
        try {
            parsed.port = std::stoi(std::string(rest.substr(colon + 1)));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    } else {
        parsed.host = std::string(rest);
        parsed.port = parsed.scheme == "https" ? 443 : 80;
    }
    if (parsed.host.empty() || parsed.port <= 0 || parsed.port > 65535) {
        return std::nullopt;
    }
    return parsed;
}

}  // namespace

std::string AmzDate(TimePoint t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[17];
    std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
    return buffer;
}

Result<ClientConfig> ClientConfigFromEnvironment(std::string_view endpoint,
                                                 std::string_view region,
                                                 std::string_view profile) {
    ClientConfig config;
    config.region = !region.empty() ? std::string(region) : Env("AWS_REGION");
    if (config.region.empty()) {
        config.region = Env("AWS_DEFAULT_REGION");
    }
    if (config.region.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "no region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION");
    }
    config.endpoint = std::string(endpoint);
    if (config.endpoint.empty()) {
        config.endpoint = Env("AWS_ENDPOINT_URL_IOT");
    }
    if (config.endpoint.empty()) {
        config.endpoint = Env("AWS_ENDPOINT_URL");
    }
    if (config.endpoint.empty()) {
        config.endpoint = "https://iot." + config.region + ".amazonaws.com";
    }
    // Environment first, then the shared credentials file (botocore's order, without the
    // config-file, SSO and instance-metadata providers).
    config.credentials.access_key_id = Env("AWS_ACCESS_KEY_ID");
    config.credentials.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
    config.credentials.session_token = Env("AWS_SESSION_TOKEN");
    if (!profile.empty() || config.credentials.access_key_id.empty() ||
        config.credentials.secret_access_key.empty()) {
        std::string name = !profile.empty() ? std::string(profile) : Env("AWS_PROFILE");
        if (name.empty()) {
            name = "default";
        }
        std::string file = Env("AWS_SHARED_CREDENTIALS_FILE");
        if (file.empty()) {
            file = Env("HOME") + "/.aws/credentials";
        }
        auto from_file = ReadCredentialsFile(file, name);
        if (!from_file) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                             "profile [" + name + "] in " + file);
        }
        config.credentials = *from_file;
    }
    return config;
}

AwsClient::AwsClient(ClientConfig config, std::shared_ptr<const Clock> clock)
    : config_(std::move(config)), clock_(std::move(clock)) {
    auto url = ParseUrl(config_.endpoint);
    if (!url) {
        throw std::invalid_argument("endpoint: not an http(s)://host[:port] URL: " +
                                    config_.endpoint);
    }
    const bool default_port = (url->scheme == "https" && url->port == 443) ||
                              (url->scheme == "http" && url->port == 80);
    host_header_ = default_port ? url->host : url->host + ":" + std::to_string(url->port);
    client_ = std::make_unique<httplib::Client>(url->scheme + "://" + url->host + ":" +
                                                std::to_string(url->port));
    client_->set_keep_alive(true);
    client_->set_tcp_nodelay(true);  // a POST is two writes (head, body): no Nagle stall
    client_->set_url_encode(false);  // paths are encoded by Path(), exactly as signed
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(config_.timeout);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
        config_.timeout - seconds);
    client_->set_connection_timeout(seconds.count(), micros.count());
    client_->set_read_timeout(seconds.count(), micros.count());
    client_->set_write_timeout(seconds.count(), micros.count());
}

AwsClient::~AwsClient() = default;

// Assumed: worlds run their control planes without signature verification unless credentials
// are configured, so this fixed secret is not checked; the access key id picks the account.
ClientConfig EmulatedAccountConfig(std::string endpoint, std::string region,
                                   std::string account_id) {
    ClientConfig config;
    config.endpoint = std::move(endpoint);
    config.region = std::move(region);
    config.credentials.access_key_id = std::move(account_id);
    config.credentials.secret_access_key = std::string(kEmulatedSecretAccessKey);
    return config;
}

Result<std::unique_ptr<AwsClient>> MakeAwsClient(ClientConfig config,
                                                 std::shared_ptr<const Clock> clock) {
    try {
        return std::make_unique<AwsClient>(std::move(config), std::move(clock));
    } catch (const std::exception& e) {
        return MakeError(ErrorCode::kInvalidArgument, e.what());
    }
}

std::string AwsClient::Path(std::initializer_list<std::string_view> segments) {
    std::string path;
    for (auto segment : segments) {
        path.push_back('/');
        path += UriEncode(segment, false);
    }
    return path.empty() ? "/" : path;
}

Result<nlohmann::json, AwsErrorReply> AwsClient::Call(std::string_view method,
                                                      std::string_view path,
                                                      const QueryParams& query,
                                                      const nlohmann::json& body,
                                                      const HeaderList& headers) {
    std::string raw_query;
    for (const auto& [name, value] : query) {
        if (!raw_query.empty()) {
            raw_query.push_back('&');
        }
        raw_query += UriEncode(name, false) + "=" + UriEncode(value, false);
    }
    const std::string payload = body.is_null() ? std::string() : body.dump();

    SignableRequest signable;
    signable.method = std::string(method);
    signable.raw_path = std::string(path);
    signable.raw_query = raw_query;
    signable.headers.emplace_back("Host", host_header_);
    if (!payload.empty()) {
        signable.headers.emplace_back("Content-Type", "application/json");
    }
    for (const auto& header : headers) {
        signable.headers.push_back(header);
    }
    signable.payload = payload;
    const HeaderList added = Sign(signable, config_.credentials, config_.region, config_.service,
                                  AmzDate(clock_->Now()));

    httplib::Request request;
    request.method = signable.method;
    request.path = raw_query.empty() ? signable.raw_path : signable.raw_path + "?" + raw_query;
    for (const auto& [name, value] : signable.headers) {
        request.headers.emplace(name, value);
    }
    for (const auto& [name, value] : added) {
        request.headers.emplace(name, value);
    }
    request.body = payload;

    std::lock_guard lock(mutex_);
    auto result = client_->send(request);
    if (!result) {
        return Unexpected<AwsErrorReply>(AwsErrorReply{
            0, "TransportError",
            method.data() + std::string(" ") + std::string(path) + ": " +
                httplib::to_string(result.error()),
            "", nullptr});
    }
    const httplib::Response& response = *result;
    nlohmann::json parsed = nlohmann::json::object();
    if (!response.body.empty()) {
        parsed = nlohmann::json::parse(response.body, nullptr, false);
    }
    if (response.status >= 300) {
        AwsErrorReply error;
        error.status = response.status;
        error.request_id = response.get_header_value("x-amzn-RequestId");
        std::string type = response.get_header_value("x-amzn-ErrorType");
        if (type.empty() && parsed.is_object()) {
            type = parsed.value("__type", parsed.value("code", std::string()));
        }
        // botocore: cut anything after ':' (and before '#').
        if (auto colon = type.find(':'); colon != std::string::npos) {
            type.resize(colon);
        }
        if (auto hash = type.find('#'); hash != std::string::npos) {
            type = type.substr(hash + 1);
        }
        error.type = type.empty() ? std::to_string(response.status) : type;
        if (parsed.is_object()) {
            error.message = parsed.value("message", parsed.value("Message", std::string()));
            error.body = parsed;
        }
        return Unexpected<AwsErrorReply>(std::move(error));
    }
    if (parsed.is_discarded()) {
        return Unexpected<AwsErrorReply>(AwsErrorReply{response.status, "SerializationError",
                                                       "reply is not JSON", "", nullptr});
    }
    return parsed;
}

Result<nlohmann::json, AwsErrorReply> AwsClient::CallOperation(std::string_view operation,
                                                               const nlohmann::json& arguments) {
    auto request = BuildOperationRequest(operation, arguments);
    if (!request) {
        return Unexpected<AwsErrorReply>(
            AwsErrorReply{0, "InvalidRequest", request.error().message, "", nullptr});
    }
    return Call(request->method, request->path, request->query, request->body, request->headers);
}

}  // namespace sim::controlplane
