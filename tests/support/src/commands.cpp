// SPDX-License-Identifier: Apache-2.0
// Command-line clients for tests (mosquitto_pub/mosquitto_sub, elsim): Boost.Process lives in
// this one translation unit.
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <sys/prctl.h>

#include "sim/testing/support.hpp"

namespace sim::testing {
namespace bp = boost::process;
using namespace std::chrono_literals;

namespace {

struct DieWithTest : bp::extend::handler {
    template <class Executor>
    void on_exec_setup(Executor& /*exec*/) const {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
};

std::string Resolve(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return program;
    }
    const auto found = bp::search_path(program);
    return found.empty() ? program : found.string();
}

}  // namespace

struct BackgroundCommand::Impl {
    bp::ipstream out;
    bp::child child;
    std::thread reader;
    std::mutex mutex;
    std::condition_variable changed;
    std::string output;
    bool eof = false;
};

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv)
    : impl_(std::make_unique<Impl>()) {
    std::vector<std::string> args(argv.begin() + 1, argv.end());
    impl_->child =
        bp::child(Resolve(argv.at(0)), bp::args(args), (bp::std_out & bp::std_err) > impl_->out,
                  bp::std_in.close(), DieWithTest{});
    impl_->reader = std::thread([impl = impl_.get()] {
        std::string line;
        while (std::getline(impl->out, line)) {
            std::lock_guard lock(impl->mutex);
            impl->output += line + "\n";
            impl->changed.notify_all();
        }
        std::lock_guard lock(impl->mutex);
        impl->eof = true;
        impl->changed.notify_all();
    });
}

BackgroundCommand::~BackgroundCommand() {
    Kill();
    if (impl_->reader.joinable()) {
        impl_->reader.join();
    }
}

bool BackgroundCommand::WaitForOutput(const std::string& needle,
                                      std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] {
        return impl_->output.find(needle) != std::string::npos || impl_->eof;
    }) && impl_->output.find(needle) != std::string::npos;
}

std::string BackgroundCommand::Output() {
    std::lock_guard lock(impl_->mutex);
    return impl_->output;
}

int BackgroundCommand::Wait(std::chrono::milliseconds timeout) {
    std::error_code ec;
    if (impl_->child.wait_for(timeout, ec)) {
        // Let the reader drain what the process wrote before it exited.
        std::unique_lock lock(impl_->mutex);
        impl_->changed.wait_for(lock, 1s, [&] { return impl_->eof; });
        return impl_->child.exit_code();
    }
    return -1;
}

void BackgroundCommand::Kill() {
    std::error_code ec;
    if (impl_->child.valid() && impl_->child.running(ec)) {
        impl_->child.terminate(ec);
    }
    if (impl_->child.valid()) {
        impl_->child.wait(ec);
    }
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    BackgroundCommand command(argv);
    CommandResult result;
    result.exit_code = command.Wait(timeout);
    if (result.exit_code == -1) {
        command.Kill();
    }
    result.output = command.Output();
    return result;
}

CommandResult RunAwsIot(const std::string& account_id, const std::string& endpoint_url,
                        const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"env",
                                     "AWS_ACCESS_KEY_ID=" + account_id,
                                     "AWS_SECRET_ACCESS_KEY=any-secret",
                                     "AWS_PAGER=",
                                     "AWS_CONFIG_FILE=/dev/null",
                                     "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                                     "/usr/bin/aws",
                                     "iot",
                                     "--endpoint-url",
                                     endpoint_url,
                                     "--region",
                                     "us-east-1",
                                     "--output",
                                     "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, std::chrono::seconds{30});
}

}  // namespace sim::testing
