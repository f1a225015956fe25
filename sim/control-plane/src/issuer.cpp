// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/issuer.hpp"

#include "pki/profiles.hpp"
#include "sim/core/adapters.hpp"

namespace sim::controlplane {
namespace {

namespace et = account::error_type;

account::AwsError Internal(const std::string& step, const Error& error) {
    return account::AwsError{std::string(et::kInternalFailure), step + ": " + error.message,
                             std::nullopt, std::nullopt};
}

}  // namespace

Result<std::shared_ptr<PkiCertificateIssuer>> PkiCertificateIssuer::LoadOrCreate(
    const std::filesystem::path& dir, std::shared_ptr<const Clock> clock) {
    const auto cert_path = dir / "aws-iot-ca.pem";
    const auto key_path = dir / "aws-iot-ca.key";
    std::error_code ec;
    if (std::filesystem::exists(cert_path, ec) && std::filesystem::exists(key_path, ec)) {
        auto cert = ReadFile(cert_path);
        if (!cert) {
            return Unexpected<Error>(cert.error());
        }
        auto key = ReadFile(key_path);
        if (!key) {
            return Unexpected<Error>(key.error());
        }
        auto ca = pki::CertificateAuthority::Load(*cert, *key);
        if (!ca) {
            return MakeError(ErrorCode::kInvalidArgument,
                             cert_path.string() + ": " + ca.error().message);
        }
        return std::make_shared<PkiCertificateIssuer>(std::move(*ca), std::move(clock));
    }
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return MakeError(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
    }
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    if (!key) {
        return Unexpected<Error>(key.error());
    }
    auto ca = pki::CertificateAuthority::CreateRoot(
        pki::RootCaSpec(pki::AwsRootCaSubject(), clock->Now(), pki::Days{20 * 365}), *key);
    if (!ca) {
        return Unexpected<Error>(ca.error());
    }
    // Key first: a crash between the two writes leaves no certificate without its key.
    if (auto written = WriteFileAtomically(key_path, key->PrivatePem(),
                                           std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_write);
        !written) {
        return Unexpected<Error>(written.error());
    }
    if (auto written = WriteFileAtomically(cert_path, ca->pem()); !written) {
        return Unexpected<Error>(written.error());
    }
    return std::make_shared<PkiCertificateIssuer>(std::move(*ca), std::move(clock));
}

account::AwsResult<CertificateIssuer::KeysAndCertificate>
PkiCertificateIssuer::CreateKeysAndCertificate() {
    auto issued = pki::IssueAwsDeviceCertificate(aws_ca_, clock_->Now());
    if (!issued) {
        return Unexpected<account::AwsError>(Internal("issuing a certificate", issued.error()));
    }
    auto info = pki::ParseCertificatePem(issued->certificate.pem);
    if (!info) {
        return Unexpected<account::AwsError>(Internal("reading the issued certificate", info.error()));
    }
    return KeysAndCertificate{std::move(*info), issued->public_key_pem, issued->private_key_pem};
}

account::AwsResult<pki::CertificateInfo> PkiCertificateIssuer::CreateCertificateFromCsr(
    std::string_view csr_pem) {
    const auto now = clock_->Now();
    pki::CsrIssueOptions options;
    options.not_before = now - pki::kBackdate;
    options.not_after = pki::kAwsIssuedNotAfter;
    // Assumed: the certificate keeps the CSR's subject (AWS documents only the key rules).
    // Described from the certificate just signed: its PEM is not decoded again.
    auto issued = aws_ca_.IssueInfoFromCsr(csr_pem, options);
    if (!issued) {
        if (issued.error().code == ErrorCode::kInvalidArgument) {
            return account::Fail(et::kInvalidRequest,
                                 "certificateSigningRequest: " + issued.error().message);
        }
        return Unexpected<account::AwsError>(Internal("issuing from a CSR", issued.error()));
    }
    return std::move(*issued);
}

}  // namespace sim::controlplane
