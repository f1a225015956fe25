// SPDX-License-Identifier: Apache-2.0
#pragma once
// Runs a command (argv, no shell interpretation of arguments) and captures exit status,
// stdout and stderr. Every command here is short-lived; each test bounds its own work.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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

/// A fresh directory under TMPDIR, removed at scope exit.
class ScratchDir {
public:
    ScratchDir() {
        std::random_device device;
        path_ = std::filesystem::temp_directory_path() /
                ("elsim-pki-test-" + std::to_string(::getpid()) + "-" + std::to_string(device()));
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
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
