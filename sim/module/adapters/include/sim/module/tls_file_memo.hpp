// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace sim::module {

// Memoised PEM loading for the OpenSSL file loaders that Paho C calls on every connect.
//
// Paho C (1.3) builds a new SSL_CTX for each connect and loads the client certificate chain,
// the private key and the trust store from files into it. With OpenSSL 3.0 that decoding costs
// about 0.55 ms per connect (the private key alone about 0.3 ms: OSSL_DECODER tries every
// decoder), all of it on Paho's single receive thread, which runs every TLS handshake of every
// module of a fleet. Paho has no hook to hand it a prepared SSL_CTX, so the process that links
// this library defines the three loaders itself (symbol interposition; the linker exports
// them from the executable, see CMakeLists.txt):
//
//   SSL_CTX_use_certificate_chain_file, SSL_CTX_use_PrivateKey_file,
//   SSL_CTX_load_verify_locations
//
// Contract: each call reads the file, and the result equals what OpenSSL's own loader gives.
//  - The memo is keyed by the file's whole content (not its name or time), so a file that
//    changes is decoded again, and two files with the same content share one entry.
//  - A miss calls OpenSSL's own function (found with dlsym(RTLD_NEXT)); only a success is
//    remembered. A hit applies the remembered objects with SSL_CTX_use_certificate /
//    SSL_CTX_add1_chain_cert, SSL_CTX_use_PrivateKey, X509_STORE_add_cert / add_crl; if any
//    of those fails, OpenSSL's own function runs instead, so errors and the error queue are
//    OpenSSL's.
//  - Not memoised (OpenSSL's function runs): ASN.1 key files, a CApath directory, a key while
//    the SSL_CTX has a password callback (an encrypted key must be decrypted with the password
//    of the context at hand), files larger than 1 MiB, unreadable files.
//  - Thread-safe; the remembered X509 and EVP_PKEY objects are shared read-only between
//    contexts (OpenSSL reference-counts them). The memo holds at most kMaxEntries per kind and
//    starts afresh when full.
struct TlsFileMemoStats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;   ///< decoded by OpenSSL and remembered
    std::uint64_t bypassed = 0; ///< not eligible (see above), left to OpenSSL
};

/// Counters since the process started (all three loaders together).
TlsFileMemoStats GetTlsFileMemoStats();

/// True when the three loaders of this process are the memo's (the executable exported
/// them); false when OpenSSL's own are in use, e.g. a binary linked without the export flags.
bool TlsFileMemoActive();

}  // namespace sim::module
