#include <acmekit/problem.hpp>
#include <acmekit/storage.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace acme {

namespace {

[[noreturn]] void io_failure(const char* what, const std::string& path,
                             int reason)
{
    throw error(status::io_error, fmt::format("cannot {} {}: {}", what, path,
                                              std::strerror(reason)));
}

bool valid_segment(const std::string& segment)
{
    if (segment.empty() || segment.front() == '.' || segment.size() > 255)
        return false;
    for (char c : segment)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' &&
            c != '_' && c != '-')
            return false;
    return true;
}

std::string parent_of(const std::string& path)
{
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

void sync_folder(const std::string& folder)
{
    int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        int reason = errno;
        if (fd >= 0)
            close(fd);
        io_failure("sync", folder, reason);
    }
    close(fd);
}

// Creates every folder from root down to folder, owner-only.
void make_folders(const std::string& root, const std::string& folder)
{
    for (std::size_t at = root.size(); at != std::string::npos;
         at = folder.find('/', at + 1)) {
        std::string part = folder.substr(0, at);
        if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            io_failure("create", part, errno);
    }
    if (mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST)
        io_failure("create", folder, errno);
}

void write_all(int fd, const secret_bytes& value, const std::string& path)
{
    const std::uint8_t* data = value.data();
    std::size_t left = value.size();
    while (left > 0) {
        ssize_t written = write(fd, data, left);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            io_failure("write", path, written < 0 ? errno : EIO);
        data += written;
        left -= static_cast<std::size_t>(written);
    }
}

} // namespace

file_storage::file_storage(std::string root) : root_(std::move(root))
{
    while (root_.size() > 1 && root_.back() == '/')
        root_.pop_back();
    if (root_.empty())
        throw error(status::invalid_argument, "file storage needs a folder");
}

std::string file_storage::path_of(const std::string& name) const
{
    std::size_t start = 0;
    while (true) {
        std::size_t slash = name.find('/', start);
        std::string segment = name.substr(start, slash - start);
        if (!valid_segment(segment))
            throw error(status::invalid_argument,
                        fmt::format("invalid storage name \"{}\"", name));
        if (slash == std::string::npos)
            break;

        // A folder on the way that is a symlink could lead out of the
        // root: writes, reads and removals would then reach files the
        // storage does not own.
        std::string folder = root_ + "/" + name.substr(0, slash);
        struct stat info;
        if (lstat(folder.c_str(), &info) == 0 && S_ISLNK(info.st_mode))
            throw error(status::io_error,
                        fmt::format("{} is a symlink; the storage does not "
                                    "follow links",
                                    folder));
        start = slash + 1;
    }
    return root_ + "/" + name;
}

std::optional<secret_bytes> file_storage::get(const std::string& name)
{
    std::string path = path_of(name);
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return std::nullopt;
        io_failure("read", path, errno);
    }

    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) ||
        static_cast<std::size_t>(info.st_size) > max_value_size) {
        close(fd);
        throw error(status::io_error,
                    fmt::format("{} is not a regular file of at most {} "
                                "bytes",
                                path, max_value_size));
    }
    std::string buffer(static_cast<std::size_t>(info.st_size), '\0');
    ssize_t got = read(fd, buffer.data(), buffer.size());
    int reason = errno;
    close(fd);
    if (got != static_cast<ssize_t>(buffer.size())) {
        secure_wipe(buffer.data(), buffer.size());
        io_failure("read", path, got < 0 ? reason : EIO);
    }
    secret_bytes value(buffer);
    secure_wipe(buffer.data(), buffer.size());
    return value;
}

void file_storage::put(const std::string& name, const secret_bytes& value,
                       bool secret)
{
    std::string path = path_of(name);
    std::string folder = parent_of(path);
    make_folders(root_, folder);

    std::string temp = folder + "/.acmekit-XXXXXX";
    int fd = mkstemp(temp.data());
    if (fd < 0)
        io_failure("write", path, errno);
    try {
        if (fchmod(fd, secret ? 0600 : 0644) != 0)
            io_failure("write", path, errno);
        write_all(fd, value, path);
        if (fsync(fd) != 0)
            io_failure("write", path, errno);
        if (close(fd) != 0) {
            fd = -1;
            io_failure("write", path, errno);
        }
        fd = -1;
        if (rename(temp.c_str(), path.c_str()) != 0)
            io_failure("replace", path, errno);
    } catch (...) {
        if (fd >= 0)
            close(fd);
        unlink(temp.c_str());
        throw;
    }
    sync_folder(folder);
}

void file_storage::remove(const std::string& name)
{
    std::string path = path_of(name);
    if (unlink(path.c_str()) != 0) {
        if (errno == ENOENT)
            return;
        io_failure("remove", path, errno);
    }

    // Folders emptied by the removal go too, so that old certificate
    // generations leave nothing behind; a folder still in use stays.
    std::string folder = parent_of(path);
    while (folder.size() > root_.size() && rmdir(folder.c_str()) == 0)
        folder = parent_of(folder);
    sync_folder(folder);
}

std::vector<std::string> file_storage::list(const std::string& folder)
{
    std::string path = path_of(folder);
    struct stat info;
    if (lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode))
        throw error(status::io_error,
                    fmt::format("{} is a symlink; the storage does not "
                                "follow links",
                                path));
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) {
        if (errno == ENOENT || errno == ENOTDIR)
            return {};
        io_failure("list", path, errno);
    }

    std::vector<std::string> names;
    while (struct dirent* entry = readdir(dir)) {
        std::string segment = entry->d_name;
        if (valid_segment(segment))
            names.push_back(folder + "/" + segment);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace acme
