// SPDX-License-Identifier: Apache-2.0
#include "pki/profiles.hpp"

#include <openssl/rand.h>

#include "openssl_util.hpp"
#include "sim/core/hex.hpp"

namespace pki {

IssueSpec RootCaSpec(DistinguishedName subject, TimePoint now, Days days) {
    IssueSpec spec;
    spec.subject = std::move(subject);
    spec.not_before = now - kBackdate;
    spec.not_after = now + days;
    spec.is_ca = true;
    spec.eku = ExtendedKeyUsage::kNone;
    return spec;
}

IssueSpec IntermediateCaSpec(DistinguishedName subject, TimePoint now, Days days) {
    IssueSpec spec = RootCaSpec(std::move(subject), now, days);
    spec.path_len = 0;
    return spec;
}

sim::Result<ThingName> NewThingName() {
    ThingName name;
    name.serial.resize(kThingNameBytes);
    if (RAND_bytes(name.serial.data(), static_cast<int>(name.serial.size())) != 1) {
        return sim::MakeError(sim::ErrorCode::kInternal,
                              "RAND_bytes: " + detail::TakeOpenSslError());
    }
    // 0x40..0x7F: positive INTEGER without a pad byte, and a first hex digit 4..7 so that the
    // hex has no leading zero and a fixed length (see the header).
    name.serial.front() = static_cast<std::uint8_t>((name.serial.front() & 0x3FU) | 0x40U);
    name.text = sim::HexEncode(std::span<const std::uint8_t>(name.serial));
    return name;
}

bool IsThingName(std::string_view text) {
    return sim::IsLowerHex(text, kThingNameHexLength) && text.front() >= '4' &&
           text.front() <= '7';
}

IssueSpec ModuleSpec(const ThingName& thing_name, std::string_view organization,
                     TimePoint not_before, TimePoint not_after) {
    IssueSpec spec;
    if (!organization.empty()) {
        spec.subject.entries.emplace_back("O", std::string(organization));
    }
    spec.subject.entries.emplace_back("CN", thing_name.text);
    spec.serial = thing_name.serial;
    spec.not_before = not_before;
    spec.not_after = not_after;
    spec.eku = ExtendedKeyUsage::kClientAuth;
    return spec;
}

ModuleIdentityMaker::ModuleIdentityMaker(const CertificateAuthority& ca, Options options)
    : ca_(ca), options_(std::move(options)) {}

sim::Result<ModuleIdentity> ModuleIdentityMaker::Make() {
    auto name = NewThingName();
    if (!name) {
        return sim::Unexpected<sim::Error>(name.error());
    }
    auto key = generator_.Generate(options_.key_type);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    auto cert = ca_.Issue(
        ModuleSpec(*name, options_.organization, options_.not_before, options_.not_after), *key);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    std::string key_pem = key->PrivatePem();
    if (key_pem.empty()) {
        return sim::MakeError(sim::ErrorCode::kInternal, "private key PEM encoding failed");
    }
    std::string chain = cert->pem + ca_.chain_pem();
    return ModuleIdentity{std::move(name->text), std::move(key).value(), std::move(cert).value(),
                          std::move(key_pem), std::move(chain)};
}

DistinguishedName AwsRootCaSubject() {
    return DistinguishedName{{{"C", "US"},
                              {"O", "elsim emulated Amazon"},
                              {"CN", "elsim Emulated AWS IoT Root CA"}}};
}

IssueSpec AwsDeviceSpec(TimePoint now) {
    IssueSpec spec;
    spec.subject.entries.emplace_back("CN", "AWS IoT Certificate");
    spec.not_before = now - kBackdate;
    spec.not_after = kAwsIssuedNotAfter;
    spec.eku = ExtendedKeyUsage::kClientAuth;
    return spec;
}

sim::Result<AwsIssuedCertificate> IssueAwsDeviceCertificate(const CertificateAuthority& aws_ca,
                                                            TimePoint now) {
    auto key = Key::Generate(KeyType::kRsa2048);
    if (!key) {
        return sim::Unexpected<sim::Error>(key.error());
    }
    auto cert = aws_ca.Issue(AwsDeviceSpec(now), *key);
    if (!cert) {
        return sim::Unexpected<sim::Error>(cert.error());
    }
    AwsIssuedCertificate issued{std::move(cert).value(), key->TraditionalPrivatePem(),
                                key->PublicPem()};
    if (issued.private_key_pem.empty() || issued.public_key_pem.empty()) {
        return sim::MakeError(sim::ErrorCode::kInternal, "key PEM encoding failed");
    }
    return issued;
}

sim::Result<IssueSpec> VerificationSpec(std::string_view registration_code, TimePoint now,
                                        Days days) {
    if (registration_code.empty() || registration_code.size() > 64 ||
        registration_code.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789") != std::string_view::npos) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "registration code must be 1 to 64 letters or digits");
    }
    IssueSpec spec;
    spec.subject.entries.emplace_back("CN", std::string(registration_code));
    spec.not_before = now - kBackdate;
    spec.not_after = now + days;
    spec.eku = ExtendedKeyUsage::kClientAuth;
    return spec;
}

sim::Result<IssueSpec> ServerSpec(const std::vector<std::string>& dns_names,
                                  const std::vector<std::string>& ip_addresses, TimePoint now,
                                  Days days) {
    if (dns_names.empty() && ip_addresses.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "a server certificate needs at least one name or address");
    }
    IssueSpec spec;
    spec.subject.entries.emplace_back("CN",
                                      dns_names.empty() ? ip_addresses.front() : dns_names.front());
    spec.dns_names = dns_names;
    spec.ip_addresses = ip_addresses;
    spec.not_before = now - kBackdate;
    spec.not_after = now + days;
    spec.eku = ExtendedKeyUsage::kServerAuth;
    return spec;
}

}  // namespace pki
