// SPDX-License-Identifier: Apache-2.0
#pragma once
// Private and public keys: generation (EC P-256, RSA-2048), PEM encoding and decoding.
// Key material comes from OpenSSL's RNG. Thread-safe: a Key is immutable once made, copies
// share the same OpenSSL object (reference counted), every function is reentrant.
// Never log a private key's PEM; identify keys by PublicKeySha256().

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace pki {

enum class KeyType {
    kEcP256,   ///< ECDSA on NIST P-256 (prime256v1): the default for CAs and modules.
    kRsa2048,  ///< RSA, 2048-bit modulus, e = 65537 (what AWS IoT's CreateKeysAndCertificate makes).
};

/// "ec" -> kEcP256, "rsa" -> kRsa2048; anything else is kInvalidArgument.
sim::Result<KeyType> ParseKeyType(std::string_view text);
/// "ec" or "rsa".
std::string ToString(KeyType type);

/// A key pair (or a public key alone, e.g. taken from a CSR). RAII over EVP_PKEY.
class Key {
public:
    /// Generates a new key pair. Errors: kInternal when OpenSSL fails.
    static sim::Result<Key> Generate(KeyType type);
    /// Reads an unencrypted private key PEM: PKCS#8 "PRIVATE KEY", "RSA PRIVATE KEY" or
    /// "EC PRIVATE KEY". Errors: kInvalidArgument ("no PEM private key found", "garbled ...",
    /// "encrypted keys are not supported").
    static sim::Result<Key> FromPrivatePem(std::string_view pem);
    /// Reads a "PUBLIC KEY" (SubjectPublicKeyInfo) PEM.
    static sim::Result<Key> FromPublicPem(std::string_view pem);
    /// PKCS#8 "-----BEGIN PRIVATE KEY-----". Empty when this is a public key only.
    std::string PrivatePem() const;
    /// The algorithm's traditional form: "-----BEGIN RSA PRIVATE KEY-----" for RSA (AWS IoT's
    /// CreateKeysAndCertificate keyPair.PrivateKey, AWS IoT API Reference), "EC PRIVATE KEY" for
    /// EC.
    std::string TraditionalPrivatePem() const;
    /// "-----BEGIN PUBLIC KEY-----".
    std::string PublicPem() const;
    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER: safe to log.
    std::string PublicKeySha256() const;
    /// "EC P-256", "RSA 2048", ...
    std::string Description() const;
    bool has_private() const { return has_private_; }

    /// The OpenSSL object, owned by this Key (valid while any copy lives).
    EVP_PKEY* get() const { return key_.get(); }

    /// Takes ownership of a key pair made by OpenSSL.
    static Key FromOwned(EVP_PKEY* key);
    /// Takes ownership of a public key (e.g. from a CSR) made by OpenSSL.
    static Key PublicOnly(EVP_PKEY* key);

private:
    Key(std::shared_ptr<EVP_PKEY> key, bool has_private)
        : key_(std::move(key)), has_private_(has_private) {}
    std::shared_ptr<EVP_PKEY> key_;
    bool has_private_ = false;
};

/// Makes EC P-256 keys faster than Key::Generate by reusing one keygen context. Not
/// thread-safe: one generator per thread.
class KeyGenerator {
public:
    KeyGenerator();
    ~KeyGenerator();
    KeyGenerator(const KeyGenerator&) = delete;
    KeyGenerator& operator=(const KeyGenerator&) = delete;
    KeyGenerator(KeyGenerator&&) noexcept;
    KeyGenerator& operator=(KeyGenerator&&) noexcept;

    sim::Result<Key> Generate(KeyType type);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pki
