// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by the registry's translation units: input validation as botocore's iot model
// constrains it, pagination, the policy-document check, and the lookups and certificate entries
// that the operations of several resources share. Internal; not installed.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/account/registry.hpp"
#include "sim/account/types.hpp"
#include "sim/core/hex.hpp"

namespace sim::account::internal {

inline constexpr std::int64_t kDefaultPageSize = 25;    // Assumed: AWS does not document it.
inline constexpr std::int64_t kMaxPageSize = 250;       // botocore PageSize / MaxResults max.
inline constexpr std::size_t kMaxPolicyVersions = 5;    // AWS IoT API Reference, CreatePolicy.
inline constexpr std::size_t kMaxTemplateVersions = 5;  // commonly quoted, not documented.
inline constexpr std::size_t kMaxPoliciesPerCertificate = 10;  // AWS IoT Core quotas.
inline constexpr std::size_t kMaxCasWithSameSubject = 10;      // API: RegisterCACertificate.
inline constexpr std::size_t kMaxPolicyDocumentChars = 2048;   // non-whitespace, CreatePolicy.
inline constexpr std::size_t kMaxCertificatePem = 65536;       // botocore CertificatePem max.

/// Concatenates without the temporaries of a chain of operator+.
inline std::string StrCat(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (const auto part : parts) {
        size += part.size();
    }
    std::string out;
    out.reserve(size);
    for (const auto part : parts) {
        out.append(part);
    }
    return out;
}

/// Character-class checks (botocore patterns).
bool IsThingName(std::string_view name);        // 1-128 [a-zA-Z0-9:_-]+
bool IsPolicyName(std::string_view name);       // 1-128 [\w+=,.@-]+
bool IsTemplateName(std::string_view name);     // 1-36 [0-9A-Za-z_-]+
bool IsAttributeName(std::string_view name);    // 1-128 [a-zA-Z0-9_.,@/:#-]+
bool IsAttributeValue(std::string_view value);  // 0-800 [a-zA-Z0-9_.,@/:#=\[\]-]*
bool IsPolicyVersionId(std::string_view id);    // [0-9]+

/// Lowercases a certificate id and checks it: 64 hex characters (an optional "0x" prefix is
/// accepted, as the model's pattern allows). InvalidRequestException naming `field`.
AwsResult<std::string> NormaliseCertificateId(std::string_view id, std::string_view field);

/// Checks the shape of an IoT policy document ('AWS IoT Core policies'): JSON object, at most 2048
/// non-whitespace characters, Statement with Effect Allow|Deny, Action/NotAction and
/// Resource/NotResource. MalformedPolicyException naming the problem.
AwsStatus ValidatePolicyDocument(std::string_view document);

/// Checks a thing's attributes: names/values per the model, at most 3 attributes without a
/// thing type and 50 with one (AWS IoT Core quotas). InvalidRequestException.
AwsStatus ValidateAttributes(const std::map<std::string, std::string>& attributes,
                             bool has_thing_type);

/// A validated page request: size within 1..250, marker decoded.
struct PageWindow {
    std::size_t size = kDefaultPageSize;
    std::optional<std::string> after;  // decoded marker: the last key already returned
    bool ascending = true;
};
/// `field` names the size parameter in messages ("pageSize" or "maxResults").
AwsResult<PageWindow> ReadPage(const PageRequest& page, std::string_view size_field,
                               std::string_view marker_field, bool default_ascending);

/// One page out of items sorted ascending by a unique key. Returns the items and the next
/// marker (base64 of the last key) when more remain.
template <class T>
std::pair<std::vector<T>, std::optional<std::string>> TakePage(
    std::vector<std::pair<std::string, T>> sorted, const PageWindow& window) {
    if (!window.ascending) {
        std::reverse(sorted.begin(), sorted.end());
    }
    std::vector<T> out;
    std::optional<std::string> next;
    std::size_t i = 0;
    if (window.after) {
        while (i < sorted.size() && (window.ascending ? sorted[i].first <= *window.after
                                                      : sorted[i].first >= *window.after)) {
            ++i;
        }
    }
    for (; i < sorted.size() && out.size() < window.size; ++i) {
        out.push_back(std::move(sorted[i].second));
    }
    if (i < sorted.size() && !out.empty()) {
        next = sim::Base64Encode(sorted[i - 1].first);
    }
    return {std::move(out), std::move(next)};
}

/// A sort key that orders by time, then id (fixed width so string order is time order).
std::string TimeKey(TimePoint time, std::string_view id);

/// Microseconds since the epoch (persistence format for timestamps).
std::int64_t ToMicros(TimePoint time);
TimePoint FromMicros(std::int64_t micros);

// ---- Shared by the operations of several resources (registry_*.cpp) --------------------------

/// A certificate PEM as RegisterCACertificate and RegisterCertificate* take it: 1 to 65536
/// characters (InvalidRequest naming `field`) that pki parses (CertificateValidation).
AwsResult<pki::CertificateInfo> ParsePem(std::string_view pem, std::string_view field);

/// CertificateValidation naming `field` unless `now` lies within the certificate's validity.
AwsStatus CheckValidity(const pki::CertificateInfo& info, TimePoint now, std::string_view field);

/// The thing a thing operation names: InvalidRequest for a malformed name, ResourceNotFound for
/// an unknown one.
AwsResult<const Thing*> ExistingThing(const Registry& registry, std::string_view thing_name);

/// InvalidRequest unless `name` is a template name (1-36 characters of [0-9A-Za-z_-]).
AwsStatus CheckTemplateName(std::string_view name);

// A newly registered certificate, CA (`CaCertificate`) or device (`Certificate`): owned by this
// account, created and last modified at `now`, customer version 1. The caller sets the
// members only its kind has.
template <class Entry, class Status>
Entry NewCertificateEntry(const AccountSettings& settings, pki::CertificateInfo&& info,
                          Status status, CertificateMode mode, TimePoint now,
                          std::string generation_id) {
    Entry entry;
    entry.certificate_id = info.certificate_id;
    if constexpr (std::is_same_v<Entry, CaCertificate>) {
        entry.certificate_arn = CaCertificateArn(settings, entry.certificate_id);
    } else {
        entry.certificate_arn = CertificateArn(settings, entry.certificate_id);
    }
    entry.status = status;
    entry.certificate_mode = mode;
    entry.owned_by = settings.account_id;
    entry.creation_date = now;
    entry.last_modified_date = now;
    entry.generation_id = std::move(generation_id);
    entry.info = std::move(info);
    return entry;
}

// Adds a newly registered certificate (CA or device) to `entries`; answers with its ids.
template <class Map, class Entry>
RegisterCertificateResponse StoreNew(Map& entries, Entry entry) {
    RegisterCertificateResponse response{entry.certificate_arn, entry.certificate_id};
    entries.emplace(response.certificate_id, std::move(entry));
    return response;
}

// DescribeCACertificate and DescribeCertificate: `id_text` must be a certificate id (InvalidRequest
// naming `field`), and `find` must know it (ResourceNotFound naming it as `noun`).
template <class Entry, class Find>
AwsResult<Entry> DescribeById(std::string_view id_text, std::string_view field,
                              std::string_view noun, Find find) {
    auto id = NormaliseCertificateId(id_text, field);
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const Entry* entry = find(*id);
    if (entry == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    std::string(noun) + " " + *id + " does not exist");
    }
    return *entry;
}

// One ListCACertificates / ListCertificates(ByCA) page: the entries `keep` selects, ordered by
// creationDate (then id), as certificate summaries.
template <class Map, class Keep>
ListCertificatesResponse CertificatePage(const Map& entries, const internal::PageWindow& window,
                                         Keep keep) {
    std::vector<std::pair<std::string, CertificateSummary>> sorted;
    for (const auto& [id, cert] : entries) {
        if (!keep(cert)) {
            continue;
        }
        sorted.emplace_back(
            internal::TimeKey(cert.creation_date, id),
            CertificateSummary{cert.certificate_arn, id, std::string(ToString(cert.status)),
                               std::string(ToString(cert.certificate_mode)), cert.creation_date});
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    auto [items, next] = internal::TakePage(std::move(sorted), window);
    return ListCertificatesResponse{std::move(items), std::move(next)};
}

}  // namespace sim::account::internal
