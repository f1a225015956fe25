// SPDX-License-Identifier: Apache-2.0
#pragma once
// The control plane's HTTP/1.1 front door (adapter): one event-driven thread accepts
// connections and reads requests without blocking; only a complete request (headers and
// Content-Length body) reaches a worker, and responses are written back by the event thread.
// A client that sends slowly therefore holds a buffer, never a worker: slow or half-open
// connections cannot starve ordinary requests. A request must arrive whole within
// `request_timeout` of its first byte (else 408 and close); an idle keep-alive connection is
// closed after `keep_alive_timeout`; a response not taken by the client within
// `request_timeout` is dropped with its connection.
//
// Wire rules: request line "METHOD target HTTP/1.x"; header fields "name: value" (value
// trimmed); a body only with Content-Length (Transfer-Encoding: 411 Length Required);
// "Expect: 100-continue" answered with 100 Continue; keep-alive unless "Connection: close" or
// HTTP/1.0 without "Connection: keep-alive"; pipelined requests answered in order.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "sim/control_plane/http.hpp"
#include "sim/core/result.hpp"

namespace sim::controlplane {

struct HttpFrontOptions {
    std::string host = "127.0.0.1";
    int port = 0;  ///< 0: the OS picks one.
    int workers = 4;
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds keep_alive_timeout{2'000};
    std::size_t max_header_bytes = 64 * 1024;
    std::size_t max_body_bytes = 8 * 1024 * 1024;  ///< Larger: 413 and close.
    std::size_t max_connections = 4096;            ///< Beyond: accepted and closed at once.
};

class HttpFront {
public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    /// Binds host:port and starts the event thread and the workers. Errors: kUnavailable (bind,
    /// listen, epoll), kInvalidArgument (host not an IPv4 address).
    static Result<std::unique_ptr<HttpFront>> Start(const HttpFrontOptions& options,
                                                    Handler handler);
    ~HttpFront();  ///< Stop().
    HttpFront(const HttpFront&) = delete;
    HttpFront& operator=(const HttpFront&) = delete;

    int port() const;
    /// Closes the listener and every connection, joins the threads. Idempotent.
    void Stop();

private:
    struct Impl;
    explicit HttpFront(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim::controlplane
