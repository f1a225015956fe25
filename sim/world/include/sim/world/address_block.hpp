// SPDX-License-Identifier: Apache-2.0
#pragma once
// Blocks of loopback addresses that worlds lease (the lease itself, with its lock files and
// probes, is in address_lease.hpp). Pure: block numbers in, address text out.
//
// The block space: every /24 of 127.0.0.0/8 except 127.0.0.0/24 (so 127.0.0.1 and the
// 127.0.0.N addresses people type by hand stay free) and 127.255.255.0/24 (it holds the
// loopback broadcast address). Each /24 holds 15 blocks of 16 consecutive addresses, at .1-.16,
// .17-.32, ..., .225-.240: no block contains a .0 or a .255 address. Blocks are numbered from 0
// (127.0.1.1-16) in address order up to kAddressBlockCount - 1 (127.255.254.225-240).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/world/world_spec.hpp"

namespace sim::world {

/// Addresses in one block: a world has at most this many accounts on leased addresses.
inline constexpr std::uint32_t kAddressesPerBlock = 16;
/// Blocks in one /24 (.1-.240).
inline constexpr std::uint32_t kBlocksPerSubnet = 15;
/// /24 networks used: 127.0.1.0/24 to 127.255.254.0/24.
inline constexpr std::uint32_t kBlockSubnets = 65534;
inline constexpr std::uint32_t kAddressBlockCount = kBlockSubnets * kBlocksPerSubnet;

/// The `offset`-th address (0-15) of block `block`, e.g. (0, 0) -> "127.0.1.1",
/// (14, 15) -> "127.0.1.240", (15, 0) -> "127.0.2.1".
/// Errors: kInvalidArgument when block >= kAddressBlockCount or offset >= kAddressesPerBlock.
sim::Result<std::string> BlockAddress(std::uint32_t block, std::uint32_t offset);

/// All kAddressesPerBlock addresses of `block`, in order. Errors as BlockAddress.
sim::Result<std::vector<std::string>> BlockAddresses(std::uint32_t block);

/// The block whose addresses include `address` (dotted IPv4). Errors: kInvalidArgument when
/// `address` is not loopback or lies outside every block (127.0.0.0/24, .0, .241-.255).
sim::Result<std::uint32_t> BlockOf(std::string_view address);

/// The first block a process probes: derived from its pid (a multiplicative hash, so processes
/// with neighbouring pids start far apart and rarely contend for the same lock file).
/// Always < kAddressBlockCount; any pid, including 0 or negative, is accepted.
std::uint32_t FirstBlockForPid(std::int64_t pid);

/// The `attempt`-th block to probe from `first`: (first + attempt) mod kAddressBlockCount.
std::uint32_t NthBlockFrom(std::uint32_t first, std::uint32_t attempt);

/// Gives every account of `spec` written without `address:` the address at its index in the
/// world file within `block` (the first account gets block[0], the third block[2]), and checks
/// again that no two accounts share an address and port (an explicit address may fall inside
/// the block). `block` must hold kAddressesPerBlock addresses.
/// Errors: kInvalidArgument, "<source>:<line>: reason" naming the account's line.
sim::Result<WorldSpec> AssignBlockAddresses(WorldSpec spec, const std::vector<std::string>& block,
                                            std::string_view source);

/// True when some account of `spec` has no address yet (it needs a leased block).
bool NeedsAddressBlock(const WorldSpec& spec);

}  // namespace sim::world
