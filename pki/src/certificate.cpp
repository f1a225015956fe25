// SPDX-License-Identifier: Apache-2.0
// The certificate model (pki/certificate.hpp) over OpenSSL 3. certificateId is the lowercase
// hex SHA-256 of the DER encoding, as AWS IoT computes it (AWS IoT API Reference,
// CertificateDescription certificateId).
#include "pki/certificate.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "certificate_internal.hpp"
#include "pki/openssl_certificate.hpp"

namespace pki {
namespace {

constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEnd = "-----END CERTIFICATE-----";

// The attributes reported by their OpenSSL short name; everything else by its dotted OID so
// that two unknown attributes can never collapse into one name.
bool HasShortName(int nid) {
    switch (nid) {
        case NID_countryName:
        case NID_stateOrProvinceName:
        case NID_localityName:
        case NID_organizationName:
        case NID_organizationalUnitName:
        case NID_commonName:
        case NID_serialNumber:
        case NID_dnQualifier:
        case NID_title:
        case NID_surname:
        case NID_givenName:
        case NID_initials:
        case NID_pseudonym:
        case NID_generationQualifier:
            return true;
        default:
            return false;
    }
}

}  // namespace

namespace detail {

DistinguishedName ReadName(const X509_NAME* name) {
    DistinguishedName result;
    const int count = X509_NAME_entry_count(name);
    for (int i = 0; i < count; ++i) {
        const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT* object = X509_NAME_ENTRY_get_object(entry);
        std::string key;
        const int nid = OBJ_obj2nid(object);
        if (HasShortName(nid)) {
            key = OBJ_nid2sn(nid);
        } else {
            std::array<char, 128> oid{};
            OBJ_obj2txt(oid.data(), static_cast<int>(oid.size()), object, 1);
            key = oid.data();
        }
        unsigned char* utf8 = nullptr;
        const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
        std::string value;
        if (length >= 0 && utf8 != nullptr) {
            value.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
        }
        OPENSSL_free(utf8);
        result.entries.emplace_back(std::move(key), std::move(value));
    }
    return result;
}

}  // namespace detail

namespace {

std::string SerialHex(const ASN1_INTEGER* serial) {
    detail::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) {
        return {};
    }
    char* hex = BN_bn2hex(bn.get());
    if (hex == nullptr) {
        return {};
    }
    std::string text(hex);
    OPENSSL_free(hex);
    // BN_bn2hex prints whole bytes in upper case ("0A"); the contract is lower case without
    // leading zeros, "0" for zero, "-" kept for a (non-conforming) negative serial.
    const bool negative = !text.empty() && text.front() == '-';
    std::string digits = negative ? text.substr(1) : text;
    const auto first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "0" : digits.substr(first);
    std::transform(digits.begin(), digits.end(), digits.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return negative ? "-" + digits : digits;
}

bool HasClientAuth(X509* cert) {
    int critical = 0;
    detail::EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(cert, NID_ext_key_usage, &critical, nullptr)));
    if (!eku) {
        // critical == -1: no EKU at all, which allows every purpose. Any other value means the
        // extension is present but unreadable: fail closed.
        return critical == -1;
    }
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i)) == NID_client_auth) {
            return true;
        }
    }
    return false;
}

bool IsCa(X509* cert) {
    detail::BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
        X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
    return bc && bc->ca != 0;
}

}  // namespace

namespace detail {

std::string CertificateDer(X509* cert) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert, &der);
    if (length <= 0 || der == nullptr) {
        return {};
    }
    std::string result(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return result;
}

std::string CertificatePem(X509* cert) {
    BioPtr bio = WriteBio();
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
        return {};
    }
    return BioContents(bio.get());
}

X509Ptr DecodeDer(std::string_view der) {
    const auto* data = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* cursor = data;
    X509Ptr cert(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));  // NOLINT
    if (!cert || cursor != data + der.size()) {
        return nullptr;
    }
    return cert;
}

std::vector<std::string_view> CertificatePemBlocks(std::string_view pem) {
    std::vector<std::string_view> blocks;
    std::size_t from = 0;
    while (true) {
        const std::size_t begin = pem.find(kBegin, from);
        if (begin == std::string_view::npos) {
            break;
        }
        const std::size_t end = pem.find(kEnd, begin + kBegin.size());
        if (end == std::string_view::npos) {
            blocks.push_back(pem.substr(begin));  // unterminated: parsing reports it
            break;
        }
        blocks.push_back(pem.substr(begin, end + kEnd.size() - begin));
        from = end + kEnd.size();
    }
    return blocks;
}

sim::Result<CertificateInfo> InfoFromX509(X509* cert) {
    CertificateInfo info;
    info.der = CertificateDer(cert);
    if (info.der.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "certificate cannot be DER-encoded: " + TakeOpenSslError());
    }
    info.pem = CertificatePem(cert);
    info.certificate_id = Sha256Hex(info.der);
    info.subject = detail::ReadName(X509_get_subject_name(cert));
    info.issuer = detail::ReadName(X509_get_issuer_name(cert));
    info.serial_hex = SerialHex(X509_get0_serialNumber(cert));
    if (!Asn1TimeToTimePoint(X509_get0_notBefore(cert), &info.not_before) ||
        !Asn1TimeToTimePoint(X509_get0_notAfter(cert), &info.not_after)) {
        ERR_clear_error();
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "certificate has a malformed validity date");
    }
    info.is_ca = IsCa(cert);
    info.has_client_auth = HasClientAuth(cert);
    // The certificate's own SubjectPublicKeyInfo: re-encoding the decoded key (i2d_PUBKEY)
    // would run OpenSSL 3.0's encoder and decoder for the same bytes.
    info.public_key_sha256 = SubjectPublicKeySha256(cert);
    info.key_type = DescribeKey(X509_get0_pubkey(cert));
    if (X509_up_ref(cert) == 1) {
        auto decoded = std::make_shared<DecodedCertificate>();
        decoded->x509.reset(cert);
        decoded->der = info.der;
        decoded->certificate_id = info.certificate_id;
        info.decoded = std::move(decoded);
    }
    ERR_clear_error();
    return info;
}

bool DecodedCertificate::VerifiedBy(const std::string& issuer_id) const {
    std::lock_guard lock(mutex_);
    return std::find(verified_by_.begin(), verified_by_.end(), issuer_id) != verified_by_.end();
}

void DecodedCertificate::RememberVerifiedBy(const std::string& issuer_id) const {
    constexpr std::size_t kRemembered = 4;
    std::lock_guard lock(mutex_);
    if (verified_by_.size() >= kRemembered) {
        verified_by_.erase(verified_by_.begin());
    }
    verified_by_.push_back(issuer_id);
}

}  // namespace detail

std::optional<std::string> DistinguishedName::Get(std::string_view short_name) const {
    for (const auto& [key, value] : entries) {
        if (key == short_name) {
            return value;
        }
    }
    return std::nullopt;
}

std::vector<std::string> DistinguishedName::GetAll(std::string_view short_name) const {
    std::vector<std::string> values;
    for (const auto& [key, value] : entries) {
        if (key == short_name) {
            values.push_back(value);
        }
    }
    return values;
}

std::string DistinguishedName::ToString() const {
    // RFC 2253 lists the most significant RDN last; "like" RFC 2253 here means the one-line
    // key=value form with RFC 2253 escaping, in the certificate's own order.
    std::string text;
    for (const auto& [key, value] : entries) {
        if (!text.empty()) {
            text += ',';
        }
        text += key;
        text += '=';
        for (std::size_t i = 0; i < value.size(); ++i) {
            const char c = value[i];
            const bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' ||
                                 c == '>' || c == ';' || c == '=';
            const bool edge = (i == 0 && (c == ' ' || c == '#')) ||
                              (i + 1 == value.size() && c == ' ');
            if (special || edge) {
                text += '\\';
            }
            text += c;
        }
    }
    return text;
}

std::string CertificateIdOfDer(std::string_view der) { return detail::Sha256Hex(der); }

sim::Result<CertificateInfo> ParseCertificatePem(std::string_view pem) {
    const auto blocks = detail::CertificatePemBlocks(pem);
    if (blocks.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "no PEM certificate found");
    }
    detail::BioPtr bio = detail::ReadBio(blocks.front());
    detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            "garbled PEM certificate (" + detail::TakeOpenSslError("bad base64 or DER") + ")");
    }
    return detail::InfoFromX509(cert.get());
}

sim::Result<std::vector<CertificateInfo>> ParseCertificateChainPem(std::string_view pem) {
    const auto blocks = detail::CertificatePemBlocks(pem);
    if (blocks.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "no PEM certificate found");
    }
    std::vector<CertificateInfo> chain;
    chain.reserve(blocks.size());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        auto info = ParseCertificatePem(blocks[i]);
        if (!info) {
            return sim::MakeError(info.error().code, "certificate " + std::to_string(i + 1) +
                                                         " of the chain: " + info.error().message);
        }
        chain.push_back(std::move(info).value());
    }
    return chain;
}

sim::Result<CertificateInfo> ParseCertificateDer(std::string_view der) {
    detail::X509Ptr cert = detail::DecodeDer(der);
    if (!cert) {
        ERR_clear_error();
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "garbled DER certificate");
    }
    return detail::InfoFromX509(cert.get());
}

namespace {

// `info` decoded: its handle while that still matches its DER, else decoded now (null when the
// DER does not decode).
std::shared_ptr<const detail::DecodedCertificate> DecodedOf(const CertificateInfo& info) {
    if (info.decoded && info.decoded->der == info.der) {
        return info.decoded;
    }
    detail::X509Ptr cert = detail::DecodeDer(info.der);
    if (!cert) {
        return nullptr;
    }
    auto decoded = std::make_shared<detail::DecodedCertificate>();
    decoded->x509 = std::move(cert);
    decoded->der = info.der;
    decoded->certificate_id = detail::Sha256Hex(info.der);
    return decoded;
}

}  // namespace

bool IsSignedBy(const CertificateInfo& subject, const CertificateInfo& issuer) {
    if (subject.issuer != issuer.subject) {
        return false;
    }
    const auto child = DecodedOf(subject);
    const auto parent = DecodedOf(issuer);
    if (!child || !parent) {
        ERR_clear_error();
        return false;
    }
    // The same two DER encodings always give the same answer.
    if (child->VerifiedBy(parent->certificate_id)) {
        return true;
    }
    EVP_PKEY* key = X509_get0_pubkey(parent->x509.get());
    const bool ok = key != nullptr && X509_verify(child->x509.get(), key) == 1;
    ERR_clear_error();
    if (ok) {
        child->RememberVerifiedBy(parent->certificate_id);
    }
    return ok;
}

sim::Result<CertificateInfo> CertificateInfoOfX509(x509_st* cert) {
    if (cert == nullptr) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "no certificate");
    }
    return detail::InfoFromX509(cert);
}

bool IsValidAt(const CertificateInfo& cert, std::chrono::system_clock::time_point now) {
    return cert.not_before <= now && now <= cert.not_after;
}

}  // namespace pki
