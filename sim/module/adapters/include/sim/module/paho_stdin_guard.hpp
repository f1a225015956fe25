// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace sim::module {

// Guard against Paho C closing file descriptor 0.
//
// Paho C (1.3.12, Debian 12) uses socket value 0 for "no socket", and MQTTAsync_closeOnly
// checks `net.socket > 0` before it takes its socket lock but reads net.socket again after:
// when a connection is closed from two paths at once, the second path calls close(0) and
// closes the process's stdin. Seen in fleets of 1,000 modules at onboarding (perf traces of
// elsim bench modules): Paho's send thread closes a batch of sockets for the modules' queued
// DISCONNECTs, and right after, its receive thread handles a socket error through
// nextOrClose -> MQTTAsync_closeSession -> MQTTAsync_closeOnly and calls close(0). The next socket or file the process opens
// then gets descriptor 0; a Paho client whose socket is 0 is never served (its receive thread
// treats 0 as "nothing ready" and sleeps 100 ms on every pass), so connects stall until their
// timeout and the whole fleet slows to a crawl (elsim bench modules: 25-57 modules/s in the
// runs where it happened, against ~100/s in the others).
//
// elsim keeps descriptors 0-2 open from startup (sim/elsim/main.cpp), so Paho never owns
// descriptor 0 legitimately. This library therefore defines close() for the process (the
// executable exports it, see CMakeLists.txt): a close(0) whose caller is code inside Paho C's
// library is dropped (counted, returns 0); every other close goes to libc unchanged,
// including close(0) from elsim's own code and from forked children before exec.

/// How many close(0) calls from Paho C were dropped since the process started.
std::uint64_t PahoStdinClosesDropped();

/// True when the process's close() is the guard's (the executable exported it).
bool PahoStdinGuardActive();

/// True when `address` lies in the executable code of Paho C's asynchronous library, the test
/// the guard applies to the caller of close(0).
bool AddressInPahoC(const void* address);

}  // namespace sim::module
