// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs a command (argv, no shell interpretation of arguments) and captures exit status,
// stdout and stderr. Every command here is short-lived; each test bounds its own work.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/adapters.hpp"

namespace pki::testing {

struct RunResult {
    int status = -1;
    std::string out;
    std::string err;
};

inline std::string Slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

inline RunResult Run(const std::vector<std::string>& argv, const std::filesystem::path& scratch) {
    const auto out_path = scratch / ".run.out";
    const auto err_path = scratch / ".run.err";
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::FILE* out = std::freopen(out_path.c_str(), "w", stdout);
        std::FILE* err = std::freopen(err_path.c_str(), "w", stderr);
        if (out == nullptr || err == nullptr) {
            ::_exit(126);
        }
        std::vector<char*> args;
        for (const auto& arg : argv) {
            args.push_back(const_cast<char*>(arg.c_str()));
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    RunResult result;
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    result.out = Slurp(out_path);
    result.err = Slurp(err_path);
    std::filesystem::remove(out_path);
    std::filesystem::remove(err_path);
    return result;
}

/// A fresh directory under TMPDIR, removed at scope exit (sim::ScratchDirectory); the test
/// program stops when none can be made.
class ScratchDir {
public:
    ScratchDir() : directory_(Make()) {}
    const std::filesystem::path& path() const { return directory_.path(); }

private:
    static sim::ScratchDirectory Make() {
        auto made = sim::ScratchDirectory::Create(std::filesystem::temp_directory_path(),
                                                  "elsim-pki-test");
        if (!made) {
            std::fprintf(stderr, "%s\n", made.error().message.c_str());
            std::abort();
        }
        return std::move(*made);
    }
    sim::ScratchDirectory directory_;
};

inline RunResult OpenSsl(std::vector<std::string> args, const std::filesystem::path& scratch) {
    args.insert(args.begin(), OPENSSL_EXECUTABLE);
    return Run(args, scratch);
}

inline RunResult Elsim(std::vector<std::string> args, const std::filesystem::path& scratch) {
    args.insert(args.begin(), ELSIM_EXECUTABLE);
    return Run(args, scratch);
}

}  // namespace pki::testing
