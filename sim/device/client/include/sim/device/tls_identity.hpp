// SPDX-License-Identifier: Apache-2.0
#pragma once
// A device's TLS client identity, decoded once and held in memory: the root CA it trusts, its
// certificate (chain) and private key, as one OpenSSL client context. Connections made with it
// speak TLS 1.2 with mutual authentication and verify the server's certificate against the
// root CA and against the name or address in the server name indication they send (as AWS
// IoT Core Developer Guide, "Transport security in AWS IoT Core", expects of a device).
//
// Many devices of one process share one identity (the claim certificate of a fleet): its
// files are read and decoded once, not once per connection. Thread-safety: immutable once
// made; any number of connections on any threads may use it at once.

#include <filesystem>
#include <memory>
#include <string_view>

#include "pki/key.hpp"
#include "sim/core/result.hpp"

struct ssl_ctx_st;
struct x509_store_st;

namespace sim::device {

class TlsIdentity {
public:
    /// From PEM files: the root CA (one or more certificates), the certificate (leaf first,
    /// then any intermediates) and its private key. Errors (kInvalidArgument) name the file.
    static sim::Result<std::shared_ptr<const TlsIdentity>> Load(
        const std::filesystem::path& root_ca, const std::filesystem::path& certificate,
        const std::filesystem::path& private_key);

    /// The same trusted root CA with another certificate (PEM text) and its key.
    /// Errors (kInvalidArgument): no certificate in the text, a key that does not match.
    sim::Result<std::shared_ptr<const TlsIdentity>> WithCertificate(
        std::string_view certificate_pem, const pki::Key& private_key) const;

    /// The client context; valid as long as this identity (libmosquitto takes a reference).
    ssl_ctx_st* context() const { return context_.get(); }

private:
    struct Private {};

public:
    TlsIdentity(Private, std::shared_ptr<x509_store_st> trust, std::shared_ptr<ssl_ctx_st> context)
        : trust_(std::move(trust)), context_(std::move(context)) {}

private:
    static sim::Result<std::shared_ptr<const TlsIdentity>> Make(
        std::shared_ptr<x509_store_st> trust, std::string_view certificate_pem,
        const pki::Key& private_key, std::string_view what);

    std::shared_ptr<x509_store_st> trust_;
    std::shared_ptr<ssl_ctx_st> context_;
};

}  // namespace sim::device
