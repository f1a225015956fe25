// SPDX-License-Identifier: Apache-2.0
#pragma once
// Names and contents of the DEFAULT-mode CA slots shared by the accounts of a world
// (FileDefaultModeCaIndex keeps one file per slot). Pure: no I/O.
//
// AWS: "a CA certificate can be registered in DEFAULT mode by only one account in a Region" (AWS
// IoT Core Developer Guide, 'Manage your CA certificates'). A slot is the pair (region,
// caCertificateId); its file holds the id of the account that owns it.

#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace sim::broker {

/// The file name of the slot (region, ca_certificate_id): "<region>.<caCertificateId>".
/// The region must be 1..32 characters of [a-z0-9-] (e.g. "us-east-1") and the id 64 lowercase
/// hex characters, so the name can never leave the slot directory. Errors: kInvalidArgument
/// naming the field ("region: ...", "caCertificateId: ...").
sim::Result<std::string> SlotFileName(std::string_view region, std::string_view ca_certificate_id);

/// The slot file's contents for `account_id` (12 digits): "<accountId>\n". Errors:
/// kInvalidArgument "accountId: ...".
sim::Result<std::string> SlotContents(std::string_view account_id);

/// The owner recorded in a slot file's contents (the inverse of SlotContents; a missing final
/// newline is accepted). Errors: kInvalidArgument "slot file: ..." for anything else (empty,
/// not 12 digits, trailing data).
sim::Result<std::string> ParseSlotOwner(std::string_view contents);

}  // namespace sim::broker
