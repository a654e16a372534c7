// What acmekit keeps in a storage: accounts found again after a restart,
// certificates switched as a pair, and the caller's own key or CSR.
#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/client.hpp>
#include <acmekit/stored.hpp>

#include "scripted_transport.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

using namespace acme;
namespace fs = std::filesystem;

namespace {

struct fixture : test::ca_fixture {
    test::memory_storage store;
    client acme_client{std::string(test::fake_ca::base) + "/dir",
                       {&http, &crypto, &time, nullptr}};
};

class accepting_solver final : public challenge_solver {
public:
    bool handles(const std::string& type) const override
    {
        return type == "http-01";
    }
    void present(const challenge_task&) override {}
    void cleanup(const challenge_task&) noexcept override {}
};

std::string chain_for(fixture& f, const private_key& key,
                      const std::string& name)
{
    issue_request request;
    request.names = {name};
    request.existing_key_pem = f.crypto.export_key_pem(key);
    accepting_solver solver;
    return issue_certificate(f.acme_client, request, solver).chain_pem;
}

} // namespace

TEST_CASE("storage folders are named after the CA and the first name")
{
    CHECK(account_folder("https://acme-v02.api.letsencrypt.org/directory") ==
          "accounts/acme-v02.api.letsencrypt.org_directory");
    CHECK(account_folder("https://127.0.0.1:14000/dir") ==
          "accounts/127.0.0.1_14000_dir");
    CHECK(certificate_folder("Device.Example.com") ==
          "certificates/device.example.com");
    CHECK(certificate_folder("*.example.com") == "certificates/_.example.com");
    CHECK_THROWS_AS(certificate_folder("../etc"), error);
    CHECK_THROWS_AS(account_folder(""), error);
}

TEST_CASE_FIXTURE(fixture, "an account is registered once, then reused")
{
    opened_account first =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    CHECK(first.created);
    CHECK(first.info.url == "https://ca.test/acct/1");
    std::string folder = "accounts/ca.test_dir";
    CHECK(store.values.count(folder + "/account.key") == 1);
    CHECK(store.values.at(folder + "/account.url") == first.info.url);
    CHECK(ca.new_account_requests == 1);

    // A restart: a new client finds the account with no request at all.
    client again{std::string(test::fake_ca::base) + "/dir",
                 {&http, &crypto, &time, nullptr}};
    opened_account second =
        open_account(again, store, key_type::ec_p256, new_account_options{});
    CHECK_FALSE(second.created);
    CHECK(second.info.url == first.info.url);
    CHECK(ca.new_account_requests == 1);
    CHECK(again.account_thumbprint() == acme_client.account_thumbprint());
}

TEST_CASE_FIXTURE(fixture, "a key stored without its URL is looked up first")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    store.values.erase("accounts/ca.test_dir/account.url");
    std::string key_before =
        store.values.at("accounts/ca.test_dir/account.key");

    client again{std::string(test::fake_ca::base) + "/dir",
                 {&http, &crypto, &time, nullptr}};
    opened_account found =
        open_account(again, store, key_type::ec_p256, new_account_options{});
    CHECK_FALSE(found.created);
    CHECK(ca.new_account_payload.find("onlyReturnExisting") !=
          std::string::npos);
    CHECK(store.values.at("accounts/ca.test_dir/account.key") == key_before);
    CHECK(store.values.at("accounts/ca.test_dir/account.url") ==
          "https://ca.test/acct/1");
}

TEST_CASE_FIXTURE(fixture, "terms of service must be agreed for a new account")
{
    try {
        open_account(acme_client, store, key_type::ec_p256,
                     new_account_options{});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::terms_not_agreed);
        CHECK(std::string(e.what()).find("https://ca.test/tos") !=
              std::string::npos);
    }
    CHECK(ca.new_account_requests == 0);
    CHECK(store.values.empty());
}

TEST_CASE_FIXTURE(fixture, "a failed account write keeps nothing half made")
{
    store.fail_after = 0;
    CHECK_THROWS_AS(
        open_account(acme_client, store, key_type::ec_p256, test::agreed()),
        error);
    CHECK(store.values.empty());
}

TEST_CASE_FIXTURE(fixture, "certificates switch as a pair, two kept")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    std::string name = "device.example.com";
    CHECK_FALSE(load_certificate(store, crypto, name));

    std::vector<std::unique_ptr<private_key>> keys;
    std::vector<std::string> folders;
    for (int i = 0; i < 3; ++i) {
        keys.push_back(crypto.generate_key(key_type::ec_p256));
        std::string chain = chain_for(*this, *keys.back(), name);
        folders.push_back(save_certificate(
            store, name, crypto.export_key_pem(*keys.back()), chain));
    }
    CHECK(folders ==
          std::vector<std::string>{"certificates/device.example.com/g1",
                                   "certificates/device.example.com/g2",
                                   "certificates/device.example.com/g3"});

    auto loaded = load_certificate(store, crypto, name);
    REQUIRE(loaded);
    CHECK(loaded->folder == folders[2]);
    CHECK(crypto.jwk(*loaded->key) == crypto.jwk(*keys[2]));

    // The generation before is kept for rollback, the one before that not.
    CHECK(store.values.count(folders[1] + "/certificate.key") == 1);
    CHECK(store.values.count(folders[0] + "/certificate.key") == 0);
    CHECK(store.values.count(folders[0] + "/fullchain.pem") == 0);
}

TEST_CASE_FIXTURE(fixture, "a save cut short at any write keeps the old pair")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    std::string name = "device.example.com";
    auto old_key = crypto.generate_key(key_type::ec_p256);
    save_certificate(store, name, crypto.export_key_pem(*old_key),
                     chain_for(*this, *old_key, name));
    auto new_key = crypto.generate_key(key_type::ec_p256);
    std::string new_chain = chain_for(*this, *new_key, name);

    // The key, the chain, then the switch: a failure at any of the three
    // leaves the old certificate loadable and whole.
    for (int failing = 0; failing < 3; ++failing) {
        CAPTURE(failing);
        test::memory_storage copy = store;
        copy.puts = 0;
        copy.fail_after = failing;
        CHECK_THROWS_AS(save_certificate(copy, name,
                                         crypto.export_key_pem(*new_key),
                                         new_chain),
                        error);
        copy.fail_after = -1;
        auto loaded = load_certificate(copy, crypto, name);
        REQUIRE(loaded);
        CHECK(crypto.jwk(*loaded->key) == crypto.jwk(*old_key));
    }
}

TEST_CASE_FIXTURE(fixture, "a stored key that does not fit its chain is "
                           "reported")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    std::string name = "device.example.com";
    auto key = crypto.generate_key(key_type::ec_p256);
    auto other = crypto.generate_key(key_type::ec_p256);
    save_certificate(store, name, crypto.export_key_pem(*other),
                     chain_for(*this, *key, name));
    CHECK_THROWS_WITH_AS(load_certificate(store, crypto, name),
                         doctest::Contains("does not match"), error);

    store.values["certificates/device.example.com/current"] = "../x";
    CHECK_THROWS_WITH_AS(load_certificate(store, crypto, name),
                         doctest::Contains("does not name a generation"),
                         error);
}

TEST_CASE("the file storage keeps the layout, lists it and tidies it")
{
    char pattern[] = "/tmp/acmekit-stored-XXXXXX";
    std::string root = mkdtemp(pattern);
    {
        file_storage store(root);
        secret_bytes value(std::string("x"));
        store.put("certificates/a.example/g1/fullchain.pem", value, false);
        store.put("certificates/b.example/current", value, false);
        CHECK(store.list("certificates") ==
              std::vector<std::string>{"certificates/a.example",
                                       "certificates/b.example"});
        CHECK(store.list("nothing").empty());

        // Removing the last file of a generation removes its folders.
        store.remove("certificates/a.example/g1/fullchain.pem");
        CHECK_FALSE(fs::exists(root + "/certificates/a.example"));
        CHECK(fs::exists(root + "/certificates/b.example/current"));
    }
    fs::remove_all(root);
}

TEST_CASE_FIXTURE(fixture, "an existing key is certified, not a new one")
{
    acme_client.new_account(*key, test::agreed());
    auto kept = crypto.generate_key(key_type::ec_p384);
    issue_request request;
    request.names = {"device.example.com"};
    request.existing_key_pem = crypto.export_key_pem(*kept);
    accepting_solver solver;
    issued_certificate cert = issue_certificate(acme_client, request, solver);
    CHECK(crypto.jwk(*cert.key) == crypto.jwk(*kept));
    CHECK(crypto.parse_chain(cert.chain_pem).front().key == crypto.jwk(*kept));
}

TEST_CASE_FIXTURE(fixture, "the account key is never the certificate key")
{
    acme_client.new_account(*key, test::agreed());
    issue_request request;
    request.names = {"device.example.com"};
    request.existing_key_pem = crypto.export_key_pem(*key);
    accepting_solver solver;
    CHECK_THROWS_WITH_AS(issue_certificate(acme_client, request, solver),
                         doctest::Contains("account key"), error);
    CHECK(ca.posted_urls.size() == 1); // the registration only

    request.existing_key_pem = {};
    request.csr = crypto.make_csr(*key, request.names);
    CHECK_THROWS_WITH_AS(issue_certificate(acme_client, request, solver),
                         doctest::Contains("account key"), error);
    CHECK(ca.posted_urls.size() == 1);
}

TEST_CASE_FIXTURE(fixture, "a caller's CSR is sent as is, PEM or DER")
{
    acme_client.new_account(*key, test::agreed());
    auto own = crypto.generate_key(key_type::rsa_2048);
    bytes der = crypto.make_csr(*own, {"device.example.com"});
    accepting_solver solver;

    issue_request request;
    request.names = {"device.example.com"};
    request.csr = der;
    issued_certificate cert = issue_certificate(acme_client, request, solver);
    CHECK_FALSE(cert.key);
    CHECK(cert.key_pem.empty());
    CHECK(crypto.parse_chain(cert.chain_pem).front().key == crypto.jwk(*own));

    // The same request as PEM.
    std::string body = "-----BEGIN CERTIFICATE REQUEST-----\n";
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (std::size_t i = 0; i < der.size(); i += 3) {
        std::uint32_t n = der[i] << 16;
        if (i + 1 < der.size())
            n |= der[i + 1] << 8;
        if (i + 2 < der.size())
            n |= der[i + 2];
        b64 += alphabet[(n >> 18) & 63];
        b64 += alphabet[(n >> 12) & 63];
        b64 += i + 1 < der.size() ? alphabet[(n >> 6) & 63] : '=';
        b64 += i + 2 < der.size() ? alphabet[n & 63] : '=';
    }
    for (std::size_t i = 0; i < b64.size(); i += 64)
        body += b64.substr(i, 64) + "\n";
    body += "-----END CERTIFICATE REQUEST-----\n";
    request.csr = bytes(body.begin(), body.end());
    cert = issue_certificate(acme_client, request, solver);
    CHECK(crypto.parse_chain(cert.chain_pem).front().key == crypto.jwk(*own));
}

TEST_CASE_FIXTURE(fixture, "a CSR that is not one, or is forged, is refused "
                           "before any order")
{
    acme_client.new_account(*key, test::agreed());
    accepting_solver solver;
    issue_request request;
    request.names = {"device.example.com"};
    request.csr = bytes{0x30, 0x03, 0x02, 0x01, 0x00};
    CHECK_THROWS_WITH_AS(issue_certificate(acme_client, request, solver),
                         doctest::Contains("not a PKCS#10"), error);

    // One flipped bit in the signature.
    auto own = crypto.generate_key(key_type::ec_p256);
    request.csr = crypto.make_csr(*own, request.names);
    request.csr[request.csr.size() - 5] ^= 0x01;
    CHECK_THROWS_WITH_AS(issue_certificate(acme_client, request, solver),
                         doctest::Contains("signature"), error);

    request.existing_key_pem = crypto.export_key_pem(*own);
    CHECK_THROWS_WITH_AS(issue_certificate(acme_client, request, solver),
                         doctest::Contains("not both"), error);
    CHECK(ca.posted_urls.size() == 1);
}

TEST_CASE_FIXTURE(fixture, "a rollover stores the new key in place of the old")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    std::string folder = "accounts/ca.test_dir";
    std::string old_key = store.values.at(folder + "/account.key");
    rollover_account(acme_client, store, opened, key_type::ec_p256);
    CHECK(store.values.at(folder + "/account.key") != old_key);
    CHECK(store.values.count(folder + "/account.key.next") == 0);

    // A restart signs with the new key, and the CA accepts it.
    client again{std::string(test::fake_ca::base) + "/dir",
                 {&http, &crypto, &time, nullptr}};
    opened_account reopened =
        open_account(again, store, key_type::ec_p256, new_account_options{});
    CHECK(crypto.jwk(*reopened.key) == crypto.jwk(*opened.key));
    CHECK_NOTHROW(again.fetch_account());
}

TEST_CASE_FIXTURE(fixture, "a rollover cut short keeps the key the CA took")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    std::string folder = "accounts/ca.test_dir";
    std::string old_key = store.values.at(folder + "/account.key");

    SUBCASE("stopped before the CA heard of the new key")
    {
        auto unused = crypto.generate_key(key_type::ec_p256);
        store.values[folder + "/account.key.next"] =
            std::string(crypto.export_key_pem(*unused).view());
        client again{std::string(test::fake_ca::base) + "/dir",
                     {&http, &crypto, &time, nullptr}};
        opened_account reopened = open_account(again, store, key_type::ec_p256,
                                               new_account_options{});
        CHECK(store.values.at(folder + "/account.key") == old_key);
        CHECK_NOTHROW(again.fetch_account());
    }
    SUBCASE("stopped after the CA took the new key")
    {
        store.fail_after = store.puts + 1; // account.key.next only
        CHECK_THROWS_AS(
            rollover_account(acme_client, store, opened, key_type::ec_p256),
            error);
        store.fail_after = -1;
        std::string next = store.values.at(folder + "/account.key.next");
        client again{std::string(test::fake_ca::base) + "/dir",
                     {&http, &crypto, &time, nullptr}};
        opened_account reopened = open_account(again, store, key_type::ec_p256,
                                               new_account_options{});
        CHECK(store.values.at(folder + "/account.key") == next);
        CHECK_NOTHROW(again.fetch_account());
    }
    CHECK(store.values.count(folder + "/account.key.next") == 0);
}

TEST_CASE_FIXTURE(fixture, "looking for a stored account creates none")
{
    CHECK_THROWS_WITH_AS(open_account(acme_client, store, key_type::ec_p256,
                                      [] {
                                          new_account_options o;
                                          o.only_return_existing = true;
                                          return o;
                                      }()),
                         doctest::Contains("no account"), error);
    CHECK(ca.new_account_requests == 0);
    CHECK(store.values.empty());
}

TEST_CASE("the file storage follows no symlink on the way to a value")
{
    char pattern[] = "/tmp/acmekit-links-XXXXXX";
    std::string root = mkdtemp(pattern);
    fs::create_directories(root + "/store/certificates");
    fs::create_directory(root + "/outside");
    fs::create_directory_symlink(root + "/outside",
                                 root + "/store/certificates/a.example");
    {
        file_storage store(root + "/store");
        secret_bytes value(std::string("x"));
        CHECK_THROWS_WITH_AS(
            store.put("certificates/a.example/g1/fullchain.pem", value, false),
            doctest::Contains("symlink"), error);
        CHECK_THROWS_AS(store.get("certificates/a.example/current"), error);
        CHECK_THROWS_AS(store.list("certificates/a.example"), error);
        CHECK(fs::is_empty(root + "/outside"));
    }
    fs::remove_all(root);
}

TEST_CASE_FIXTURE(fixture, "a damaged current pointer does not stop the next "
                           "certificate")
{
    opened_account opened =
        open_account(acme_client, store, key_type::ec_p256, test::agreed());
    std::string name = "device.example.com";
    auto key = crypto.generate_key(key_type::ec_p256);
    save_certificate(store, name, crypto.export_key_pem(*key),
                     chain_for(*this, *key, name));
    store.values["certificates/device.example.com/current"] = "junk";
    CHECK_THROWS_AS(load_certificate(store, crypto, name), error);

    auto next = crypto.generate_key(key_type::ec_p256);
    std::string folder =
        save_certificate(store, name, crypto.export_key_pem(*next),
                         chain_for(*this, *next, name));
    CHECK(folder == "certificates/device.example.com/g2");
    auto loaded = load_certificate(store, crypto, name);
    REQUIRE(loaded);
    CHECK(crypto.jwk(*loaded->key) == crypto.jwk(*next));
}

TEST_CASE("long names that share their start get folders of their own")
{
    std::string stem(200, 'b');
    std::string a = stem.substr(0, 60) + "." + stem.substr(0, 60) + "." +
                    stem.substr(0, 60) + "." + stem.substr(0, 50) +
                    ".example.com";
    std::string b = a.substr(0, a.size() - 3) + "org";
    CHECK(certificate_folder(a) != certificate_folder(b));
    CHECK(certificate_folder(a).size() <=
          std::string("certificates/").size() + 240);
}
