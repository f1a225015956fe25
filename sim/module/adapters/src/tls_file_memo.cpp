// SPDX-License-Identifier: Apache-2.0
// The memo behind sim/module/tls_file_memo.hpp: this file defines three OpenSSL functions
// (extern "C", same signatures as <openssl/ssl.h>) that the executable exports, so Paho C's
// calls land here; OpenSSL's own definitions are reached with dlsym(RTLD_NEXT).
#include "sim/module/tls_file_memo.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sim::module {
namespace {

constexpr std::size_t kMaxEntries = 65536;       // per kind; the memo starts afresh when full
constexpr off_t kMaxFileBytes = 1024 * 1024;     // larger files are left to OpenSSL

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct CrlFree {
    void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ref = std::unique_ptr<X509, X509Free>;
using CrlRef = std::unique_ptr<X509_CRL, CrlFree>;
using PkeyRef = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ref Share(X509* x) {
    if (x == nullptr || X509_up_ref(x) != 1) {
        return nullptr;
    }
    return X509Ref(x);
}

struct ChainEntry {
    X509Ref leaf;
    std::vector<X509Ref> chain;
};
struct TrustEntry {
    std::vector<X509Ref> certs;
    std::vector<CrlRef> crls;
};

template <class Entry>
class Table {
public:
    std::shared_ptr<const Entry> Find(const std::string& content) {
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(content);
        return it == entries_.end() ? nullptr : it->second;
    }
    void Put(std::string content, Entry entry) {
        auto shared = std::make_shared<const Entry>(std::move(entry));
        std::lock_guard lock(mutex_);
        if (entries_.size() >= kMaxEntries) {
            entries_.clear();
        }
        entries_.emplace(std::move(content), std::move(shared));
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
};

struct Memo {
    Table<ChainEntry> chains;
    Table<PkeyRef> keys;
    Table<TrustEntry> trust;
    std::atomic<std::uint64_t> hits{0};
    std::atomic<std::uint64_t> misses{0};
    std::atomic<std::uint64_t> bypassed{0};
};

Memo& TheMemo() {
    static auto* memo = new Memo();  // never destroyed: loaders may run during static teardown
    return *memo;
}

// The whole file, or nothing when it cannot be read or is too large to be a PEM credential.
std::optional<std::string> ReadSmallFile(const char* path) {
    if (path == nullptr) {
        return std::nullopt;
    }
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    std::optional<std::string> out;
    struct stat info{};
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size <= kMaxFileBytes) {
        std::string content(static_cast<std::size_t>(info.st_size), '\0');
        std::size_t done = 0;
        while (done < content.size()) {
            const ssize_t n = ::read(fd, content.data() + done, content.size() - done);
            if (n <= 0) {
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        if (done == content.size()) {
            out = std::move(content);
        }
    }
    ::close(fd);
    return out;
}

template <class Fn>
Fn Real(const char* name) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): dlsym returns void*.
    return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

using ChainFileFn = int (*)(SSL_CTX*, const char*);
using KeyFileFn = int (*)(SSL_CTX*, const char*, int);
using VerifyFn = int (*)(SSL_CTX*, const char*, const char*);

ChainFileFn RealChainFile() {
    static const auto fn = Real<ChainFileFn>("SSL_CTX_use_certificate_chain_file");
    return fn;
}
KeyFileFn RealKeyFile() {
    static const auto fn = Real<KeyFileFn>("SSL_CTX_use_PrivateKey_file");
    return fn;
}
VerifyFn RealVerify() {
    static const auto fn = Real<VerifyFn>("SSL_CTX_load_verify_locations");
    return fn;
}

// Applies a remembered result; on failure the error queue is as it was before.
template <class Apply>
bool ApplyHit(Apply&& apply) {
    ERR_set_mark();
    if (apply()) {
        ERR_clear_last_mark();
        return true;
    }
    ERR_pop_to_mark();
    return false;
}

// The one path the three loaders share: a file that cannot be memoised goes to OpenSSL; a
// remembered result is applied; otherwise OpenSSL loads the file and what it produced is
// remembered (`capture`, called only after a success; a capture problem is not the caller's
// error, so it leaves nothing in the error queue).
template <class Entry, class Load, class Apply, class Capture>
int Memoised(Table<Entry>& table, std::optional<std::string> content, Load&& load, Apply&& apply,
             Capture&& capture) {
    auto& memo = TheMemo();
    if (!content) {
        ++memo.bypassed;
        return load();
    }
    if (auto hit = table.Find(*content); hit && ApplyHit([&] { return apply(*hit); })) {
        ++memo.hits;
        return 1;
    }
    const int rc = load();
    if (rc == 1) {
        ERR_set_mark();
        if (std::optional<Entry> entry = capture(*content)) {
            table.Put(std::move(*content), std::move(*entry));
            ++memo.misses;
        }
        ERR_pop_to_mark();
    }
    return rc;
}

int ChainFile(SSL_CTX* ctx, const char* file) {
    const auto real = RealChainFile();
    // OpenSSL's loader clears the error queue first (ssl_rsa.c); so does every path here.
    ERR_clear_error();
    return Memoised(
        TheMemo().chains, ctx != nullptr ? ReadSmallFile(file) : std::nullopt,
        [&] { return real != nullptr ? real(ctx, file) : 0; },
        [&](const ChainEntry& hit) {
            if (SSL_CTX_use_certificate(ctx, hit.leaf.get()) != 1 ||
                SSL_CTX_clear_chain_certs(ctx) != 1) {
                return false;
            }
            return std::all_of(hit.chain.begin(), hit.chain.end(), [&](const X509Ref& cert) {
                return SSL_CTX_add1_chain_cert(ctx, cert.get()) == 1;
            });
        },
        [&](const std::string&) -> std::optional<ChainEntry> {
            ChainEntry entry;
            entry.leaf = Share(SSL_CTX_get0_certificate(ctx));
            STACK_OF(X509)* chain = nullptr;
            if (!entry.leaf || SSL_CTX_get0_chain_certs(ctx, &chain) != 1) {
                return std::nullopt;
            }
            for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
                entry.chain.push_back(Share(sk_X509_value(chain, i)));
                if (!entry.chain.back()) {
                    return std::nullopt;
                }
            }
            return entry;
        });
}

int KeyFile(SSL_CTX* ctx, const char* file, int type) {
    const auto real = RealKeyFile();
    // A password callback means the key may be encrypted: decrypt it with this context's.
    const bool eligible = ctx != nullptr && type == SSL_FILETYPE_PEM &&
                          SSL_CTX_get_default_passwd_cb(ctx) == nullptr;
    return Memoised(
        TheMemo().keys, eligible ? ReadSmallFile(file) : std::nullopt,
        [&] { return real != nullptr ? real(ctx, file, type) : 0; },
        [&](const PkeyRef& hit) { return SSL_CTX_use_PrivateKey(ctx, hit.get()) == 1; },
        [&](const std::string&) -> std::optional<PkeyRef> {
            EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx);
            if (key == nullptr || EVP_PKEY_up_ref(key) != 1) {
                return std::nullopt;
            }
            return PkeyRef(key);
        });
}

std::optional<TrustEntry> ParseTrust(const std::string& content) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(content.data(), static_cast<int>(content.size())), &BIO_free);
    if (!bio) {
        return std::nullopt;
    }
    STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
    if (infos == nullptr) {
        return std::nullopt;
    }
    TrustEntry entry;
    bool ok = true;
    for (int i = 0; ok && i < sk_X509_INFO_num(infos); ++i) {
        X509_INFO* info = sk_X509_INFO_value(infos, i);
        if (info->x509 != nullptr) {
            auto cert = Share(info->x509);
            ok = cert != nullptr;
            entry.certs.push_back(std::move(cert));
        }
        if (info->crl != nullptr) {
            ok = ok && X509_CRL_up_ref(info->crl) == 1;
            if (ok) {
                entry.crls.emplace_back(info->crl);
            }
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    if (!ok || (entry.certs.empty() && entry.crls.empty())) {
        return std::nullopt;
    }
    return entry;
}

int VerifyLocations(SSL_CTX* ctx, const char* ca_file, const char* ca_path) {
    const auto real = RealVerify();
    X509_STORE* store = ctx != nullptr ? SSL_CTX_get_cert_store(ctx) : nullptr;
    return Memoised(
        TheMemo().trust,
        (store != nullptr && ca_path == nullptr) ? ReadSmallFile(ca_file) : std::nullopt,
        [&] { return real != nullptr ? real(ctx, ca_file, ca_path) : 0; },
        [&](const TrustEntry& hit) {
            return std::all_of(hit.certs.begin(), hit.certs.end(),
                               [&](const X509Ref& cert) {
                                   return X509_STORE_add_cert(store, cert.get()) == 1;
                               }) &&
                   std::all_of(hit.crls.begin(), hit.crls.end(), [&](const CrlRef& crl) {
                       return X509_STORE_add_crl(store, crl.get()) == 1;
                   });
        },
        [](const std::string& content) { return ParseTrust(content); });
}

}  // namespace

TlsFileMemoStats GetTlsFileMemoStats() {
    const auto& memo = TheMemo();
    return TlsFileMemoStats{memo.hits.load(), memo.misses.load(), memo.bypassed.load()};
}

}  // namespace sim::module

// The interposed loaders. Same signatures as <openssl/ssl.h>; see tls_file_memo.hpp.
extern "C" {

int SSL_CTX_use_certificate_chain_file(SSL_CTX* ctx, const char* file) {
    return sim::module::ChainFile(ctx, file);
}

int SSL_CTX_use_PrivateKey_file(SSL_CTX* ctx, const char* file, int type) {
    return sim::module::KeyFile(ctx, file, type);
}

int SSL_CTX_load_verify_locations(SSL_CTX* ctx, const char* CAfile, const char* CApath) {
    return sim::module::VerifyLocations(ctx, CAfile, CApath);
}

}  // extern "C"

namespace sim::module {

bool TlsFileMemoActive() {
    // What a shared library such as Paho C resolves the name to.
    return ::dlsym(RTLD_DEFAULT, "SSL_CTX_use_PrivateKey_file") ==
           reinterpret_cast<void*>(&SSL_CTX_use_PrivateKey_file);  // NOLINT
}

}  // namespace sim::module
