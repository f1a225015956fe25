// SPDX-License-Identifier: Apache-2.0
#pragma once
// A fixture for onboarding-by-claim tests against a real world (mosquitto + plugin + control
// planes on loopback): a world file without addresses (the world leases a block of loopback
// addresses, so parallel tests and other worlds never collide), the staging account, two OEM
// accounts, a claim-thing per OEM, modules. Everything stops in the destructor.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/oem_account/oem_account.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/at.hpp"
#include "sim/onboarding/world.hpp"
#include "sim/staging/claim_client.hpp"

namespace sim::oem_account::testing {

// The onboarding library's pieces, as the tests name them.
using onboarding::At;
using onboarding::ClaimThing;
using onboarding::ConnectWithRetry;
using onboarding::EndpointOf;
using onboarding::LocalWorld;
using onboarding::MakeAccountClient;
using onboarding::MakeBirthIdentities;
using onboarding::ObtainClaimThing;
using onboarding::StartModules;
using onboarding::WaitForEvent;

namespace fs = std::filesystem;

/// Writes a world file: manufacturer acme, staging, oem-a, oem-b; with `second_manufacturer`,
/// also manufacturer globex and its staging-b. No addresses: the world leases them.
inline fs::path WriteWorldFile(const fs::path& dir, bool second_manufacturer = false) {
    fs::create_directories(dir);
    const fs::path file = dir / "world.yaml";
    std::ofstream out(file);
    out << "region: us-east-1\n"
        << "manufacturers:\n  - name: acme\n"
        << (second_manufacturer ? "  - name: globex\n" : "")
        << "accounts:\n"
        << "  - name: staging\n    kind: staging\n    manufacturer: acme\n"
        << "  - name: oem-a\n    kind: oem\n"
        << "  - name: oem-b\n    kind: oem\n";
    if (second_manufacturer) {
        out << "  - name: staging-b\n    kind: staging\n    manufacturer: globex\n";
    }
    return file;
}

class OnboardingWorld {
public:
    OnboardingWorld() {
        if (auto made = ScratchDirectory::Create(fs::temp_directory_path(), "elsim-oem-test")) {
            scratch_.emplace(std::move(*made));
            dir_ = scratch_->path();
        }
    }
    ~OnboardingWorld() {
        fleets_.clear();
        clients_.clear();
        if (world_) {
            world_->Stop();
        }
        if (scratch_ && ::testing::Test::HasFailure()) {
            std::fprintf(stderr, "kept %s for inspection\n", scratch_->Keep().c_str());
        }
    }
    OnboardingWorld(const OnboardingWorld&) = delete;
    OnboardingWorld& operator=(const OnboardingWorld&) = delete;

    /// Starts the world; false (with a gtest failure) when it cannot.
    bool Start(bool explain = false, bool second_manufacturer = false) {
        auto world = LocalWorld::Start(WriteWorldFile(dir_, second_manufacturer), dir_ / "world",
                                       explain);
        if (!world) {
            ADD_FAILURE() << "world up: " << world.error().message;
            return false;
        }
        world_ = std::move(*world);
        return true;
    }

    world::AccountState Account(const std::string& name) const {
        for (const auto& a : world_->State().accounts) {
            if (a.name == name) {
                return a;
            }
        }
        ADD_FAILURE() << "no account " << name;
        return {};
    }

    controlplane::AwsClient& Client(const std::string& account) {
        auto& slot = clients_[account];
        if (!slot) {
            auto client = MakeAccountClient(Account(account), world_->State().region);
            EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().message);
            slot = std::move(*client);
        }
        return *slot;
    }

    /// Appendix B + C (or a variant) on an OEM account.
    bool SetUpOem(const std::string& account, SetupVariant variant = SetupVariant::kComplete) {
        auto ca_pem = sim::ReadFile(world_->State().manufacturers.front().ca_certificate_file);
        EXPECT_TRUE(ca_pem.has_value());
        SetupOptions options;
        options.account_id = Account(account).account_id;
        options.variant = variant;
        auto report = ConfigureOemAccount(Client(account), *ca_pem, options);
        EXPECT_TRUE(report.has_value()) << (report ? "" : report.error().message);
        return report.has_value();
    }

    /// A claim-thing of `account` registered in staging.
    ClaimThing ClaimThingOf(const std::string& account) {
        auto thing = ObtainClaimThing(Client(account), Client("staging"), world_->State(),
                                      Account("staging"), "oem-" + account,
                                      dir_ / ("claim-" + account + "-" + std::to_string(++claims_)),
                                      random_);
        EXPECT_TRUE(thing.has_value()) << (thing ? "" : thing.error().message);
        return thing ? *thing : ClaimThing{};
    }

    /// `count` modules of `manufacturer` (index in world.json) on the endpoint of `staging`
    /// (not connected yet). Indexes of ThingName()/CertificateId() continue across calls.
    std::vector<std::shared_ptr<module::SoftwareModule>> Modules(
        std::size_t count, std::size_t manufacturer = 0, const std::string& staging = "staging") {
        const fs::path modules_dir = dir_ / ("modules-" + std::to_string(fleets_.size()));
        auto identities = MakeBirthIdentities(world_->State().manufacturers.at(manufacturer),
                                              count, modules_dir);
        EXPECT_TRUE(identities.has_value()) << (identities ? "" : identities.error().message);
        auto fleet = StartModules(*world_, Account(staging), *identities,
                                  dir_ / ("state-" + std::to_string(fleets_.size())));
        EXPECT_TRUE(fleet.has_value()) << (fleet ? "" : fleet.error().message);
        identities_.insert(identities_.end(), identities->begin(), identities->end());
        fleets_.push_back(std::move(*fleet));
        return fleets_.back()->modules();
    }
    std::string ThingName(std::size_t index) const { return identities_[index].filename(); }
    std::string CertificateId(std::size_t index) const {
        auto id = pki::CertificateIdOfFile(identities_[index] / "cert.pem");
        return id ? *id : std::string();
    }

    staging::ClaimOptions Claim(const ClaimThing& thing, const std::string& thing_name,
                                const std::string& endpoint,
                                const std::string& staging = "staging") const {
        staging::ClaimOptions claim;
        claim.staging = EndpointOf(Account(staging));
        claim.claim_cert = thing.certificate_file;
        claim.claim_key = thing.key_file;
        claim.world = dir_ / "world";
        claim.uuid = thing.uuid;
        claim.thing = thing_name;
        claim.endpoint = endpoint;
        claim.settle = std::chrono::milliseconds{300};
        return claim;
    }

    const fs::path& dir() const { return dir_; }

private:
    std::optional<ScratchDirectory> scratch_;  // removed last, unless a test failed
    fs::path dir_;
    std::unique_ptr<LocalWorld> world_;
    std::map<std::string, std::unique_ptr<controlplane::AwsClient>> clients_;
    std::vector<std::unique_ptr<module::Fleet>> fleets_;
    std::vector<fs::path> identities_;
    sim::OsRandom random_;
    int claims_ = 0;
};

/// Connects a module to staging and checks CONNECT? says STAGING.
inline ::testing::AssertionResult ConnectToStaging(module::SoftwareModule& module) {
    auto connected = ConnectWithRetry(module, 0, std::chrono::seconds{10});
    if (!connected) {
        return ::testing::AssertionFailure() << "AT+CONNECT: " << connected.error().message;
    }
    const std::string where = At(module, "AT+CONNECT?");
    if (where.find("CONNECTED STAGING") == std::string::npos) {
        return ::testing::AssertionFailure() << "CONNECT?: " << where;
    }
    return ::testing::AssertionSuccess();
}

/// Claims until the module reports CONLOST (the module subscribes right after CONNECT; a claim
/// sent before its SUBACK is not delivered).
inline ::testing::AssertionResult ClaimUntilLeft(module::SoftwareModule& module,
                                                 const staging::ClaimOptions& claim) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        const auto report = staging::RunClaim(claim);
        if (report.outcome != staging::ClaimReport::Outcome::kAccepted) {
            return ::testing::AssertionFailure() << report.claim_line;
        }
        if (WaitForEvent(module, " CONLOST", std::chrono::seconds{3})) {
            return ::testing::AssertionSuccess();
        }
    }
    return ::testing::AssertionFailure() << "module did not leave staging";
}

}  // namespace sim::oem_account::testing
