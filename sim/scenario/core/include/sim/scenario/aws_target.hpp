// SPDX-License-Identifier: Apache-2.0
#pragma once
// Playing a scenario against real AWS accounts (pure): the accounts file that maps a
// scenario's accounts to real ones, the run prefix and tags that mark what a run creates, the
// table of steps only an emulator can play, and the comparison of an AWS run with an offline
// run. No I/O: sim/scenario/src/aws_run.cpp makes the calls.
//
// accounts.yaml (paths are relative to the file's folder):
//   ca-file: AmazonRootCA1.pem          # required: verifies every TLS server (MQTT endpoints)
//   accounts:
//     oem-a:                            # a scenario account name
//       account-id: "123456789012"      # required: the run refuses any other account
//       region: eu-west-1               # required
//       profile: qa-sandbox             # optional: a profile of ~/.aws/credentials; without
//                                       #   it AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then
//                                       #   [default], as the AWS CLI resolves them
//       endpoint-url: https://...       # optional: the control plane (default
//                                       #   https://iot.<region>.amazonaws.com)
//       claim-thing: {certificate: claim.pem, key: claim.key, uuid: UUID}  # OEM guide App. A
//     staging:                          # the scenario's staging account
//       staging-endpoint: HOST[:PORT]   # the ExpressLink staging endpoint (MQTT)
//   manufacturers:                      # optional: a module maker's CA (software modules)
//     acme: {ca-certificate: acme-ca.pem, ca-key: acme-ca.key}
//   hosts:                              # optional: name -> IPv4 address, as /etc/hosts lines
//     a1b2c3-ats.iot.eu-west-1.amazonaws.com: 127.0.0.5

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/result.hpp"
#include "sim/scenario/model.hpp"

namespace sim::scenario::aws {

struct ClaimThingFiles {
    std::filesystem::path certificate;
    std::filesystem::path key;
    std::string uuid;  ///< Its MQTT client id at staging.
};

/// One scenario account mapped to a real one.
struct AccountMapping {
    std::string name;  ///< The scenario's account name.
    int line = 0;
    // OEM accounts (staging_endpoint empty):
    std::string account_id;
    std::string region;
    std::string profile;
    std::string endpoint_url;
    std::optional<ClaimThingFiles> claim_thing;
    // The staging account:
    std::string staging_endpoint;  ///< host[:port]; set: this is a staging account.

    bool IsStaging() const { return !staging_endpoint.empty(); }
};

struct ManufacturerFiles {
    std::filesystem::path ca_certificate;
    std::filesystem::path ca_key;  ///< Empty: no software module can be made for this maker.
};

struct AccountsFile {
    std::filesystem::path file;
    std::filesystem::path ca_file;
    std::map<std::string, AccountMapping> accounts;
    std::map<std::string, ManufacturerFiles> manufacturers;
    std::map<std::string, std::string> hosts;  ///< Endpoint name -> IPv4 address.

    const AccountMapping* Find(const std::string& name) const;
};

/// Parses accounts.yaml. Errors: kInvalidArgument, one line "FILE:LINE: FIELD: reason" naming
/// the field (a missing or malformed account-id, no ca-file, unknown keys, ...).
sim::Result<AccountsFile> ParseAccountsFile(std::string_view yaml,
                                            const std::filesystem::path& file);

/// Checks that every account of `scenario`'s world is mapped with the kind it has there (an
/// OEM account to an account id, the staging account to a staging endpoint) and that every
/// claim-thing actor's account has a claim-thing. Errors name the account and the field.
sim::Status CheckCovers(const AccountsFile& accounts, const Scenario& scenario);

// ---- What a run creates -------------------------------------------------------------------------

/// The tag key every created resource carries (value: the run prefix).
inline constexpr std::string_view kRunTagKey = "elsim-run";

/// "elsim-" and six lowercase hex digits from `random`: short, because AWS IoT allows
/// provisioning template names of at most 36 characters (AWS IoT API Reference,
/// CreateProvisioningTemplate, templateName).
std::string RunPrefix(std::uint64_t random);

/// True for what RunPrefix makes ("elsim-" then 1-16 of [a-z0-9]): `elsim aws cleanup` takes
/// nothing broader, so it can never match names a person chose.
bool IsRunPrefix(std::string_view prefix);

/// `prefix-name`, or `name` when it already starts with `prefix-`.
std::string Prefixed(const std::string& prefix, const std::string& name);

/// The request members that name resources a scenario creates: their values get the prefix
/// wherever they appear in a request (nested too: registrationConfig.templateName).
const std::set<std::string>& NamedMembers();

/// A copy of `arguments` with every NamedMembers() value prefixed, except values in `keep`
/// (a module's ThingName comes from its birth certificate and cannot change). Errors: a
/// prefixed name longer than AWS allows for that member (one line naming it).
sim::Result<nlohmann::json> PrefixNames(const nlohmann::json& arguments, const std::string& prefix,
                                        const std::set<std::string>& keep);

/// `arguments` of a create operation with the run's mark added: `tags` [{Key: elsim-run,
/// Value: prefix}] where the operation takes tags (CreatePolicy, CreateProvisioningTemplate,
/// RegisterCACertificate, CreateThingType, CreateThingGroup), the attribute elsim-run=prefix
/// for CreateThing (things take no tags; AWS IoT Developer Guide, "Tagging your AWS IoT
/// resources"). Other operations: unchanged.
nlohmann::json MarkCreate(const std::string& operation, const nlohmann::json& arguments,
                          const std::string& prefix);

/// `reply` with "PREFIX-" removed from every string: replies compare with the scenario's
/// names as written.
nlohmann::json Unprefix(const nlohmann::json& reply, const std::string& prefix);

/// Something a run created, for the ledger and the clean-up.
struct Created {
    std::string kind;  ///< "thing", "certificate", "policy", "template", "ca", "thing-type",
                       ///< "thing-group"
    std::string id;    ///< The name, or the certificate id.
    std::string arn;   ///< When the reply gave one.
    bool operator==(const Created&) const = default;
};

/// What a successful call created, from its operation, request and reply (none for reads).
std::vector<Created> CreatedBy(const std::string& operation, const nlohmann::json& arguments,
                               const nlohmann::json& reply);

/// The order clean-up deletes kinds in: what refers to others first (things before the
/// certificates attached to them, certificates before their CA, templates before policies).
int DeleteOrder(const std::string& kind);

/// The account id inside an ARN ("arn:aws:iot:REGION:ACCOUNT:..."), or "" when not an ARN.
std::string AccountOfArn(std::string_view arn);

// ---- Steps only an emulator can play -------------------------------------------------------------

/// What the session knows about the target when it decides which steps it can play.
struct TargetView {
    std::set<std::string> own_accounts;  ///< OEM accounts with credentials (control plane).
    /// Actors that cannot act here, with the reason (a software module whose maker's CA key
    /// is not given, a broken birth identity, ...).
    std::map<std::string, std::string> unavailable_actors;
};

/// One line of the sim-only table: a step kind (as written in a scenario file), when it is
/// sim-only (null: always) and why.
struct SimOnlyKind {
    std::string_view kind;
    bool (*applies)(const Step& step, const TargetView& target);
    std::string_view reason;
};
const std::vector<SimOnlyKind>& SimOnlyKinds();

/// Why `step` cannot be played against real AWS, or nullopt when it can. A step whose actor is
/// unavailable is skipped with the actor's reason.
std::optional<std::string> SimOnlyReason(const Step& step, const TargetView& target);

/// Why an actor cannot act against real AWS (a module with a broken birth identity, a module
/// whose maker has no CA key in accounts.yaml), or nullopt.
std::optional<std::string> UnavailableActor(const Actor& actor, const AccountsFile& accounts);

// ---- Comparing an AWS run with an offline run ---------------------------------------------------

/// One step as a run observed it: its outcome and what the participants answered.
struct StepObservation {
    std::string step;
    std::string outcome;  ///< "pass", "fail", "skip", or "not reached"
    std::vector<std::string> observed;  ///< Normalised answers, replies, events, claims.
};

/// The steps of a result JSON (what `elsim run` writes as <id>.result.json), in order.
std::vector<StepObservation> ObserveSteps(const nlohmann::json& result);

struct StepDifference {
    std::string step;
    std::string offline;  ///< The offline run's outcome and first differing observation.
    std::string aws;
};

/// The steps whose outcome or observations differ, in the AWS run's order. A step either run
/// skipped is not compared.
std::vector<StepDifference> CompareRuns(const nlohmann::json& offline, const nlohmann::json& aws);

}  // namespace sim::scenario::aws
