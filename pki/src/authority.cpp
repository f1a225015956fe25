// SPDX-License-Identifier: Apache-2.0
// Building and signing X.509 v3 certificates with the OpenSSL 3 C API. Extensions are built as
// ASN.1 structures (not parsed from config strings) because the factory issues thousands per
// second and string parsing would dominate.
#include "pki/authority.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <ctime>

#include "certificate_internal.hpp"

namespace pki {
namespace {

using detail::TakeOpenSslError;

constexpr std::size_t kMaxSerialBytes = 20;  // RFC 5280 §4.1.2.2

sim::Unexpected<sim::Error> Invalid(std::string message) {
    return sim::MakeError(sim::ErrorCode::kInvalidArgument, std::move(message));
}
sim::Unexpected<sim::Error> Internal(const std::string& step) {
    return sim::MakeError(sim::ErrorCode::kInternal, step + ": " + TakeOpenSslError());
}

std::time_t ToTimeT(TimePoint t) {
    return static_cast<std::time_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

sim::Status CheckSerial(const std::vector<std::uint8_t>& serial) {
    if (serial.empty() || serial.size() > kMaxSerialBytes) {
        return Invalid("serial must be 1 to 20 bytes, got " + std::to_string(serial.size()));
    }
    if ((serial.front() & 0x80U) != 0) {
        return Invalid("serial must be positive (top bit of the first byte clear)");
    }
    return {};
}

// The checks every spec must pass before anything is built.
sim::Status CheckSpec(const IssueSpec& spec) {
    if (spec.subject.entries.empty()) {
        return Invalid("subject is empty");
    }
    if (!spec.serial.empty()) {
        if (auto status = CheckSerial(spec.serial); !status) {
            return status;
        }
    }
    if (spec.not_after <= spec.not_before) {
        return Invalid("not_after must be later than not_before");
    }
    if (spec.path_len && (!spec.is_ca || *spec.path_len < 0)) {
        return Invalid("path_len needs is_ca and a value >= 0");
    }
    for (const auto& name : spec.dns_names) {
        if (name.empty() || name.size() > 253 ||
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-.*") != std::string::npos) {
            return Invalid("DNS name '" + name + "' is not a host name");
        }
    }
    return {};
}

sim::Status SetName(X509_NAME* name, const DistinguishedName& dn) {
    for (const auto& [key, value] : dn.entries) {
        if (X509_NAME_add_entry_by_txt(name, key.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()),
                                       static_cast<int>(value.size()), -1, 0) != 1) {
            return Invalid("subject entry " + key + "=" + value + ": " +
                           TakeOpenSslError("not accepted"));
        }
    }
    return {};
}

sim::Status SetSerial(X509* cert, const std::vector<std::uint8_t>& serial) {
    detail::BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
    if (!bn) {
        return Internal("serial");
    }
    detail::Asn1IntegerPtr integer(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!integer || X509_set_serialNumber(cert, integer.get()) != 1) {
        return Internal("serial");
    }
    return {};
}

sim::Status AddExtension(X509* cert, int nid, void* value, bool critical, const char* what) {
    if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
        return Internal(what);
    }
    return {};
}

std::string KeyIdOfPubkey(const X509_PUBKEY* pub) {
    // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING.
    const unsigned char* bits = nullptr;
    int bits_length = 0;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (pub == nullptr ||
        X509_PUBKEY_get0_param(nullptr, &bits, &bits_length, nullptr, pub) != 1 ||
        EVP_Digest(bits, static_cast<std::size_t>(bits_length), digest.data(), &length,
                   EVP_sha1(), nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

sim::Status AddKeyIds(X509* cert, const std::string& subject_key_id,
                      const std::string& issuer_key_id) {
    if (!subject_key_id.empty()) {
        ASN1_OCTET_STRING* ski = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(ski, reinterpret_cast<const unsigned char*>(subject_key_id.data()),
                              static_cast<int>(subject_key_id.size()));
        auto status = AddExtension(cert, NID_subject_key_identifier, ski, false, "SKI");
        ASN1_OCTET_STRING_free(ski);
        if (!status) {
            return status;
        }
    }
    if (!issuer_key_id.empty()) {
        AUTHORITY_KEYID* aki = AUTHORITY_KEYID_new();
        aki->keyid = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(aki->keyid,
                              reinterpret_cast<const unsigned char*>(issuer_key_id.data()),
                              static_cast<int>(issuer_key_id.size()));
        auto status = AddExtension(cert, NID_authority_key_identifier, aki, false, "AKI");
        AUTHORITY_KEYID_free(aki);
        if (!status) {
            return status;
        }
    }
    return {};
}

sim::Status AddConstraintsAndUsage(X509* cert, bool is_ca, std::optional<int> path_len,
                                   ExtendedKeyUsage eku, const EVP_PKEY* subject_key) {
    BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
    bc->ca = is_ca ? 0xFF : 0;
    if (path_len) {
        bc->pathlen = ASN1_INTEGER_new();
        ASN1_INTEGER_set(bc->pathlen, *path_len);
    }
    auto status = AddExtension(cert, NID_basic_constraints, bc, true, "basicConstraints");
    BASIC_CONSTRAINTS_free(bc);
    if (!status) {
        return status;
    }

    ASN1_BIT_STRING* usage = ASN1_BIT_STRING_new();
    if (is_ca) {
        ASN1_BIT_STRING_set_bit(usage, 5, 1);  // keyCertSign
        ASN1_BIT_STRING_set_bit(usage, 6, 1);  // cRLSign
    } else {
        ASN1_BIT_STRING_set_bit(usage, 0, 1);  // digitalSignature
        if (EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA) {
            ASN1_BIT_STRING_set_bit(usage, 2, 1);  // keyEncipherment (TLS RSA key exchange)
        }
    }
    status = AddExtension(cert, NID_key_usage, usage, true, "keyUsage");
    ASN1_BIT_STRING_free(usage);
    if (!status) {
        return status;
    }

    if (eku == ExtendedKeyUsage::kNone) {
        return {};
    }
    EXTENDED_KEY_USAGE* usages = sk_ASN1_OBJECT_new_null();
    if (eku == ExtendedKeyUsage::kClientAuth || eku == ExtendedKeyUsage::kClientAndServerAuth) {
        sk_ASN1_OBJECT_push(usages, OBJ_nid2obj(NID_client_auth));
    }
    if (eku == ExtendedKeyUsage::kServerAuth || eku == ExtendedKeyUsage::kClientAndServerAuth) {
        sk_ASN1_OBJECT_push(usages, OBJ_nid2obj(NID_server_auth));
    }
    // OBJ_nid2obj returns static objects, so the stack is freed without freeing its items.
    status = AddExtension(cert, NID_ext_key_usage, usages, false, "extendedKeyUsage");
    sk_ASN1_OBJECT_free(usages);
    return status;
}

sim::Status AddSubjectAltNames(X509* cert, const IssueSpec& spec) {
    if (spec.dns_names.empty() && spec.ip_addresses.empty()) {
        return {};
    }
    detail::GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    for (const auto& dns : spec.dns_names) {
        GENERAL_NAME* name = GENERAL_NAME_new();
        ASN1_IA5STRING* text = ASN1_IA5STRING_new();
        ASN1_STRING_set(text, dns.data(), static_cast<int>(dns.size()));
        GENERAL_NAME_set0_value(name, GEN_DNS, text);
        sk_GENERAL_NAME_push(names.get(), name);
    }
    for (const auto& ip : spec.ip_addresses) {
        ASN1_OCTET_STRING* address = a2i_IPADDRESS(ip.c_str());
        if (address == nullptr) {
            ERR_clear_error();
            return Invalid("IP address '" + ip + "' is not an IPv4 or IPv6 address");
        }
        GENERAL_NAME* name = GENERAL_NAME_new();
        GENERAL_NAME_set0_value(name, GEN_IPADD, address);
        sk_GENERAL_NAME_push(names.get(), name);
    }
    return AddExtension(cert, NID_subject_alt_name, names.get(), false, "subjectAltName");
}

const EVP_MD* DigestFor(const EVP_PKEY* key) {
    const int id = EVP_PKEY_get_base_id(key);
    return (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
}

// Builds and signs one certificate. `issuer` is null for a self-signed root.
sim::Result<detail::X509Ptr> Build(const IssueSpec& spec, const EVP_PKEY* subject_key,
                                   X509* issuer_cert, const EVP_PKEY* signing_key,
                                   const std::string& issuer_key_id) {
    if (auto status = CheckSpec(spec); !status) {
        return sim::Unexpected<sim::Error>(status.error());
    }
    detail::X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
        return Internal("X509_new");
    }
    std::vector<std::uint8_t> serial = spec.serial;
    if (serial.empty()) {
        auto random = RandomSerial();
        if (!random) {
            return sim::Unexpected<sim::Error>(random.error());
        }
        serial = std::move(random).value();
    }
    if (auto status = SetSerial(cert.get(), serial); !status) {
        return sim::Unexpected<sim::Error>(status.error());
    }
    if (auto status = SetName(X509_get_subject_name(cert.get()), spec.subject); !status) {
        return sim::Unexpected<sim::Error>(status.error());
    }
    X509_NAME* issuer_name =
        issuer_cert != nullptr ? X509_get_subject_name(issuer_cert) : X509_get_subject_name(cert.get());
    if (X509_set_issuer_name(cert.get(), issuer_name) != 1) {
        return Internal("issuer name");
    }
    if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), ToTimeT(spec.not_before)) == nullptr ||
        ASN1_TIME_set(X509_getm_notAfter(cert.get()), ToTimeT(spec.not_after)) == nullptr) {
        return Internal("validity");
    }
    if (X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(subject_key)) != 1) {
        return Internal("public key");
    }
    const ExtendedKeyUsage eku = spec.is_ca ? ExtendedKeyUsage::kNone : spec.eku;
    if (auto status =
            AddConstraintsAndUsage(cert.get(), spec.is_ca, spec.path_len, eku, subject_key);
        !status) {
        return sim::Unexpected<sim::Error>(status.error());
    }
    if (auto status = AddSubjectAltNames(cert.get(), spec); !status) {
        return sim::Unexpected<sim::Error>(status.error());
    }
    // The key was encoded once by X509_set_pubkey; hash that encoding rather than encode again.
    const std::string subject_key_id = KeyIdOfPubkey(X509_get_X509_PUBKEY(cert.get()));
    const std::string& aki = issuer_cert != nullptr ? issuer_key_id : subject_key_id;
    if (auto status = AddKeyIds(cert.get(), subject_key_id,
                                spec.authority_key_id ? aki : std::string());
        !status) {
        return sim::Unexpected<sim::Error>(status.error());
    }
    if (X509_sign(cert.get(), const_cast<EVP_PKEY*>(signing_key), DigestFor(signing_key)) <= 0) {
        return Internal("signing");
    }
    return cert;
}

sim::Result<IssuedCertificate> ToIssued(X509* cert) {
    IssuedCertificate issued;
    issued.der = detail::CertificateDer(cert);
    issued.pem = detail::CertificatePem(cert);
    if (issued.der.empty() || issued.pem.empty()) {
        return Internal("encoding");
    }
    issued.certificate_id = detail::Sha256Hex(issued.der);
    return issued;
}

std::string KeyIdOf(X509* cert) {
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
    if (ski == nullptr) {
        return KeyIdOfPubkey(X509_get_X509_PUBKEY(cert));
    }
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                       static_cast<std::size_t>(ASN1_STRING_length(ski)));
}

}  // namespace

sim::Result<std::vector<std::uint8_t>> RandomSerial(std::size_t bytes) {
    if (bytes == 0 || bytes > kMaxSerialBytes) {
        return Invalid("serial must be 1 to 20 bytes");
    }
    std::vector<std::uint8_t> serial(bytes);
    if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
        return Internal("RAND_bytes");
    }
    serial.front() &= 0x7FU;
    return serial;
}

sim::Result<CertificateAuthority> CertificateAuthority::FromDer(std::string_view der, Key key,
                                                                std::string issuers_pem) {
    detail::X509Ptr cert = detail::DecodeDer(der);
    if (!cert) {
        return Internal("decoding the CA certificate");
    }
    auto info = detail::InfoFromX509(cert.get());
    if (!info) {
        return sim::Unexpected<sim::Error>(info.error());
    }
    CertificateAuthority ca;
    ca.info_ = std::move(info).value();
    ca.key_ = std::move(key);
    ca.chain_pem_ = ca.info_.pem + issuers_pem;
    ca.key_id_ = KeyIdOf(cert.get());
    ca.x509_ = std::shared_ptr<X509>(cert.release(), X509_free);
    return ca;
}

sim::Result<CertificateAuthority> CertificateAuthority::CreateRoot(IssueSpec spec, Key key) {
    spec.is_ca = true;
    spec.eku = ExtendedKeyUsage::kNone;
    auto cert = Build(spec, key.get(), nullptr, key.get(), {});
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    return FromDer(detail::CertificateDer(cert->get()), std::move(key), {});
}

sim::Result<CertificateAuthority> CertificateAuthority::CreateSubordinate(IssueSpec spec,
                                                                          Key key) const {
    spec.is_ca = true;
    spec.eku = ExtendedKeyUsage::kNone;
    auto cert = Build(spec, key.get(), x509_.get(), key_.get(), key_id_);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    return FromDer(detail::CertificateDer(cert->get()), std::move(key), chain_pem_);
}

sim::Result<CertificateAuthority> CertificateAuthority::Load(std::string_view cert_pem,
                                                             std::string_view key_pem,
                                                             std::string_view issuers_pem) {
    auto chain = ParseCertificateChainPem(cert_pem);
    if (!chain) {
        return sim::Unexpected<sim::Error>(chain.error());
    }
    auto key = Key::FromPrivatePem(key_pem);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    const CertificateInfo& ca_info = chain->front();
    if (!ca_info.is_ca) {
        return Invalid("not a CA certificate (basicConstraints CA:TRUE missing)");
    }
    detail::X509Ptr cert = detail::DecodeDer(ca_info.der);
    if (!cert || X509_check_private_key(cert.get(), key->get()) != 1) {
        ERR_clear_error();
        return Invalid("the private key does not match the certificate");
    }
    std::string issuers;
    for (std::size_t i = 1; i < chain->size(); ++i) {
        issuers += (*chain)[i].pem;
    }
    if (!issuers_pem.empty()) {
        auto more = ParseCertificateChainPem(issuers_pem);
        if (!more) {
            return sim::Unexpected<sim::Error>(more.error());
        }
        for (const auto& issuer : *more) {
            issuers += issuer.pem;
        }
    }
    return FromDer(ca_info.der, std::move(key).value(), std::move(issuers));
}

sim::Result<IssuedCertificate> CertificateAuthority::Issue(const IssueSpec& spec,
                                                           const Key& subject_key) const {
    if (subject_key.get() == nullptr) {
        return Invalid("no subject key");
    }
    auto cert = Build(spec, subject_key.get(), x509_.get(), key_.get(), key_id_);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    return ToIssued(cert->get());
}

sim::Result<IssuedCertificate> CertificateAuthority::IssueFromCsr(
    std::string_view csr_pem, const CsrIssueOptions& options) const {
    auto cert = SignCsr(csr_pem, options);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    return ToIssued(cert->get());
}

sim::Result<CertificateInfo> CertificateAuthority::IssueInfoFromCsr(
    std::string_view csr_pem, const CsrIssueOptions& options) const {
    auto cert = SignCsr(csr_pem, options);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    return detail::InfoFromX509(cert->get());
}

sim::Result<std::shared_ptr<X509>> CertificateAuthority::SignCsr(
    std::string_view csr_pem, const CsrIssueOptions& options) const {
    if (csr_pem.find("-----BEGIN CERTIFICATE REQUEST-----") == std::string_view::npos &&
        csr_pem.find("-----BEGIN NEW CERTIFICATE REQUEST-----") == std::string_view::npos) {
        return Invalid("no PEM certificate request found");
    }
    detail::BioPtr bio = detail::ReadBio(csr_pem);
    detail::X509ReqPtr csr(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!csr) {
        return Invalid("garbled PEM certificate request (" +
                       TakeOpenSslError("bad base64 or DER") + ")");
    }
    EVP_PKEY* public_key = X509_REQ_get0_pubkey(csr.get());
    if (public_key == nullptr) {
        ERR_clear_error();
        return Invalid("CSR has no readable public key");
    }
    const std::string type = detail::DescribeKey(public_key);
    const bool rsa_ok = EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA &&
                        EVP_PKEY_get_bits(public_key) >= 2048;
    const bool ec_ok = type == "EC P-256" || type == "EC P-384" || type == "EC P-521";
    if (!rsa_ok && !ec_ok) {
        return Invalid("CSR key " + type +
                       " is not allowed (RSA >= 2048 or EC P-256/P-384/P-521)");
    }
    if (X509_REQ_verify(csr.get(), public_key) != 1) {
        ERR_clear_error();
        return Invalid("CSR signature does not verify");
    }
    IssueSpec spec;
    if (options.subject) {
        spec.subject = *options.subject;
    } else {
        spec.subject = detail::ReadName(X509_REQ_get_subject_name(csr.get()));
        if (spec.subject.entries.empty()) {
            // Assumed: a CSR with an empty subject gets AWS's own subject for issued
            // certificates (CreateKeysAndCertificate's; AWS does not document the subject of
            // CreateCertificateFromCsr's certificates).
            spec.subject.entries.emplace_back("CN", "AWS IoT Certificate");
        }
    }
    spec.serial = options.serial;
    spec.not_before = options.not_before;
    spec.not_after = options.not_after;
    spec.eku = options.eku;
    auto cert = Build(spec, public_key, x509_.get(), key_.get(), key_id_);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    return std::shared_ptr<X509>(cert->release(), X509_free);
}

sim::Result<DistinguishedName> ParseDistinguishedName(std::string_view text) {
    DistinguishedName dn;
    // Both "CN=a,O=b" and OpenSSL's "/CN=a/O=b"; a backslash escapes the next character.
    char separator = ',';
    if (!text.empty() && text.front() == '/') {
        separator = '/';
        text.remove_prefix(1);
    }
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            parts.back() += text[++i];
        } else if (text[i] == separator) {
            parts.emplace_back();
        } else {
            parts.back() += text[i];
        }
    }
    for (const auto& part : parts) {
        const auto equals = part.find('=');
        if (equals == std::string::npos || equals == 0) {
            return Invalid("distinguished name part '" + part + "' is not KEY=VALUE");
        }
        std::string key = part.substr(0, equals);
        while (!key.empty() && key.front() == ' ') {
            key.erase(key.begin());
        }
        std::string value = part.substr(equals + 1);
        if (value.empty()) {
            return Invalid("distinguished name part '" + part + "' has an empty value");
        }
        if (OBJ_txt2nid(key.c_str()) == NID_undef) {
            return Invalid("distinguished name attribute '" + key + "' is unknown");
        }
        dn.entries.emplace_back(std::move(key), std::move(value));
    }
    return dn;
}

sim::Result<std::string> CreateCsrPem(const Key& key, const DistinguishedName& subject) {
    if (!key.has_private()) {
        return Invalid("CSR: the key has no private part");
    }
    detail::X509ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) {
        return Internal("CSR");
    }
    if (auto named = SetName(X509_REQ_get_subject_name(req.get()), subject); !named) {
        return sim::Unexpected<sim::Error>(named.error());
    }
    const bool digestless = EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519;
    if (X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
        X509_REQ_sign(req.get(), key.get(), digestless ? nullptr : EVP_sha256()) <= 0) {
        return Internal("CSR signature");
    }
    detail::BioPtr bio = detail::WriteBio();
    if (PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
        return Internal("CSR PEM");
    }
    return detail::BioContents(bio.get());
}

}  // namespace pki
