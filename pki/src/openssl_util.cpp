// SPDX-License-Identifier: Apache-2.0
#include "openssl_util.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/sha.h>

#include <array>
#include <climits>
#include <cstdint>
#include <ctime>
#include <span>

#include "sim/core/hex.hpp"

namespace pki::detail {

BioPtr ReadBio(std::string_view data) {
    // BIO_new_mem_buf takes an int length; certificates and keys are far below INT_MAX, and
    // larger inputs are cut to INT_MAX, which then fails to parse rather than overflow.
    const int length = data.size() > static_cast<std::size_t>(INT_MAX)
                           ? INT_MAX
                           : static_cast<int>(data.size());
    return BioPtr(BIO_new_mem_buf(data.data(), length));
}

BioPtr WriteBio() { return BioPtr(BIO_new(BIO_s_mem())); }

std::string BioContents(BIO* bio) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int)
    if (length <= 0 || data == nullptr) {
        return {};
    }
    return std::string(data, static_cast<std::size_t>(length));
}

std::string TakeOpenSslError(std::string_view fallback) {
    unsigned long last = 0;  // NOLINT(google-runtime-int): OpenSSL's type
    unsigned long code = 0;  // NOLINT(google-runtime-int)
    while ((code = ERR_get_error()) != 0) {
        last = code;
    }
    if (last == 0) {
        return std::string(fallback);
    }
    const char* reason = ERR_reason_error_string(last);
    if (reason != nullptr) {
        return reason;
    }
    std::array<char, 256> buffer{};
    ERR_error_string_n(last, buffer.data(), buffer.size());
    return buffer.data();
}

std::string Sha256Hex(std::string_view bytes) {
    std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
    return sim::HexEncode(std::span<const std::uint8_t>(digest));
}

bool Asn1TimeToTimePoint(const ASN1_TIME* time, std::chrono::system_clock::time_point* out) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        return false;
    }
    // Civil date to days since the epoch without timegm (which reads no time zone, but keeps
    // this computation pure and independent of the C library).
    using namespace std::chrono;
    const year_month_day date{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                              day{static_cast<unsigned>(tm.tm_mday)}};
    if (!date.ok()) {
        return false;
    }
    *out = sys_days{date} + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
    return true;
}

std::string DescribeKey(const EVP_PKEY* key) {
    if (key == nullptr) {
        return "none";
    }
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_EC: {
            std::array<char, 64> group{};
            std::size_t length = 0;
            if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(),
                                               group.size(), &length) != 1) {
                return "EC";
            }
            const std::string_view name(group.data(), length);
            if (name == "prime256v1" || name == "P-256") {
                return "EC P-256";
            }
            if (name == "secp384r1" || name == "P-384") {
                return "EC P-384";
            }
            if (name == "secp521r1" || name == "P-521") {
                return "EC P-521";
            }
            return "EC " + std::string(name);
        }
        case EVP_PKEY_RSA:
            return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
        case EVP_PKEY_ED25519:
            return "ED25519";
        case EVP_PKEY_ED448:
            return "ED448";
        default: {
            const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
            return name != nullptr ? name : "unknown";
        }
    }
}

namespace {

// Lowercase hex SHA-256 of what `encode` wrote (an i2d_* call), or empty when it wrote nothing.
template <class Encode>
std::string EncodedSha256(Encode&& encode) {
    unsigned char* der = nullptr;
    const int length = encode(&der);
    if (length <= 0 || der == nullptr) {
        return {};
    }
    std::string hex =
        Sha256Hex(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length)));
    OPENSSL_free(der);
    return hex;
}

}  // namespace

std::string PublicKeySha256(const EVP_PKEY* key) {
    return EncodedSha256([key](unsigned char** der) { return i2d_PUBKEY(key, der); });
}

std::string SubjectPublicKeySha256(X509* cert) {
    return EncodedSha256(
        [cert](unsigned char** der) { return i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), der); });
}

}  // namespace pki::detail
