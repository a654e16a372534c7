// HTTP-01 through an existing web server's document root: what is
// written, what is removed, and what is refused before the file system is
// touched at all.
#include <doctest/doctest.h>

#include <acmekit/adapters/webroot_solver.hpp>
#include <acmekit/problem.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace acme;
namespace fs = std::filesystem;

namespace {

// A sandbox: outside/ beside www/ (the webroot), so that an escape shows.
struct sandbox {
    sandbox()
    {
        char pattern[] = "/tmp/acmekit-webroot-XXXXXX";
        root = mkdtemp(pattern);
        fs::create_directory(root + "/www");
        fs::create_directory(root + "/outside");
    }
    ~sandbox() { fs::remove_all(root); }

    std::string www() const { return root + "/www"; }

    // Every path under the sandbox, to compare before and after.
    std::set<std::string> tree() const
    {
        std::set<std::string> paths;
        for (const auto& entry : fs::recursive_directory_iterator(root))
            paths.insert(entry.path().string());
        return paths;
    }

    std::string root;
};

challenge_task task_for(std::string token)
{
    challenge_task task;
    task.type = "http-01";
    task.identifier = "device.example.com";
    task.token = std::move(token);
    task.key_authorization = task.token + ".thumbprint";
    return task;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

int mode_of(const std::string& path)
{
    struct stat info;
    REQUIRE(lstat(path.c_str(), &info) == 0);
    return static_cast<int>(info.st_mode & 0777);
}

} // namespace

TEST_CASE("the webroot gets the token file, and loses it afterwards")
{
    sandbox box;
    webroot_solver solver({box.www(), false});
    challenge_task task = task_for("tok-EN_123");
    std::string file = box.www() + "/.well-known/acme-challenge/tok-EN_123";

    solver.present(task);
    CHECK(read_file(file) == "tok-EN_123.thumbprint");
    CHECK(mode_of(file) == 0644);
    CHECK(mode_of(box.www() + "/.well-known") == 0755);
    CHECK(mode_of(box.www() + "/.well-known/acme-challenge") == 0755);

    solver.cleanup(task);
    CHECK_FALSE(fs::exists(file));
    CHECK_FALSE(fs::exists(box.www() + "/.well-known"));
}

TEST_CASE("folders acmekit did not make stay; kept files stay when asked")
{
    sandbox box;
    fs::create_directories(box.www() + "/.well-known/acme-challenge");
    {
        webroot_solver solver({box.www(), false});
        solver.present(task_for("a"));
        solver.present(task_for("b"));
        solver.cleanup(task_for("a"));
        CHECK(fs::exists(box.www() + "/.well-known/acme-challenge/b"));
        solver.cleanup(task_for("b"));
        CHECK(fs::is_empty(box.www() + "/.well-known/acme-challenge"));
    }
    webroot_solver keeping({box.www(), true});
    keeping.present(task_for("kept"));
    keeping.cleanup(task_for("kept"));
    CHECK(fs::exists(box.www() + "/.well-known/acme-challenge/kept"));
}

TEST_CASE("hostile tokens are refused before anything is written")
{
    sandbox box;
    std::string long_token(10000, 'a');
    std::string with_nul("ab\0cd", 5);
    for (const std::string& token :
         {std::string("../../x"), std::string("a/b"), std::string("%2f"),
          std::string("..%2F..%2Fx"), with_nul, long_token, std::string(""),
          std::string("."), std::string(".."), std::string("a b")}) {
        CAPTURE(token.size());
        std::set<std::string> before = box.tree();
        webroot_solver solver({box.www(), false});
        CHECK_THROWS_WITH_AS(solver.present(task_for(token)),
                             doctest::Contains("nothing was written"), error);
        solver.cleanup(task_for(token));
        CHECK(box.tree() == before);
    }
}

TEST_CASE("a symlink below the webroot is not followed")
{
    sandbox box;
    SUBCASE(".well-known is a link out")
    {
        fs::create_directory_symlink(box.root + "/outside",
                                     box.www() + "/.well-known");
    }
    SUBCASE("acme-challenge is a link out")
    {
        fs::create_directory(box.www() + "/.well-known");
        fs::create_directory_symlink(box.root + "/outside",
                                     box.www() + "/.well-known/acme-challenge");
    }
    webroot_solver solver({box.www(), false});
    CHECK_THROWS_AS(solver.present(task_for("tok")), error);
    solver.cleanup(task_for("tok"));
    CHECK(fs::is_empty(box.root + "/outside"));
}

TEST_CASE("a file acmekit did not create is never overwritten")
{
    sandbox box;
    fs::create_directories(box.www() + "/.well-known/acme-challenge");
    std::string file = box.www() + "/.well-known/acme-challenge/tok";

    SUBCASE("a plain file")
    {
        std::ofstream(file) << "the site's own";
        webroot_solver solver({box.www(), false});
        CHECK_THROWS_WITH_AS(solver.present(task_for("tok")),
                             doctest::Contains("left alone"), error);
        solver.cleanup(task_for("tok"));
        CHECK(read_file(file) == "the site's own");
    }
    SUBCASE("a symlink to a file outside")
    {
        std::ofstream(box.root + "/outside/target") << "precious";
        fs::create_symlink(box.root + "/outside/target", file);
        webroot_solver solver({box.www(), false});
        CHECK_THROWS_AS(solver.present(task_for("tok")), error);
        solver.cleanup(task_for("tok"));
        CHECK(read_file(box.root + "/outside/target") == "precious");
        CHECK(fs::is_symlink(file));
    }
}

TEST_CASE("a webroot that is missing fails clearly")
{
    webroot_solver solver({"/nonexistent/www", false});
    CHECK_THROWS_WITH_AS(solver.present(task_for("tok")),
                         doctest::Contains("/nonexistent/www"), error);
}
