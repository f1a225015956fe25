// SPDX-License-Identifier: Apache-2.0
#pragma once
// Who is asking: the connection facts AWS IoT substitutes into policy variables (AWS IoT Core
// Developer Guide, 'Basic AWS IoT Core policy variables', 'Thing policy variables', 'X.509
// Certificate AWS IoT Core policy variables'). Pure data; the broker fills one ClientIdentity per
// connection and reuses it for every authorization of that connection.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sim::account {

/// The thing AWS IoT associates with a connection (thing-policy-variables): with a
/// non-exclusive association, the thing whose name equals the client ID among the things
/// attached to the presented certificate; with an exclusive association, the attached thing.
/// The registry decides which thing that is; the evaluator only reads this.
struct ThingContext {
    std::string name;                                            ///< ThingName.
    std::string type_name;                                       ///< Empty: no thing type.
    std::map<std::string, std::string, std::less<>> attributes;  ///< Attribute name -> value.
    /// True when the certificate is attached to this thing (AttachThingPrincipal). Thing
    /// variables (ThingName, ThingTypeName, Attributes[...]) resolve only when this is true;
    /// `iot:Connection.Thing.IsAttached` is "true" exactly then.
    bool is_attached = true;
};

/// A certificate's subject or issuer as AWS IoT names the attributes
/// (cert-policy-variables): "CommonName", "Country", "Organization", "OrganizationalUnit",
/// "State", "SerialNumber", "Title", "Surname", "GivenName", "Initials", "Pseudonym",
/// "GenerationQualifier", "DistinguishedNameQualifier", plus the alternative names
/// "AlternativeName.RFC822Name", "AlternativeName.DNSName", "AlternativeName.DirectoryName",
/// "AlternativeName.UniformResourceIdentifier", "AlternativeName.IPAddress". Values are kept
/// in certificate order; AWS uses only the first five of each.
struct CertificateFields {
    std::map<std::string, std::vector<std::string>, std::less<>> values;
};

/// Everything about one MQTT connection that policies may refer to.
struct ClientIdentity {
    std::string client_id;       ///< `${iot:ClientId}`; substituted literally, even "+" or "#".
    std::string certificate_id;  ///< For reasons and logs only; no policy variable reads it.
    std::optional<ThingContext> thing;  ///< nullopt: no thing associated with the connection.
    CertificateFields subject;          ///< `${iot:Certificate.Subject.*}`.
    CertificateFields issuer;           ///< `${iot:Certificate.Issuer.*}`.
    /// `${iot:Certificate.SerialNumber}`. The text form is the caller's (elsim passes pki's
    /// lowercase hex). Not emulated: AWS's exact rendering of the serial is not documented.
    std::string serial_number;
    std::string source_ip;    ///< `aws:SourceIp` (condition key); empty: unknown.
    std::string domain_name;  ///< `${iot:DomainName}`; empty: unknown.
};

/// Maps an OpenSSL short attribute name ("CN", "O", "OU", "C", "ST", "serialNumber", "title",
/// "SN", "GN", "initials", "pseudonym", "generationQualifier", "dnQualifier") to AWS IoT's
/// name ("CommonName", ...). Returns an empty view for attributes AWS IoT does not expose
/// (e.g. "L"), which policies therefore cannot see.
std::string_view AwsCertificateAttributeName(std::string_view openssl_short_name);

/// Builds CertificateFields from a distinguished name given as ordered (short name, value)
/// pairs, the shape of pki::DistinguishedName::entries. Unknown attributes are dropped.
CertificateFields CertificateFieldsFromEntries(
    const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace sim::account
