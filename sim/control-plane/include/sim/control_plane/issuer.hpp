// SPDX-License-Identifier: Apache-2.0
#pragma once
// The CertificateIssuer adapter over pki: AWS-issued certificates (RSA-2048, CN=AWS IoT
// Certificate, notAfter 2049-12-31) signed by the emulated AWS IoT CA. Thread-safe (pki's
// CertificateAuthority is immutable; the clock is thread-safe).

#include <filesystem>
#include <memory>

#include "pki/authority.hpp"
#include "sim/control_plane/router.hpp"
#include "sim/core/ports.hpp"

namespace sim::controlplane {

class PkiCertificateIssuer final : public CertificateIssuer {
public:
    PkiCertificateIssuer(pki::CertificateAuthority aws_ca, std::shared_ptr<const Clock> clock)
        : aws_ca_(std::move(aws_ca)), clock_(std::move(clock)) {}

    /// Loads the emulated AWS IoT CA from `dir`/aws-iot-ca.pem and aws-iot-ca.key, or creates
    /// one (EC P-256, pki::AwsRootCaSubject(), 20 years) and writes them atomically (key 0600).
    /// Errors: kIo / kInvalidArgument naming the file.
    static Result<std::shared_ptr<PkiCertificateIssuer>> LoadOrCreate(
        const std::filesystem::path& dir, std::shared_ptr<const Clock> clock);

    account::AwsResult<KeysAndCertificate> CreateKeysAndCertificate() override;
    account::AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(
        std::string_view csr_pem) override;

    const pki::CertificateAuthority& aws_ca() const { return aws_ca_; }

private:
    pki::CertificateAuthority aws_ca_;
    std::shared_ptr<const Clock> clock_;
};

}  // namespace sim::controlplane
