// SPDX-License-Identifier: Apache-2.0
#include "bench_support.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <system_error>

namespace elsim {

namespace fs = std::filesystem;

sim::Result<sim::ScratchDirectory> MakeBenchScratch(const std::string& parent,
                                                    const std::string& prefix) {
    std::error_code ec;
    const fs::path base = !parent.empty() ? fs::path(parent)
                          : fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
                              ? fs::path("/dev/shm")
                              : fs::temp_directory_path();
    return sim::ScratchDirectory::Create(base, prefix);
}

std::size_t CountConnected(const std::vector<std::shared_ptr<sim::module::SoftwareModule>>& modules) {
    std::size_t connected = 0;
    for (const auto& module : modules) {
        const auto lines = module->Command("AT+CONNECT?", std::chrono::seconds{5});
        if (!lines.empty() && lines.front().rfind("OK 1 ", 0) == 0) {
            ++connected;
        }
    }
    return connected;
}

}  // namespace elsim
