// SPDX-License-Identifier: Apache-2.0
#pragma once
// A fixture shared by this folder's claim tests: a real mosquitto with mTLS (TestBroker, no
// plugin) trusting the device CAs "manufacturer" (a module's birth certificate) and "aws" (the
// claim-thing's certificate), and the connection fields every claim client needs.
//
// Contract: SetUp() asserts (fatal) that the broker started. Members are destroyed broker
// first, then the certificates, the PKI, then the directory.
#include <string>

#include <gtest/gtest.h>

#include "sim/testing/support.hpp"

namespace sim::testing {

class ClaimBrokerFixture : public ::testing::Test {
protected:
    ClaimBrokerFixture()
        : pki_(dir_.path() / "pki"),
          module_cert_(pki_.Device("module", "manufacturer")),
          claim_cert_(pki_.Device("claim", "aws")),
          broker_(pki_, dir_.path() / "broker",
                  TestBrokerOptions{{}, {}, {"manufacturer", "aws"}, true}) {}

    void SetUp() override { ASSERT_TRUE(broker_.ok()) << broker_.error(); }

    // Sets the fields shared by ClaimOptions and ClaimSessionOptions: the staging address (this
    // broker), the claim certificate and key, the server root CA and the claim-thing's UUID.
    template <typename Options>
    void SetConnection(Options& options, const std::string& uuid) const {
        options.staging = "127.0.0.1:" + std::to_string(broker_.port());
        options.claim_cert = claim_cert_.cert;
        options.claim_key = claim_cert_.key;
        options.root_ca = pki_.ServerCa().cert;
        options.uuid = uuid;
    }

    TempDir dir_;
    TestPki pki_;
    CertFiles module_cert_;
    CertFiles claim_cert_;
    TestBroker broker_;
};

}  // namespace sim::testing
