// SPDX-License-Identifier: Apache-2.0
#include "sim/world/address_block.hpp"

#include <charconv>
#include <set>

#include "sim/core/net.hpp"

namespace sim::world {
namespace {

// The first address of each /24's first block is .1; blocks follow every 16 addresses.
constexpr std::uint32_t kFirstHostOctet = 1;

}  // namespace

sim::Result<std::string> BlockAddress(std::uint32_t block, std::uint32_t offset) {
    if (block >= kAddressBlockCount) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "address block " + std::to_string(block) + " is out of range (0-" +
                                  std::to_string(kAddressBlockCount - 1) + ")");
    }
    if (offset >= kAddressesPerBlock) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "address offset " + std::to_string(offset) + " is out of range (0-" +
                                  std::to_string(kAddressesPerBlock - 1) + ")");
    }
    // Subnet 1 is 127.0.1.0/24; subnet 65534 is 127.255.254.0/24.
    const std::uint32_t subnet = 1 + block / kBlocksPerSubnet;
    const std::uint32_t host =
        kFirstHostOctet + (block % kBlocksPerSubnet) * kAddressesPerBlock + offset;
    return "127." + std::to_string(subnet >> 8U) + "." + std::to_string(subnet & 0xFFU) + "." +
           std::to_string(host);
}

sim::Result<std::vector<std::string>> BlockAddresses(std::uint32_t block) {
    std::vector<std::string> addresses;
    for (std::uint32_t offset = 0; offset < kAddressesPerBlock; ++offset) {
        auto address = BlockAddress(block, offset);
        if (!address) {
            return sim::Unexpected<sim::Error>(address.error());
        }
        addresses.push_back(std::move(*address));
    }
    return addresses;
}

sim::Result<std::uint32_t> BlockOf(std::string_view address) {
    if (!sim::IsLoopbackIpv4(address)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "address " + std::string(address) + " is not in 127.0.0.0/8");
    }
    // IsLoopbackIpv4 guarantees four decimal parts 0-255, the first 127.
    std::uint32_t parts[4] = {};
    const char* cursor = address.data();
    const char* const end = address.data() + address.size();
    for (auto& part : parts) {
        const auto parsed = std::from_chars(cursor, end, part);
        cursor = parsed.ptr + (parsed.ptr < end ? 1 : 0);
    }
    const std::uint32_t subnet = (parts[1] << 8U) | parts[2];
    const std::uint32_t host = parts[3];
    const std::uint32_t last_host = kFirstHostOctet + kBlocksPerSubnet * kAddressesPerBlock - 1;
    if (subnet < 1 || subnet > kBlockSubnets || host < kFirstHostOctet || host > last_host) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "address " + std::string(address) + " is in no address block");
    }
    return (subnet - 1) * kBlocksPerSubnet + (host - kFirstHostOctet) / kAddressesPerBlock;
}

std::uint32_t FirstBlockForPid(std::int64_t pid) {
    // Knuth's multiplicative hash spreads consecutive pids across the whole block space.
    const auto mixed = static_cast<std::uint64_t>(pid) * 2654435761ULL;
    return static_cast<std::uint32_t>(mixed % kAddressBlockCount);
}

std::uint32_t NthBlockFrom(std::uint32_t first, std::uint32_t attempt) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(first) + attempt) %
                                      kAddressBlockCount);
}

bool NeedsAddressBlock(const WorldSpec& spec) {
    for (const auto& account : spec.accounts) {
        if (account.address.empty()) {
            return true;
        }
    }
    return false;
}

sim::Result<WorldSpec> AssignBlockAddresses(WorldSpec spec, const std::vector<std::string>& block,
                                            std::string_view source) {
    auto fail = [&](const AccountSpec& account, const std::string& reason) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            std::string(source) + ":" + std::to_string(account.line) + ": " + reason);
    };
    if (block.size() != kAddressesPerBlock) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              std::string(source) + ": an address block holds " +
                                  std::to_string(kAddressesPerBlock) + " addresses, not " +
                                  std::to_string(block.size()));
    }
    std::set<std::string> endpoints;  // address:port
    for (std::size_t index = 0; index < spec.accounts.size(); ++index) {
        auto& account = spec.accounts[index];
        if (account.address.empty()) {
            if (index >= block.size()) {
                return fail(account, "account '" + account.name + "' is number " +
                                         std::to_string(index + 1) + "; a world leases " +
                                         std::to_string(kAddressesPerBlock) +
                                         " addresses (give it an address)");
            }
            account.address = block[index];
        }
        if (!endpoints.insert(account.address + ":" + std::to_string(account.port)).second) {
            return fail(account, "address " + account.address + ":" + std::to_string(account.port) +
                                     " is used by another account");
        }
    }
    return spec;
}

}  // namespace sim::world
