// SPDX-License-Identifier: Apache-2.0
// NormaliseForComparison: what differs between two runs with one seed by nature is replaced,
// the story is kept.
#include <string>

#include <gtest/gtest.h>

#include "sim/scenario/normalise.hpp"

namespace sim::scenario {
namespace {

struct Case {
    const char* name;
    const char* text;
    const char* normalised;
};

class NormaliseTest : public ::testing::TestWithParam<Case> {};

TEST_P(NormaliseTest, Table) {
    EXPECT_EQ(NormaliseForComparison(GetParam().text), GetParam().normalised);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormaliseTest,
    ::testing::Values(
        Case{"Plain", "OK 1 CONNECTED", "OK 1 CONNECTED"},
        Case{"ShortNumbersStay", "ERR14 4 UNABLE TO CONNECT", "ERR14 4 UNABLE TO CONNECT"},
        Case{"CertificateId", "certificate 753c44faddf69ef0c7f4293df0f1c4a9 ACTIVE",
             "certificate <hex> ACTIVE"},
        Case{"ThingNameInATopic", "AT+CONF Topic1=6ebae33c97563407c23cc090f08537c695/data",
             "AT+CONF Topic1=<hex>/data"},
        Case{"AddressAndPort", "CONNECT to oem-a (127.88.67.210:8883)", "CONNECT to oem-a (<address>)"},
        Case{"Pem", "x -----BEGIN CERTIFICATE-----\\nMIIB/sj+==\\n-----END CERTIFICATE----- y",
             "x <pem> y"},
        Case{"ShortenedPemInJson",
             "{\"certificatePem\":\"-----BEGIN CERTIFICATE-----\\nMIIB...(648 chars)\","
             "\"generationId\":\"91e5ba09-c27a-4fd9-bde3-e13b521bbafd\"}",
             "{\"certificatePem\":\"<pem>\",\"generationId\":\"<uuid>\"}"},
        Case{"Path", "Config loaded from /tmp/run-2/a.world/accounts/oem-a/mosquitto.conf.",
             "Config loaded from <path>"},
        Case{"Millis", "no answer within 2000 ms", "no answer within <ms>"},
        Case{"Timestamp", "\"creationDate\":1765112345.123", "\"creationDate\":<number>"},
        Case{"Uuid", "claimedBy 91e5ba09-c27a-4fd9-bde3-e13b521bbafd.", "claimedBy <uuid>."},
        Case{"Empty", "", ""}),
    [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace sim::scenario
