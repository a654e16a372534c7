#include <acmekit/adapters/webroot_solver.hpp>
#include <acmekit/problem.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace acme {

namespace {

constexpr const char* well_known = ".well-known";
constexpr const char* challenge_folder = "acme-challenge";

// An open folder descriptor, closed on every path out.
class folder_fd {
public:
    explicit folder_fd(int fd = -1) : fd_(fd) {}
    ~folder_fd()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    folder_fd(const folder_fd&) = delete;
    folder_fd& operator=(const folder_fd&) = delete;
    folder_fd(folder_fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    int get() const { return fd_; }

private:
    int fd_;
};

[[noreturn]] void solver_failure(const std::string& what, int reason)
{
    throw error(status::solver_failed,
                fmt::format("webroot: {}: {}", what, std::strerror(reason)));
}

// Opens (and, when missing, makes) name inside parent, refusing a symlink
// or anything that is not a folder.
folder_fd open_folder(int parent, const char* name, const std::string& shown,
                      bool& made)
{
    made = false;
    if (mkdirat(parent, name, 0755) == 0)
        made = true;
    else if (errno != EEXIST)
        solver_failure("cannot create " + shown, errno);

    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0)
        solver_failure(shown + " is not a folder (or is a symlink)",
                       errno == ELOOP ? ENOTDIR : errno);

    // mkdirat honours the umask; the web server must be able to read.
    if (made)
        fchmod(fd, 0755);
    return folder_fd(fd);
}

void write_all(int fd, const std::string& text, const std::string& shown)
{
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t written = write(fd, data, left);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            solver_failure("cannot write " + shown, written < 0 ? errno : EIO);
        data += written;
        left -= static_cast<std::size_t>(written);
    }
}

} // namespace

webroot_solver::webroot_solver(webroot_options options)
    : options_(std::move(options))
{
    if (options_.webroot.empty())
        throw error(status::invalid_argument, "webroot: no folder given");
}

webroot_solver::~webroot_solver() = default;

bool webroot_solver::handles(const std::string& challenge_type) const
{
    return challenge_type == "http-01";
}

void webroot_solver::present(const challenge_task& task)
{
    // The token names a file: anything but base64url could climb out of
    // the folder ("../"), hide a separator ("%2f" decoded by a server) or
    // end the name early (NUL). Refused before any file system call.
    if (!valid_challenge_token(task.token))
        throw error(status::invalid_argument,
                    "webroot: the challenge token is not 1 to 256 base64url "
                    "characters; nothing was written");

    int root = open(options_.webroot.c_str(), O_RDONLY | O_DIRECTORY);
    if (root < 0)
        solver_failure("cannot open " + options_.webroot, errno);
    folder_fd root_fd(root);

    bool made = false;
    std::string shown = options_.webroot + "/" + well_known;
    folder_fd well_known_fd = open_folder(root, well_known, shown, made);
    if (made)
        made_folders_.push_back(well_known);
    shown += std::string("/") + challenge_folder;
    folder_fd challenge_fd =
        open_folder(well_known_fd.get(), challenge_folder, shown, made);
    if (made)
        made_folders_.push_back(std::string(well_known) + "/" +
                                challenge_folder);

    // O_EXCL: a file of that name that acmekit did not create stays as it
    // is; O_NOFOLLOW: a symlink there is not followed either.
    shown += "/" + task.token;
    int fd = openat(challenge_fd.get(), task.token.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            throw error(status::solver_failed,
                        fmt::format("webroot: {} exists already and was not "
                                    "made by acmekit; it is left alone",
                                    shown));
        solver_failure("cannot create " + shown, errno);
    }
    folder_fd file_fd(fd);
    written_[task.token] = true;
    fchmod(fd, 0644);
    write_all(fd, task.key_authorization, shown);
}

void webroot_solver::cleanup(const challenge_task& task) noexcept
{
    if (options_.keep_files)
        return;
    int root = open(options_.webroot.c_str(), O_RDONLY | O_DIRECTORY);
    if (root < 0)
        return;
    folder_fd root_fd(root);

    auto found = written_.find(task.token);
    if (found != written_.end()) {
        written_.erase(found);
        int well =
            openat(root, well_known, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        folder_fd well_fd(well);
        int challenges = well < 0 ? -1
                                  : openat(well, challenge_folder,
                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        folder_fd challenges_fd(challenges);
        if (challenges >= 0)
            unlinkat(challenges, task.token.c_str(), 0);
    }

    // The folders go once the last token of this run is gone, and only if
    // this run made them and nothing else was put in them meanwhile.
    if (written_.empty()) {
        for (auto it = made_folders_.rbegin(); it != made_folders_.rend(); ++it)
            unlinkat(root, it->c_str(), AT_REMOVEDIR);
        made_folders_.clear();
    }
}

} // namespace acme
