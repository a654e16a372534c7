#include <doctest/doctest.h>

#include <acmekit/problem.hpp>
#include <acmekit/storage.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

using namespace acme;
namespace fs = std::filesystem;

namespace {

struct temp_root {
    temp_root()
    {
        char pattern[] = "/tmp/acmekit-storage-XXXXXX";
        path = mkdtemp(pattern);
    }
    ~temp_root() { fs::remove_all(path); }
    std::string path;
};

int mode_of(const std::string& path)
{
    struct stat info;
    REQUIRE(stat(path.c_str(), &info) == 0);
    return static_cast<int>(info.st_mode & 0777);
}

std::size_t entries(const std::string& folder)
{
    std::size_t n = 0;
    for (auto it = fs::directory_iterator(folder); it != fs::end(it); ++it)
        ++n;
    return n;
}

} // namespace

TEST_CASE("values round-trip, secrets are owner-only")
{
    temp_root root;
    file_storage store(root.path);
    CHECK_FALSE(store.get("accounts/ca/account.key"));

    store.put("accounts/ca/account.key", secret_bytes(std::string_view("k1")),
              true);
    store.put("certs/device/fullchain.pem",
              secret_bytes(std::string_view("c1")), false);
    CHECK(store.get("accounts/ca/account.key")->view() == "k1");
    CHECK(mode_of(root.path + "/accounts/ca/account.key") == 0600);
    CHECK(mode_of(root.path + "/certs/device/fullchain.pem") == 0644);
    CHECK(mode_of(root.path + "/accounts") == 0700);

    store.put("accounts/ca/account.key", secret_bytes(std::string_view("k2")),
              true);
    CHECK(store.get("accounts/ca/account.key")->view() == "k2");
    CHECK(entries(root.path + "/accounts/ca") == 1);

    store.remove("accounts/ca/account.key");
    store.remove("accounts/ca/account.key");
    CHECK_FALSE(store.get("accounts/ca/account.key"));
}

TEST_CASE("names that could leave the root are refused")
{
    temp_root root;
    file_storage store(root.path);
    for (const char* bad : {"", "../x", "a/../../x", "/etc/passwd", ".hidden",
                            "a//b", "a/", "a b", "a\\b"})
        CHECK_THROWS_AS(store.put(bad, secret_bytes(), false), error);
}

TEST_CASE("a write that fails leaves the old value and no temporary file")
{
    temp_root root;
    file_storage store(root.path);
    store.put("certs/x/fullchain.pem", secret_bytes(std::string_view("old")),
              false);

    // As root no permission stops a write; a file size limit does, the way
    // a full disk would (EFBIG instead of ENOSPC).
    struct rlimit saved;
    getrlimit(RLIMIT_FSIZE, &saved);
    struct rlimit tiny = saved;
    tiny.rlim_cur = 16;
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &tiny);
    try {
        store.put("certs/x/fullchain.pem", secret_bytes(std::string(4096, 'n')),
                  false);
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::io_error);
        CHECK(std::string(e.what()).find("fullchain.pem") != std::string::npos);
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);

    CHECK(store.get("certs/x/fullchain.pem")->view() == "old");
    CHECK(entries(root.path + "/certs/x") == 1);
}

TEST_CASE("a symlink or a folder is not read as a value")
{
    temp_root root;
    file_storage store(root.path);
    fs::create_directories(root.path + "/a/dir");
    fs::create_symlink("/etc/hostname", root.path + "/a/link");
    CHECK_THROWS_AS(store.get("a/dir"), error);
    CHECK_THROWS_AS(store.get("a/link"), error);
}
