#include <doctest/doctest.h>

#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>

#include "scripted_transport.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

using namespace acme;
using namespace std::chrono;

namespace {

// A zone held in memory: what a publisher writes becomes visible to the
// lookup after `delay` checks, as with a slow secondary server.
struct fake_dns final : dns_publisher, dns_lookup {
    std::map<std::string, std::vector<std::string>> txt_records;
    std::map<std::string, std::string> cnames;
    int delay = 0;
    int checks = 0;
    std::vector<std::string> log;

    void add_txt(const std::string& fqdn, const std::string& value) override
    {
        log.push_back("add " + fqdn + " " + value);
        txt_records[fqdn].push_back(value);
    }
    void remove_txt(const std::string& fqdn, const std::string& value) override
    {
        log.push_back("remove " + fqdn + " " + value);
        auto& values = txt_records[fqdn];
        values.erase(std::remove(values.begin(), values.end(), value),
                     values.end());
    }
    std::vector<std::string> txt(const dns_server&,
                                 const std::string& fqdn) override
    {
        if (checks++ < delay)
            return {};
        return txt_records[fqdn];
    }
    std::string cname(const dns_server&, const std::string& fqdn) override
    {
        auto found = cnames.find(fqdn);
        return found == cnames.end() ? std::string() : found->second;
    }
    std::string zone_of(const dns_server&, const std::string&) override
    {
        return "example.com";
    }
};

challenge_task dns_task(const std::string& name, bool wildcard,
                        const std::string& token, const std::string& value)
{
    return {"dns-01", name, wildcard, token, token + ".thumb", value};
}

propagation_options checked()
{
    propagation_options p;
    p.servers = {{"127.0.0.1", 5353}};
    p.interval = milliseconds(100);
    p.timeout = seconds(5);
    return p;
}

} // namespace

TEST_CASE("a wildcard and its base name share one name, both kept")
{
    fake_dns dns;
    test::fake_clock time;
    dns01_solver solver(dns, time, checked(), dns);
    auto base = dns_task("test.example.com", false, "t1", "v1");
    auto wild = dns_task("test.example.com", true, "t2", "v2");

    solver.present(base);
    solver.present(wild);
    const std::string name = "_acme-challenge.test.example.com";
    CHECK(dns.txt_records[name] == std::vector<std::string>{"v1", "v2"});

    dns.delay = 3;
    solver.wait_ready(base);
    CHECK(time.sleeps.size() == 3);

    solver.cleanup(base);
    CHECK(dns.txt_records[name] == std::vector<std::string>{"v2"});
    solver.cleanup(wild);
    CHECK(dns.txt_records[name].empty());
}

TEST_CASE("cleanup leaves values acmekit did not add")
{
    fake_dns dns;
    test::fake_clock time;
    dns.txt_records["_acme-challenge.a.example.com"] = {"operator's"};
    dns01_solver solver(dns, time, checked(), dns);
    auto task = dns_task("a.example.com", false, "t", "mine");
    solver.present(task);
    solver.cleanup(task);
    CHECK(dns.txt_records["_acme-challenge.a.example.com"] ==
          std::vector<std::string>{"operator's"});
    solver.cleanup(task); // twice is harmless
    CHECK(dns.log.size() == 2);
}

TEST_CASE("a CNAME at _acme-challenge moves the record")
{
    fake_dns dns;
    test::fake_clock time;
    dns.cnames["_acme-challenge.a.example.com"] = "a.acme.example.net";
    dns01_solver solver(dns, time, checked(), dns);
    auto task = dns_task("a.example.com", false, "t", "v");
    solver.present(task);
    CHECK(solver.record_name(task) == "a.acme.example.net");
    CHECK(dns.txt_records["a.acme.example.net"] ==
          std::vector<std::string>{"v"});
    CHECK_NOTHROW(solver.wait_ready(task));
}

TEST_CASE("a CNAME loop is refused")
{
    fake_dns dns;
    test::fake_clock time;
    dns.cnames["_acme-challenge.a.example.com"] = "b.example.com";
    dns.cnames["b.example.com"] = "_acme-challenge.a.example.com";
    dns01_solver solver(dns, time, checked(), dns);
    CHECK_THROWS_AS(solver.present(dns_task("a.example.com", false, "t", "v")),
                    error);
    CHECK(dns.log.empty());
}

TEST_CASE("a record that never appears times out, clearly")
{
    fake_dns dns;
    test::fake_clock time;
    dns.delay = 1000000;
    dns01_solver solver(dns, time, checked(), dns);
    auto task = dns_task("a.example.com", false, "t", "v");
    solver.present(task);
    try {
        solver.wait_ready(task);
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::timeout);
        CHECK(std::string(e.what()).find("_acme-challenge.a.example.com") !=
              std::string::npos);
        CHECK(std::string(e.what()).find("127.0.0.1:5353") !=
              std::string::npos);
    }
    CHECK(time.sleeps.size() <= 50);
}

TEST_CASE("the propagation check needs a server, or can be turned off")
{
    fake_dns dns;
    test::fake_clock time;
    propagation_options none;
    CHECK_THROWS_AS(dns01_solver(dns, time, none, dns), error);
    none.enabled = false;
    dns01_solver solver(dns, time, none, dns);
    auto task = dns_task("a.example.com", false, "t", "v");
    solver.present(task);
    solver.wait_ready(task);
    CHECK(dns.checks == 0);
}

namespace {

// Hook folders made by this run, removed when the test program ends.
struct hook_folders {
    ~hook_folders()
    {
        for (const std::string& dir : made)
            std::filesystem::remove_all(dir);
    }
    std::vector<std::string> made;
};
hook_folders hook_dirs;

std::string write_hook(const std::string& body)
{
    char dir_template[] = "/tmp/acmekit-hook-XXXXXX";
    std::string dir = mkdtemp(dir_template);
    hook_dirs.made.push_back(dir);
    std::string path = dir + "/hook";
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0700);
    return path;
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TEST_CASE("the hook gets its arguments one by one, with no shell between")
{
    std::string hook = write_hook(
        "for a in \"$@\"; do printf '<%s>' \"$a\"; done >> \"$0.log\"\n"
        "echo >> \"$0.log\"\n");
    hook_publisher publisher(hook);
    publisher.add_txt("_acme-challenge.a.example.com", "v a;$(touch x)");
    publisher.remove_txt("_acme-challenge.a.example.com", "v2");
    CHECK(slurp(hook + ".log") ==
          "<add><_acme-challenge.a.example.com><v a;$(touch x)>\n"
          "<remove><_acme-challenge.a.example.com><v2>\n");
}

TEST_CASE("a failing or hanging hook is an error that says so")
{
    hook_publisher failing(write_hook("exit 3\n"));
    try {
        failing.add_txt("_acme-challenge.a.example.com", "v");
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::solver_failed);
        CHECK(std::string(e.what()).find("status 3") != std::string::npos);
    }

    hook_publisher hanging(write_hook("sleep 30\n"), milliseconds(200));
    auto start = steady_clock::now();
    try {
        hanging.add_txt("_acme-challenge.a.example.com", "v");
        FAIL("no error");
    } catch (const error& e) {
        CHECK(std::string(e.what()).find("killed") != std::string::npos);
    }
    CHECK(steady_clock::now() - start < seconds(5));

    CHECK_THROWS_AS(hook_publisher("/nonexistent/hook"), error);
}

TEST_CASE("cleanup after a failed present still tries to remove the value")
{
    struct refusing final : dns_publisher {
        std::vector<std::string> removed;
        void add_txt(const std::string&, const std::string&) override
        {
            throw error(status::solver_failed, "provider said no");
        }
        void remove_txt(const std::string& fqdn, const std::string&) override
        {
            removed.push_back(fqdn);
            throw error(status::solver_failed, "provider said no again");
        }
    } publisher;
    fake_dns lookup;
    test::fake_clock time;
    dns01_solver solver(publisher, time, checked(), lookup);
    auto task = dns_task("a.example.com", false, "t", "v");
    CHECK_THROWS_AS(solver.present(task), error);
    CHECK_NOTHROW(solver.cleanup(task));
    CHECK(publisher.removed ==
          std::vector<std::string>{"_acme-challenge.a.example.com"});
}

TEST_CASE("a CNAME to a name no record can be written at is refused")
{
    for (std::string target : std::vector<std::string>{
             "--help.example.com", "$(touch x).example.com", ".", "example",
             "a b.example.com", std::string("a\x01.example.com")}) {
        fake_dns dns;
        test::fake_clock time;
        dns.cnames["_acme-challenge.a.example.com"] = target;
        dns01_solver solver(dns, time, checked(), dns);
        CHECK_THROWS_AS(
            solver.present(dns_task("a.example.com", false, "t", "v")), error);
        CHECK(dns.log.empty());
    }
}

TEST_CASE("a hook's leftovers are stopped and a failed exec is named")
{
    std::string hook = write_hook("sleep 30 &\necho $! > \"$0.pid\"\n");
    hook_publisher publisher(hook);
    publisher.add_txt("_acme-challenge.a.example.com", "v");
    int pid = std::stoi(slurp(hook + ".pid"));
    // Killed with its group; reaped by init, so allow it a moment.
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
        gone = kill(pid, 0) != 0 ||
               slurp("/proc/" + std::to_string(pid) + "/stat").find(") Z") !=
                   std::string::npos;
        if (!gone)
            std::this_thread::sleep_for(milliseconds(10));
    }
    CHECK(gone);

    CHECK_THROWS_AS(hook_publisher("/tmp"), error);

    std::string no_interpreter = write_hook("");
    std::ofstream(no_interpreter) << "#!/nonexistent/shell\n";
    hook_publisher broken(no_interpreter);
    try {
        broken.add_txt("_acme-challenge.a.example.com", "v");
        FAIL("no error");
    } catch (const error& e) {
        CHECK(std::string(e.what()).find("cannot run") != std::string::npos);
    }
}
