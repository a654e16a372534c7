// Runs the host's hook program for DNS-01 records: fork and exec with
// separate arguments, never a shell, so nothing the server sends can be
// read as shell syntax.
#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace acme {

namespace {

constexpr std::chrono::milliseconds wait_step{5};

// Runs in the forked child: only async-signal-safe calls. A failed exec
// reports its errno through report_fd, which closes on a successful exec.
[[noreturn]] void exec_child(const std::string& program,
                             const char* const* argv, int report_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        close(null_fd);
    }
    // A process group of its own, so that a timeout kills what the hook
    // started as well.
    setpgid(0, 0);
    execv(program.c_str(), const_cast<char* const*>(argv));
    int reason = errno;
    (void)!write(report_fd, &reason, sizeof reason);
    _exit(127);
}

// The errno of a failed exec, or 0 once the pipe closes on success.
int exec_error(int report_fd)
{
    int reason = 0;
    ssize_t got;
    do
        got = read(report_fd, &reason, sizeof reason);
    while (got < 0 && errno == EINTR);
    return got == static_cast<ssize_t>(sizeof reason) ? reason : 0;
}

// Waits for the child until the deadline; kills its group past it.
int wait_child(pid_t child, std::chrono::milliseconds timeout, bool& killed)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    killed = false;
    while (true) {
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child)
            return status;
        if (done < 0 && errno != EINTR)
            return -1;
        if (std::chrono::steady_clock::now() >= deadline && !killed) {
            kill(-child, SIGKILL);
            kill(child, SIGKILL);
            killed = true;
        }
        std::this_thread::sleep_for(wait_step);
    }
}

} // namespace

hook_publisher::hook_publisher(std::string program,
                               std::chrono::milliseconds timeout)
    : program_(std::move(program)), timeout_(timeout)
{
    struct stat info;
    if (program_.empty() || stat(program_.c_str(), &info) != 0 ||
        !S_ISREG(info.st_mode) || access(program_.c_str(), X_OK) != 0)
        throw error(
            status::invalid_argument,
            fmt::format("DNS hook {} is not an executable program", program_));
}

void hook_publisher::add_txt(const std::string& fqdn, const std::string& value)
{
    run("add", fqdn, value);
}

void hook_publisher::remove_txt(const std::string& fqdn,
                                const std::string& value)
{
    run("remove", fqdn, value);
}

void hook_publisher::run(const char* action, const std::string& fqdn,
                         const std::string& value)
{
    const char* argv[] = {program_.c_str(), action, fqdn.c_str(), value.c_str(),
                          nullptr};
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        throw error(status::solver_failed,
                    fmt::format("cannot start DNS hook {}: {}", program_,
                                std::strerror(errno)));
    pid_t child = fork();
    if (child < 0) {
        int reason = errno;
        close(report[0]);
        close(report[1]);
        throw error(status::solver_failed,
                    fmt::format("cannot start DNS hook {}: {}", program_,
                                std::strerror(reason)));
    }
    if (child == 0)
        exec_child(program_, argv, report[1]);
    close(report[1]);
    int exec_failed = exec_error(report[0]);
    close(report[0]);

    bool killed = false;
    int status = wait_child(child, timeout_, killed);
    // Whatever the hook left running in its group goes with it.
    kill(-child, SIGKILL);
    if (exec_failed != 0)
        throw error(status::solver_failed,
                    fmt::format("cannot run DNS hook {}: {}", program_,
                                std::strerror(exec_failed)));
    if (killed)
        throw error(status::solver_failed,
                    fmt::format("DNS hook {} {} ran longer than {} ms and "
                                "was killed",
                                program_, action, timeout_.count()));
    if (status < 0 || !WIFEXITED(status))
        throw error(
            status::solver_failed,
            fmt::format("DNS hook {} {} {} ended abnormally{}", program_,
                        action, fqdn,
                        status >= 0 && WIFSIGNALED(status)
                            ? fmt::format(" (signal {})", WTERMSIG(status))
                            : std::string()));
    if (WEXITSTATUS(status) != 0)
        throw error(status::solver_failed,
                    fmt::format("DNS hook {} {} {} exited with status {}",
                                program_, action, fqdn, WEXITSTATUS(status)));
}

} // namespace acme
