// SPDX-License-Identifier: Apache-2.0
#include "pki/key.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "openssl_util.hpp"

namespace pki {
namespace {

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

// Never prompts: an encrypted key is refused instead of reading a pass phrase from a terminal.
int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

sim::Result<Key> GenerateWith(EVP_PKEY_CTX* ctx) {
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_generate(ctx, &key) != 1 || key == nullptr) {
        return sim::MakeError(sim::ErrorCode::kInternal,
                              "key generation failed: " + detail::TakeOpenSslError());
    }
    return Key::FromOwned(key);
}

}  // namespace

sim::Result<KeyType> ParseKeyType(std::string_view text) {
    if (text == "ec") {
        return KeyType::kEcP256;
    }
    if (text == "rsa") {
        return KeyType::kRsa2048;
    }
    return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                          "key type '" + std::string(text) + "' is not one of: ec, rsa");
}

std::string ToString(KeyType type) { return type == KeyType::kEcP256 ? "ec" : "rsa"; }

Key Key::FromOwned(EVP_PKEY* key) { return Key(Own(key), true); }

sim::Result<Key> Key::Generate(KeyType type) {
    KeyGenerator generator;
    return generator.Generate(type);
}

sim::Result<Key> Key::FromPrivatePem(std::string_view pem) {
    if (pem.find("-----BEGIN") == std::string_view::npos ||
        pem.find("PRIVATE KEY-----") == std::string_view::npos) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "no PEM private key found");
    }
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "encrypted private keys are not supported");
    }
    detail::BioPtr bio = detail::ReadBio(pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr);
    if (key == nullptr) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "garbled PEM private key (" + detail::TakeOpenSslError("bad base64 or DER") + ")");
    }
    ERR_clear_error();
    return Key(Own(key), true);
}

sim::Result<Key> Key::FromPublicPem(std::string_view pem) {
    if (pem.find("-----BEGIN PUBLIC KEY-----") == std::string_view::npos) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "no PEM public key found");
    }
    detail::BioPtr bio = detail::ReadBio(pem);
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassword, nullptr);
    if (key == nullptr) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "garbled PEM public key (" + detail::TakeOpenSslError("bad base64 or DER") + ")");
    }
    return Key(Own(key), false);
}

Key Key::PublicOnly(EVP_PKEY* key) { return Key(Own(key), false); }

std::string Key::PrivatePem() const {
    if (!has_private_) {
        return {};
    }
    detail::BioPtr bio = detail::WriteBio();
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return detail::BioContents(bio.get());
}

std::string Key::TraditionalPrivatePem() const {
    if (!has_private_) {
        return {};
    }
    detail::BioPtr bio = detail::WriteBio();
    if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key_.get(), nullptr, nullptr, 0,
                                                     nullptr, nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return detail::BioContents(bio.get());
}

std::string Key::PublicPem() const {
    detail::BioPtr bio = detail::WriteBio();
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
        ERR_clear_error();
        return {};
    }
    return detail::BioContents(bio.get());
}

std::string Key::PublicKeySha256() const { return detail::PublicKeySha256(key_.get()); }

std::string Key::Description() const { return detail::DescribeKey(key_.get()); }

struct KeyGenerator::Impl {
    detail::PkeyCtxPtr ec;   // initialised once for P-256, reused for every key
    detail::PkeyCtxPtr rsa;  // initialised once for 2048 bits
};

KeyGenerator::KeyGenerator() : impl_(std::make_unique<Impl>()) {}
KeyGenerator::~KeyGenerator() = default;
KeyGenerator::KeyGenerator(KeyGenerator&&) noexcept = default;
KeyGenerator& KeyGenerator::operator=(KeyGenerator&&) noexcept = default;

sim::Result<Key> KeyGenerator::Generate(KeyType type) {
    if (type == KeyType::kEcP256) {
        if (!impl_->ec) {
            detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
            if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
                EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1) {
                return sim::MakeError(sim::ErrorCode::kInternal,
                                      "EC key set-up failed: " + detail::TakeOpenSslError());
            }
            impl_->ec = std::move(ctx);
        }
        return GenerateWith(impl_->ec.get());
    }
    if (!impl_->rsa) {
        detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
        if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1) {
            return sim::MakeError(sim::ErrorCode::kInternal,
                                  "RSA key set-up failed: " + detail::TakeOpenSslError());
        }
        impl_->rsa = std::move(ctx);
    }
    return GenerateWith(impl_->rsa.get());
}

}  // namespace pki
