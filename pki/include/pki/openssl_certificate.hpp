// SPDX-License-Identifier: Apache-2.0
#pragma once
// The certificate model from a certificate OpenSSL has already decoded (a TLS peer's), without
// decoding its DER again. The one pki header that names an OpenSSL type (declared, not
// included: callers that hold an X509 include OpenSSL themselves).

#include "pki/certificate.hpp"
#include "sim/core/result.hpp"

struct x509_st;  // OpenSSL's X509

namespace pki {

/// Reads every field of CertificateInfo from `cert` and keeps a reference to it (the info's
/// `decoded`). Errors: kInvalidArgument for a null certificate, one that cannot be re-encoded
/// or one with malformed dates.
sim::Result<CertificateInfo> CertificateInfoOfX509(x509_st* cert);

}  // namespace pki
