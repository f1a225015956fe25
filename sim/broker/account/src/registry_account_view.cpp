// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/registry_account_view.hpp"

#include <utility>

#include "pki/certificate.hpp"
#include "pki/openssl_certificate.hpp"
#include "sim/account/policy_identity.hpp"

namespace sim::broker {
namespace account = sim::account;

namespace {

class RegistryPrincipal final : public Principal {
public:
    std::string certificate_id;
    account::ClientIdentity identity;
};

account::Action ActionOf(Access access) {
    switch (access) {
        case Access::kConnect:
            return account::Action::kConnect;
        case Access::kPublish:
            return account::Action::kPublish;
        case Access::kRetainPublish:
            return account::Action::kRetainPublish;
        case Access::kSubscribe:
            return account::Action::kSubscribe;
        case Access::kReceive:
            return account::Action::kReceive;
    }
    return account::Action::kOther;
}

}  // namespace

RegistryRunner LockingRunner(account::Registry& registry, std::mutex& mutex) {
    return [&registry, &mutex](const std::function<void(account::Registry&)>& work) {
        std::lock_guard lock(mutex);
        work(registry);
    };
}

RegistryAccountView::RegistryAccountView(RegistryRunner runner) {
    access_.run = runner;
    access_.read = [runner](const std::function<void(const account::Registry&)>& work) {
        runner([&work](account::Registry& registry) { work(registry); });
    };
    access_.take_effects = [runner] {
        std::vector<account::Effect> effects;
        runner([&effects](account::Registry& registry) { effects = registry.TakeEffects(); });
        return effects;
    };
}

RegistryAccountView::RegistryAccountView(RegistryAccess access) : access_(std::move(access)) {}

sim::Result<std::shared_ptr<const pki::CertificateInfo>> RegistryAccountView::ParsePeer(
    const PeerCertificate& certificate) {
    // OpenSSL 3's decoders take global locks; a device reconnecting pays for its parse once.
    constexpr std::size_t kMaxCachedCertificates = 4096;
    if (!certificate.certificate_id.empty()) {
        if (const auto it = certificate_cache_.find(certificate.certificate_id);
            it != certificate_cache_.end() && it->second->der == certificate.der) {
            return it->second;
        }
    }
    auto parsed = certificate.tls_decoded
                      ? pki::CertificateInfoOfX509(static_cast<x509_st*>(certificate.tls_decoded.get()))
                      : pki::ParseCertificateDer(certificate.der);
    if (!parsed) {
        return sim::Unexpected<sim::Error>(parsed.error());
    }
    auto info = std::make_shared<const pki::CertificateInfo>(std::move(*parsed));
    if (certificate_cache_.size() >= kMaxCachedCertificates) {
        certificate_cache_.clear();
    }
    certificate_cache_[info->certificate_id] = info;
    return info;
}

Identification RegistryAccountView::Identify(const DeviceConnect& request) {
    Identification result;
    result.certificate_id = request.certificate.certificate_id;
    auto parsed = ParsePeer(request.certificate);
    if (!parsed) {
        result.verdict = Identification::Verdict::kRefuse;
        result.reason = "peer certificate unreadable: " + parsed.error().message;
        return result;
    }
    const auto& info = *parsed;
    account::ConnectDecision decision;
    std::optional<account::ThingContext> thing;
    access_.run([&](account::Registry& registry) {
        if (access_.before_authenticate) {
            access_.before_authenticate(registry, *info);
        }
        decision = registry.AuthenticateDevice({*info, request.client_id, request.source_ip});
        if (decision.verdict == account::ConnectVerdict::kAccept && decision.thing_name) {
            if (const account::Thing* found = registry.FindThing(*decision.thing_name)) {
                account::ThingContext context;
                context.name = found->thing_name;
                context.type_name = found->thing_type_name.value_or("");
                context.attributes.insert(found->attributes.begin(), found->attributes.end());
                context.is_attached = true;
                thing = std::move(context);
            }
        }
    });
    result.reason = decision.reason;
    result.certificate_id = decision.certificate_id;
    switch (decision.verdict) {
        case account::ConnectVerdict::kRefuse:
            result.verdict = Identification::Verdict::kRefuse;
            return result;
        case account::ConnectVerdict::kCloseAfterRegistration:
            result.verdict = Identification::Verdict::kCloseAfterRegistration;
            return result;
        case account::ConnectVerdict::kAccept:
            break;
    }
    auto principal = std::make_shared<RegistryPrincipal>();
    principal->certificate_id = decision.certificate_id;
    principal->identity.client_id = request.client_id;
    principal->identity.certificate_id = decision.certificate_id;
    principal->identity.thing = std::move(thing);
    principal->identity.subject = account::CertificateFieldsFromEntries(info->subject.entries);
    principal->identity.issuer = account::CertificateFieldsFromEntries(info->issuer.entries);
    principal->identity.serial_number = info->serial_hex;
    principal->identity.source_ip = request.source_ip;
    result.verdict = Identification::Verdict::kAccept;
    result.thing_name = decision.thing_name.value_or("");
    result.principal = std::move(principal);
    return result;
}

std::vector<account::NamedPolicy> RegistryAccountView::EffectivePolicies(
    const account::Registry& registry, const std::string& certificate_id) {
    std::vector<account::NamedPolicy> effective;
    for (const auto& name : registry.PoliciesOfCertificate(certificate_id)) {
        const account::Policy* policy = registry.FindPolicy(name);
        if (policy == nullptr) {
            continue;
        }
        const std::string& text = policy->DefaultDocument();
        auto& cached = policy_cache_[name];
        if (!cached.document || cached.text != text) {
            auto parsed = account::ParsePolicyDocument(text);
            // A document the registry accepted parses; if not, the policy grants nothing.
            cached.text = text;
            cached.document =
                parsed ? std::make_shared<const account::PolicyDocument>(std::move(*parsed))
                       : nullptr;
        }
        if (cached.document) {
            effective.push_back({name, cached.document});
        }
    }
    // Not emulated: policies of thing groups (the registry has no thing groups).
    return effective;
}

AuthzAnswer RegistryAccountView::Authorize(const Principal& principal, Access access,
                                           std::string_view name, bool explain) {
    const auto* session = dynamic_cast<const RegistryPrincipal*>(&principal);
    if (session == nullptr) {
        return {false, "session has no registry identity"};
    }
    AuthzAnswer answer;
    access_.read([&](const account::Registry& registry) {
        const auto& settings = registry.Settings();
        std::string resource;
        switch (access) {
            case Access::kConnect:
                resource = account::ClientArn(settings.region, settings.account_id, name);
                break;
            case Access::kSubscribe:
                resource = account::TopicFilterArn(settings.region, settings.account_id, name);
                break;
            default:
                resource = account::TopicArn(settings.region, settings.account_id, name);
                break;
        }
        const auto effective = EffectivePolicies(registry, session->certificate_id);
        account::AuthzRequest request;
        request.action = ActionOf(access);
        request.resource = resource;
        request.client = &session->identity;
        const auto decision = account::Evaluate(
            effective, request, explain ? account::Explain::kYes : account::Explain::kNo);
        answer.allowed = decision.allowed;
        answer.reason = decision.reason;
    });
    return answer;
}

std::vector<AccountEffect> RegistryAccountView::TakeEffects() {
    std::vector<AccountEffect> out;
    for (auto& effect : access_.take_effects()) {
        AccountEffect converted;
        converted.kind = effect.kind == account::Effect::Kind::kPublish
                             ? AccountEffect::Kind::kPublish
                             : AccountEffect::Kind::kDisconnectCertificate;
        converted.topic = std::move(effect.topic);
        converted.payload = std::move(effect.payload);
        converted.certificate_id = std::move(effect.certificate_id);
        out.push_back(std::move(converted));
    }
    return out;
}

void RegistryAccountView::Tick() {
    access_.run([](account::Registry& registry) { registry.Tick(); });
}

}  // namespace sim::broker
