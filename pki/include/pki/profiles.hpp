// SPDX-License-Identifier: Apache-2.0
#pragma once
// The certificates the simulated world needs, as IssueSpecs and helpers over
// CertificateAuthority: manufacturer CAs, ExpressLink module birth identities, claim-thing and
// AWS-issued device certificates, verification certificates, the emulated AWS IoT CA and
// endpoint server certificates. In memory, pure apart from OpenSSL's RNG: the caller passes
// `now`. Thread-safe (reentrant), except ModuleIdentityMaker (one per thread).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pki/authority.hpp"

namespace pki {

using Days = std::chrono::duration<std::int64_t, std::ratio<86400>>;

/// Back-dating of not_before, so that a peer whose clock is a little behind still accepts a
/// certificate made just now. Assumed: one hour (AWS does not document its own margin).
inline constexpr std::chrono::hours kBackdate{1};

/// Root CA spec: subject as given, validity [now - kBackdate, now + days].
IssueSpec RootCaSpec(DistinguishedName subject, TimePoint now, Days days);
/// Intermediate CA spec: pathlen 0.
IssueSpec IntermediateCaSpec(DistinguishedName subject, TimePoint now, Days days);

// ---- ExpressLink module birth identities -------------------------------------------------

/// A ThingName and the serial that encodes it.
/// ThingName = 17 bytes from OpenSSL's RAND_bytes with the first byte forced into 0x40..0x7F,
/// written as 34 lowercase hex characters: 134 random bits (the spec asks for "a unique,
/// non-sequential 128-bit or larger number", ExpressLink Programmer's Guide 12.1.3.1). The same
/// 17 bytes are the certificate's serial: the DER INTEGER is positive without a 0x00 pad
/// (top bit clear) and has no leading zero nibble, so the serial printed as hex
/// (CertificateInfo::serial_hex, `openssl x509 -serial` lower-cased) equals the ThingName.
struct ThingName {
    std::string text;                  ///< 34 lowercase hex characters, first one 4..7.
    std::vector<std::uint8_t> serial;  ///< The 17 bytes.
};
inline constexpr std::size_t kThingNameBytes = 17;
inline constexpr std::size_t kThingNameHexLength = 2 * kThingNameBytes;

/// A new random ThingName. Errors: kInternal when the RNG fails.
sim::Result<ThingName> NewThingName();
/// True for a string NewThingName could have made (34 lowercase hex, first char 4..7).
bool IsThingName(std::string_view text);

/// The birth certificate spec: subject CN=ThingName (preceded by O=organization when not
/// empty), serial = the ThingName's bytes, EKU clientAuth, validity [not_before, not_after].
IssueSpec ModuleSpec(const ThingName& thing_name, std::string_view organization,
                     TimePoint not_before, TimePoint not_after);

struct ModuleIdentity {
    std::string thing_name;
    Key key;
    IssuedCertificate certificate;
    std::string key_pem;    ///< PKCS#8 "PRIVATE KEY". Never log it.
    std::string chain_pem;  ///< certificate.pem followed by the CA chain up to the root.
};

/// Makes module identities one after another from one CA, reusing one key-generation
/// context. Not thread-safe: use one maker per thread. The CA must outlive the maker.
class ModuleIdentityMaker {
public:
    struct Options {
        KeyType key_type = KeyType::kEcP256;
        std::string organization;  ///< Optional O= in the subject.
        TimePoint not_before;
        TimePoint not_after;
    };
    ModuleIdentityMaker(const CertificateAuthority& ca, Options options);
    sim::Result<ModuleIdentity> Make();

private:
    const CertificateAuthority& ca_;
    Options options_;
    KeyGenerator generator_;
};

// ---- Accounts, claims and endpoints -------------------------------------------------------

/// The emulated AWS IoT CA's subject. Assumed: one emulated CA signs both endpoint server
/// certificates (the role of Amazon Root CA 1) and AWS-issued device certificates; its
/// subject names elsim so that it can never be mistaken for Amazon's.
DistinguishedName AwsRootCaSubject();

/// An AWS-issued device certificate and its RSA-2048 key pair, as CreateKeysAndCertificate returns
/// them (AWS IoT API Reference, CreateKeysAndCertificate): subject CN=AWS IoT Certificate, notAfter
/// 2049-12-31T23:59:59Z, keys as "RSA PRIVATE KEY" and "PUBLIC KEY" PEM.
struct AwsIssuedCertificate {
    IssuedCertificate certificate;
    std::string private_key_pem;  ///< "-----BEGIN RSA PRIVATE KEY-----". Never log it.
    std::string public_key_pem;   ///< "-----BEGIN PUBLIC KEY-----".
};
/// notAfter of every AWS-issued certificate: 2049-12-31T23:59:59Z (= 2524607999).
inline constexpr TimePoint kAwsIssuedNotAfter{std::chrono::seconds{2'524'607'999}};
/// Issues one with a new RSA-2048 key (notBefore = now - kBackdate). Slow: RSA keygen.
sim::Result<AwsIssuedCertificate> IssueAwsDeviceCertificate(const CertificateAuthority& aws_ca,
                                                            TimePoint now);
/// The spec used by IssueAwsDeviceCertificate (also for CreateCertificateFromCsr callers).
IssueSpec AwsDeviceSpec(TimePoint now);

/// Verification certificate for RegisterCACertificate: CN = the registration code, signed by the CA
/// being registered (AWS IoT Core Developer Guide, 'Register your CA certificate'). The code must
/// be 1..64 characters of [A-Za-z0-9] (AWS codes are 64 lowercase hex). Errors: kInvalidArgument.
sim::Result<IssueSpec> VerificationSpec(std::string_view registration_code, TimePoint now,
                                        Days days);

/// An endpoint server certificate: CN = first DNS name (or first IP), SANs = all names and
/// addresses, EKU serverAuth. Errors: kInvalidArgument when both lists are empty.
sim::Result<IssueSpec> ServerSpec(const std::vector<std::string>& dns_names,
                                  const std::vector<std::string>& ip_addresses, TimePoint now,
                                  Days days);

}  // namespace pki
