// SPDX-License-Identifier: Apache-2.0
#pragma once
// The host side of a software module's AT command set (adapter): one command, waiting for an
// event, AT+CONNECT with the retries a host makes (ExpressLink Programmer's Guide 4.7.2 CONNECT,
// 12.3.2 onboarding-by-claim).
//
// Blocking: every call returns within its timeout. Threading: one caller per module at a time.

#include <chrono>
#include <string>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/module/software_module.hpp"

namespace sim::onboarding {

/// Sends one AT line; returns the first response line ("" on timeout).
std::string At(module::SoftwareModule& module, const std::string& line,
               std::chrono::milliseconds timeout = std::chrono::seconds{20});
/// Polls AT+EVENT? until an event line containing `mnemonic` (e.g. " CONLOST") appears.
/// Other events are appended to `seen` when non-null. Errors: kUnavailable on timeout.
sim::Result<std::string> WaitForEvent(module::SoftwareModule& module, const std::string& mnemonic,
                                      std::chrono::milliseconds timeout,
                                      std::vector<std::string>* seen = nullptr);
/// AT+CONNECT until "OK 1 CONNECTED": back-off refusals (ERR14 1) wait and retry; at most
/// `tolerated_failures` other ERR14 answers are retried (after the module's back-off).
/// Returns the last answer in the error on failure (kUnavailable), e.g. "ERR14 4 ...".
/// The non-back-off failures are appended to `failures` when non-null, each followed by
/// " (after N ms)": how long that AT+CONNECT took.
sim::Result<std::string> ConnectWithRetry(module::SoftwareModule& module, int tolerated_failures,
                                          std::chrono::milliseconds deadline,
                                          std::vector<std::string>* failures = nullptr);

}  // namespace sim::onboarding
