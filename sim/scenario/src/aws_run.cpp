// SPDX-License-Identifier: Apache-2.0
#include "aws_run.hpp"

#include <algorithm>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include "sim/core/adapters.hpp"

namespace sim::scenario {

namespace fs = std::filesystem;
using nlohmann::json;
using controlplane::AwsClient;
using controlplane::AwsErrorReply;

namespace {

constexpr const char* kLedgerSuffix = ".aws-ledger.jsonl";

std::string Message(const AwsErrorReply& error) { return error.type + ": " + error.message; }

// Every "arn:..." string of a reply.
void CollectArns(const json& value, std::vector<std::string>& out) {
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (text.rfind("arn:", 0) == 0) {
            out.push_back(text);
        }
    } else if (value.is_object() || value.is_array()) {
        for (const auto& item : value) {
            CollectArns(item, out);
        }
    }
}

json LedgerLine(const std::string& prefix, const LedgerEntry& entry) {
    return {{"prefix", prefix},
            {"account", entry.account},
            {"accountId", entry.account_id},
            {"kind", entry.created.kind},
            {"id", entry.created.id},
            {"arn", entry.created.arn}};
}

// Pages through a List* operation: `items` member, continuation in `next`/`token`.
std::vector<json> ListAll(AwsClient& client, const std::string& operation, json arguments,
                          const char* items, const char* next, const char* token) {
    std::vector<json> out;
    for (int page = 0; page < 100; ++page) {
        auto reply = client.CallOperation(operation, arguments);
        if (!reply) {
            break;
        }
        for (const auto& item : (*reply).value(items, json::array())) {
            out.push_back(item);
        }
        const std::string more = reply->value(next, "");
        if (more.empty()) {
            break;
        }
        arguments[token] = more;
    }
    return out;
}

// Deletes `entries` of one account, each after its ownership check.
class Deleter {
public:
    Deleter(AwsClient& client, std::string account, std::string prefix, bool dry_run,
            const std::function<void(const std::string&)>& print)
        : client_(client),
          account_(std::move(account)),
          prefix_(std::move(prefix)),
          dry_run_(dry_run),
          print_(print) {}

    int Run(std::vector<aws::Created> entries) {
        // Dependency order; within a kind, the newest first.
        std::reverse(entries.begin(), entries.end());
        std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return aws::DeleteOrder(Kind(a)) < aws::DeleteOrder(Kind(b));
        });
        std::set<std::pair<std::string, std::string>> done;
        for (const auto& entry : entries) {
            if (entry.id.empty() || !done.insert({Kind(entry), entry.id}).second) {
                continue;
            }
            if (auto s = Delete(entry); !s) {
                print_("not deleted: " + entry.kind + " " + entry.id + " in " + account_ + ": " +
                       s.error());
                ++failed_;
            }
        }
        return failed_;
    }

private:
    using Outcome = sim::Result<void, std::string>;
    static Outcome Refuse(std::string why) { return sim::Unexpected<std::string>(std::move(why)); }
    // A thing named by an identity this run generated counts as a thing.
    static std::string Kind(const aws::Created& c) {
        return c.kind == "identity-thing" ? "thing" : c.kind;
    }

    sim::Result<json, std::string> Do(const std::string& operation, const json& arguments) {
        if (dry_run_ && operation.rfind("List", 0) != 0 && operation.rfind("Describe", 0) != 0) {
            return json::object();
        }
        auto reply = client_.CallOperation(operation, arguments);
        if (!reply) {
            return sim::Unexpected<std::string>(operation + ": " + Message(reply.error()));
        }
        return *reply;
    }

    void Deleted(const std::string& kind, const std::string& id) {
        print_(std::string(dry_run_ ? "would delete " : "deleted ") + kind + " " + id + " in " +
               account_);
    }

    // Resources that take tags carry elsim-run = prefix; the name check alone is not enough.
    Outcome CheckTag(const std::string& arn) {
        auto tags = client_.CallOperation("ListTagsForResource", json{{"resourceArn", arn}});
        if (!tags) {
            return Refuse("ownership not provable: ListTagsForResource: " + Message(tags.error()));
        }
        for (const auto& tag : tags->value("tags", json::array())) {
            if (tag.value("Key", "") == aws::kRunTagKey && tag.value("Value", "") == prefix_) {
                return {};
            }
        }
        return Refuse("no tag " + std::string(aws::kRunTagKey) + "=" + prefix_ +
                      ": not created by this run");
    }

    bool OwnName(const std::string& name) const { return name.rfind(prefix_ + "-", 0) == 0; }

    Outcome Delete(const aws::Created& entry) {
        const std::string kind = Kind(entry);
        if (kind == "thing") {
            auto thing = client_.CallOperation("DescribeThing", json{{"thingName", entry.id}});
            if (!thing) {
                return thing.error().type == "ResourceNotFoundException"
                           ? Outcome{}
                           : Refuse("DescribeThing: " + Message(thing.error()));
            }
            const std::string mark =
                (*thing)["attributes"].value(std::string(aws::kRunTagKey), "");
            if (mark != prefix_ && entry.kind != "identity-thing") {
                return Refuse("its attribute " + std::string(aws::kRunTagKey) + " is '" + mark +
                              "', not " + prefix_);
            }
            for (const auto& principal : ListAll(client_, "ListThingPrincipals",
                                                 {{"thingName", entry.id}}, "principals",
                                                 "nextToken", "nextToken")) {
                if (auto r = Do("DetachThingPrincipal",
                                {{"thingName", entry.id}, {"principal", principal}});
                    !r) {
                    return Refuse(r.error());
                }
            }
            if (auto r = Do("DeleteThing", {{"thingName", entry.id}}); !r) {
                return Refuse(r.error());
            }
            Deleted("thing", entry.id);
            return {};
        }
        if (kind == "certificate") {
            // In the ledger: created by this run (a call's reply or an identity it generated).
            auto described = client_.CallOperation("DescribeCertificate",
                                                   json{{"certificateId", entry.id}});
            if (!described) {
                return described.error().type == "ResourceNotFoundException"
                           ? Outcome{}
                           : Refuse("DescribeCertificate: " + Message(described.error()));
            }
            const auto& description = (*described)["certificateDescription"];
            const std::string arn = description.value("certificateArn", "");
            const std::string status = description.value("status", "");
            for (const auto& policy : ListAll(client_, "ListAttachedPolicies", {{"target", arn}},
                                              "policies", "nextMarker", "marker")) {
                if (auto r = Do("DetachPolicy", {{"policyName", policy.value("policyName", "")},
                                                 {"target", arn}});
                    !r) {
                    return Refuse(r.error());
                }
            }
            for (const auto& thing : ListAll(client_, "ListPrincipalThings", {{"principal", arn}},
                                             "things", "nextToken", "nextToken")) {
                if (auto r = Do("DetachThingPrincipal",
                                {{"thingName", thing.get<std::string>()}, {"principal", arn}});
                    !r) {
                    return Refuse(r.error());
                }
            }
            // AWS IoT API Reference, DeleteCertificate: "A certificate cannot be deleted if it
            // has a policy or IoT thing attached to it or if its status is set to ACTIVE."
            if (status == "ACTIVE" || status == "PENDING_ACTIVATION") {
                if (auto r = Do("UpdateCertificate",
                                {{"certificateId", entry.id}, {"newStatus", "INACTIVE"}});
                    !r) {
                    return Refuse(r.error());
                }
            }
            if (auto r = Do("DeleteCertificate", {{"certificateId", entry.id}}); !r) {
                return Refuse(r.error());
            }
            Deleted("certificate", entry.id);
            return {};
        }
        if (kind == "ca") {
            auto described = client_.CallOperation("DescribeCACertificate",
                                                   json{{"certificateId", entry.id}});
            if (!described) {
                return described.error().type == "ResourceNotFoundException"
                           ? Outcome{}
                           : Refuse("DescribeCACertificate: " + Message(described.error()));
            }
            if (auto s = CheckTag((*described)["certificateDescription"].value("certificateArn", ""));
                !s) {
                return s;
            }
            if (auto r = Do("UpdateCACertificate",
                            {{"certificateId", entry.id}, {"newStatus", "INACTIVE"}});
                !r) {
                return Refuse(r.error());
            }
            if (auto r = Do("DeleteCACertificate", {{"certificateId", entry.id}}); !r) {
                return Refuse(r.error());
            }
            Deleted("CA certificate", entry.id);
            return {};
        }
        if (kind == "template") {
            if (!OwnName(entry.id)) {
                return Refuse("the name does not start with " + prefix_ + "-");
            }
            auto described = client_.CallOperation("DescribeProvisioningTemplate",
                                                   json{{"templateName", entry.id}});
            if (!described) {
                return described.error().type == "ResourceNotFoundException"
                           ? Outcome{}
                           : Refuse("DescribeProvisioningTemplate: " + Message(described.error()));
            }
            if (auto s = CheckTag(described->value("templateArn", "")); !s) {
                return s;
            }
            if (auto r = Do("DeleteProvisioningTemplate", {{"templateName", entry.id}}); !r) {
                return Refuse(r.error());
            }
            Deleted("provisioning template", entry.id);
            return {};
        }
        if (kind == "policy") {
            if (!OwnName(entry.id)) {
                return Refuse("the name does not start with " + prefix_ + "-");
            }
            auto described = client_.CallOperation("GetPolicy", json{{"policyName", entry.id}});
            if (!described) {
                return described.error().type == "ResourceNotFoundException"
                           ? Outcome{}
                           : Refuse("GetPolicy: " + Message(described.error()));
            }
            if (auto s = CheckTag(described->value("policyArn", "")); !s) {
                return s;
            }
            for (const auto& target : ListAll(client_, "ListTargetsForPolicy",
                                              {{"policyName", entry.id}}, "targets", "nextMarker",
                                              "marker")) {
                if (auto r = Do("DetachPolicy", {{"policyName", entry.id}, {"target", target}});
                    !r) {
                    return Refuse(r.error());
                }
            }
            auto versions = client_.CallOperation("ListPolicyVersions", {{"policyName", entry.id}});
            if (versions) {
                for (const auto& version : versions->value("policyVersions", json::array())) {
                    if (!version.value("isDefaultVersion", true)) {
                        (void)Do("DeletePolicyVersion",
                                 {{"policyName", entry.id},
                                  {"policyVersionId", version.value("versionId", "")}});
                    }
                }
            }
            if (auto r = Do("DeletePolicy", {{"policyName", entry.id}}); !r) {
                return Refuse(r.error());
            }
            Deleted("policy", entry.id);
            return {};
        }
        // Thing types and groups are left to a person: a type can be deleted only 5 minutes
        // after DeprecateThingType (AWS IoT API Reference, DeleteThingType).
        return Refuse("left in place: elsim does not delete a " + kind +
                      "; delete it by hand (it carries the tag " + std::string(aws::kRunTagKey) +
                      "=" + prefix_ + ")");
    }

    AwsClient& client_;
    std::string account_;
    std::string prefix_;
    bool dry_run_;
    const std::function<void(const std::string&)>& print_;
    int failed_ = 0;
};

sim::Result<std::unique_ptr<AwsClient>, std::string> MakeClient(const aws::AccountMapping& mapping) {
    const std::string endpoint = !mapping.endpoint_url.empty()
                                     ? mapping.endpoint_url
                                     : "https://iot." + mapping.region + ".amazonaws.com";
    auto config = controlplane::ClientConfigFromEnvironment(endpoint, mapping.region, mapping.profile);
    if (!config) {
        return sim::Unexpected<std::string>("accounts." + mapping.name + ": " +
                                            config.error().message);
    }
    auto client = controlplane::MakeAwsClient(*config, std::make_shared<sim::SystemClock>());
    if (!client) {
        return sim::Unexpected<std::string>("accounts." + mapping.name + ": " +
                                            client.error().message);
    }
    return std::move(*client);
}

}  // namespace

std::vector<LedgerEntry> ReadLedger(const fs::path& file) {
    std::vector<LedgerEntry> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        const json row = json::parse(line, nullptr, false);
        if (!row.is_object()) {
            continue;
        }
        out.push_back(LedgerEntry{row.value("account", ""), row.value("accountId", ""),
                                  aws::Created{row.value("kind", ""), row.value("id", ""),
                                               row.value("arn", "")}});
    }
    return out;
}

AwsRun::AwsRun(aws::AccountsFile accounts, std::string prefix, fs::path ledger)
    : accounts_(std::move(accounts)), prefix_(std::move(prefix)), ledger_(std::move(ledger)) {
    std::error_code ec;
    fs::create_directories(ledger_.parent_path(), ec);
}

AwsRun::~AwsRun() = default;

AwsClient* AwsRun::Client(const std::string& account) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = clients_[account];
    if (!slot) {
        const auto* mapping = accounts_.Find(account);
        if (mapping == nullptr || mapping->IsStaging()) {
            return nullptr;
        }
        auto client = MakeClient(*mapping);
        if (!client) {
            return nullptr;
        }
        slot = std::move(*client);
    }
    return slot.get();
}

sim::Result<std::string, std::string> AwsRun::Open(const std::string& account) {
    using R = sim::Result<std::string, std::string>;
    const auto* mapping = accounts_.Find(account);
    if (mapping == nullptr || mapping->IsStaging()) {
        return R(sim::Unexpected<std::string>("accounts." + account + ": not an OEM account"));
    }
    if (auto made = MakeClient(*mapping); !made) {
        return R(sim::Unexpected<std::string>(made.error()));
    }
    auto* client = Client(account);
    // AWS IoT Developer Guide, "Connecting devices to AWS IoT": the data endpoint is
    // DescribeEndpoint's answer for endpointType iot:Data-ATS.
    auto endpoint = client->CallOperation("DescribeEndpoint", json{{"endpointType", "iot:Data-ATS"}});
    if (!endpoint) {
        return R(sim::Unexpected<std::string>("accounts." + account + ": DescribeEndpoint: " +
                                              Message(endpoint.error())));
    }
    // The account check: a deny-all policy, tagged, whose ARN names the account.
    const json deny = {{"Version", "2012-10-17"},
                       {"Statement",
                        {{{"Effect", "Deny"}, {"Action", "iot:*"}, {"Resource", "*"}}}}};
    const std::string marker = aws::Prefixed(prefix_, "run");
    auto created = client->CallOperation(
        "CreatePolicy", aws::MarkCreate("CreatePolicy",
                                        json{{"policyName", marker}, {"policyDocument", deny.dump()}},
                                        prefix_));
    if (!created) {
        return R(sim::Unexpected<std::string>("accounts." + account + ": CreatePolicy " + marker +
                                              ": " + Message(created.error())));
    }
    const std::string seen = aws::AccountOfArn(created->value("policyArn", ""));
    if (seen != mapping->account_id) {
        (void)client->CallOperation("DeletePolicy", json{{"policyName", marker}});
        return R(sim::Unexpected<std::string>(
            "accounts." + account + ".account-id is " + mapping->account_id +
            ", but its credentials act in account '" + seen +
            "': refused (the check policy was deleted again; nothing else was done)"));
    }
    Record(account, aws::Created{"policy", marker, created->value("policyArn", "")});
    return endpoint->value("endpointAddress", "");
}

sim::Result<json, AwsErrorReply> AwsRun::Call(const std::string& account,
                                              const std::string& operation, const json& arguments,
                                              const std::set<std::string>& keep) {
    using R = sim::Result<json, AwsErrorReply>;
    auto* client = Client(account);
    if (client == nullptr) {
        return R(sim::Unexpected<AwsErrorReply>(AwsErrorReply{
            0, "InvalidRequest", "account " + account + " has no credentials in accounts.yaml", "",
            nullptr}));
    }
    auto renamed = aws::PrefixNames(arguments, prefix_, keep);
    if (!renamed) {
        return R(sim::Unexpected<AwsErrorReply>(
            AwsErrorReply{0, "InvalidRequest", renamed.error().message, "", nullptr}));
    }
    const json request = aws::MarkCreate(operation, *renamed, prefix_);
    auto reply = client->CallOperation(operation, request);
    if (!reply) {
        auto error = reply.error();
        error.message = aws::Unprefix(json(error.message), prefix_).get<std::string>();
        return R(sim::Unexpected<AwsErrorReply>(std::move(error)));
    }
    const auto* mapping = accounts_.Find(account);
    for (const auto& created : aws::CreatedBy(operation, request, *reply)) {
        Record(account, created);
    }
    std::vector<std::string> arns;
    CollectArns(*reply, arns);
    for (const auto& arn : arns) {
        const std::string seen = aws::AccountOfArn(arn);
        if (!seen.empty() && seen != mapping->account_id && arn.find(":iot:") != std::string::npos) {
            return R(sim::Unexpected<AwsErrorReply>(AwsErrorReply{
                0, "AccountMismatch",
                "the reply names account " + seen + " (" + arn + "), accounts.yaml says " +
                    mapping->account_id,
                "", nullptr}));
        }
    }
    return aws::Unprefix(*reply, prefix_);
}

void AwsRun::Record(const std::string& account, const aws::Created& created) {
    const auto* mapping = accounts_.Find(account);
    LedgerEntry entry{account, mapping != nullptr ? mapping->account_id : "", created};
    std::lock_guard<std::mutex> lock(mutex_);
    if (created.kind == "identity-thing") {
        identity_names_.insert(created.id);
    }
    created_.push_back(entry);
    // One line per resource, on disk before the run goes on (a killed run leaves its ledger).
    const std::string line = LedgerLine(prefix_, entry).dump() + "\n";
    const int fd = ::open(ledger_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!::write(fd, line.data(), line.size());
        ::fsync(fd);
        ::close(fd);
    }
}

std::string AwsRun::Resolve(const std::string& host) const {
    auto it = accounts_.hosts.find(host);
    return it == accounts_.hosts.end() ? host : it->second;
}

int AwsRun::Cleanup(bool dry_run, const std::function<void(const std::string&)>& print) {
    std::map<std::string, std::vector<aws::Created>> by_account;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& entry : created_) {
            by_account[entry.account].push_back(entry.created);
        }
    }
    int failed = 0;
    for (auto& [account, entries] : by_account) {
        auto* client = Client(account);
        if (client == nullptr) {
            print("not cleaned up: account " + account + " has no client");
            failed += static_cast<int>(entries.size());
            continue;
        }
        failed += Deleter(*client, account, prefix_, dry_run, print).Run(std::move(entries));
    }
    return failed;
}

sim::Result<int> CleanupPrefix(const aws::AccountsFile& accounts, const std::string& prefix,
                               const fs::path& ledger_dir, bool dry_run,
                               const std::function<void(const std::string&)>& print) {
    if (!aws::IsRunPrefix(prefix)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "--prefix: '" + prefix +
                                  "' is not a run prefix (elsim-xxxxxx, as `elsim run --target "
                                  "aws` prints it)");
    }
    // What the ledgers of that prefix name.
    std::map<std::string, std::vector<aws::Created>> by_account;
    std::error_code ec;
    if (!ledger_dir.empty() && fs::is_directory(ledger_dir, ec)) {
        for (auto it = fs::recursive_directory_iterator(ledger_dir, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (ec || !it->is_regular_file() || name.size() < std::string(kLedgerSuffix).size() ||
                name.compare(name.size() - std::string(kLedgerSuffix).size(),
                             std::string::npos, kLedgerSuffix) != 0) {
                continue;
            }
            std::ifstream in(it->path());
            std::string line;
            while (std::getline(in, line)) {
                const json row = json::parse(line, nullptr, false);
                if (row.is_object() && row.value("prefix", "") == prefix) {
                    by_account[row.value("account", "")].push_back(aws::Created{
                        row.value("kind", ""), row.value("id", ""), row.value("arn", "")});
                }
            }
        }
    }
    int failed = 0;
    for (const auto& [name, mapping] : accounts.accounts) {
        if (mapping.IsStaging()) {
            continue;
        }
        auto client = MakeClient(mapping);
        if (!client) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument, client.error());
        }
        auto& entries = by_account[name];
        // What carries the prefix in the account itself.
        for (const auto& thing :
             ListAll(**client, "ListThings",
                     {{"attributeName", std::string(aws::kRunTagKey)}, {"attributeValue", prefix}},
                     "things", "nextToken", "nextToken")) {
            if (thing.value("attributes", json::object()).value(std::string(aws::kRunTagKey), "") !=
                prefix) {
                continue;  // An account that ignores the attribute filter lists everything.
            }
            entries.push_back({"thing", thing.value("thingName", ""), thing.value("thingArn", "")});
        }
        for (const auto& policy :
             ListAll(**client, "ListPolicies", json::object(), "policies", "nextMarker", "marker")) {
            const std::string policy_name = policy.value("policyName", "");
            if (policy_name.rfind(prefix + "-", 0) == 0) {
                entries.push_back({"policy", policy_name, policy.value("policyArn", "")});
            }
        }
        for (const auto& tmpl : ListAll(**client, "ListProvisioningTemplates", json::object(),
                                        "templates", "nextToken", "nextToken")) {
            const std::string template_name = tmpl.value("templateName", "");
            if (template_name.rfind(prefix + "-", 0) == 0) {
                entries.push_back({"template", template_name, tmpl.value("templateArn", "")});
            }
        }
        if (entries.empty()) {
            print("nothing of " + prefix + " in " + name + " (" + mapping.account_id + ")");
            continue;
        }
        failed += Deleter(**client, name, prefix, dry_run, print).Run(entries);
    }
    return failed;
}

}  // namespace sim::scenario
