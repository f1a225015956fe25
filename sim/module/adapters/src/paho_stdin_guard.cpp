// SPDX-License-Identifier: Apache-2.0
// close() for the process; see sim/module/paho_stdin_guard.hpp for why.
#include "sim/module/paho_stdin_guard.hpp"

#include <dlfcn.h>
#include <link.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace sim::module {
namespace {

std::atomic<std::uint64_t> dropped{0};

struct Range {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
};

int FindPaho(dl_phdr_info* info, std::size_t /*size*/, void* data) {
    if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "libpaho-mqtt3a") == nullptr) {
        return 0;
    }
    auto* range = static_cast<Range*>(data);
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const auto& segment = info->dlpi_phdr[i];
        if (segment.p_type == PT_LOAD && (segment.p_flags & PF_X) != 0) {
            range->begin = info->dlpi_addr + segment.p_vaddr;
            range->end = range->begin + segment.p_memsz;
            return 1;
        }
    }
    return 0;
}

using CloseFn = int (*)(int);

// Filled once at start-up, before main and before any thread or fork, so that close() never
// calls into the dynamic loader (a forked child must not take the loader's locks).
Range paho_code;           // the executable code of Paho C's asynchronous library
CloseFn libc_close = nullptr;

__attribute__((constructor)) void FindAtStart() {
    dl_iterate_phdr(&FindPaho, &paho_code);
    libc_close = reinterpret_cast<CloseFn>(::dlsym(RTLD_NEXT, "close"));  // NOLINT
}

int LibcClose(int fd) {
    if (libc_close != nullptr) {
        return libc_close(fd);
    }
    return static_cast<int>(::syscall(SYS_close, fd));  // before start-up ran
}

}  // namespace

std::uint64_t PahoStdinClosesDropped() { return dropped.load(); }

bool AddressInPahoC(const void* address) {
    const auto at = reinterpret_cast<std::uintptr_t>(address);  // NOLINT
    return paho_code.begin != 0 && at >= paho_code.begin && at < paho_code.end;
}

}  // namespace sim::module

extern "C" int close(int fd) {
    if (fd == 0) {
        if (sim::module::AddressInPahoC(__builtin_return_address(0))) {
            ++sim::module::dropped;
            return 0;
        }
    }
    return sim::module::LibcClose(fd);
}

namespace sim::module {

bool PahoStdinGuardActive() {
    return ::dlsym(RTLD_DEFAULT, "close") == reinterpret_cast<void*>(&::close);  // NOLINT
}

}  // namespace sim::module
