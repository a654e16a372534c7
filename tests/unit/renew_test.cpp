// Renewal, profiles, alternate chains and resumed orders against the
// scripted CA: Pebble 2.4 offers no ARI and no profiles, and cannot be
// stopped halfway through an order on cue, so these flows are forced
// here. The fake clock decides every "now".
#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/issuance.hpp>
#include <acmekit/renew.hpp>
#include <acmekit/stored.hpp>

#include "detail/order_state.hpp"
#include "scripted_transport.hpp"

#include <ctime>

using namespace acme;
using namespace std::chrono;

namespace {

class accepting_solver final : public challenge_solver {
public:
    bool handles(const std::string& type) const override
    {
        return type == "http-01";
    }
    void present(const challenge_task& task) override
    {
        presented.push_back(task.token);
    }
    void cleanup(const challenge_task& task) noexcept override
    {
        cleaned.push_back(task.token);
    }
    std::vector<std::string> presented;
    std::vector<std::string> cleaned;
};

std::string utc(std::int64_t seconds)
{
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// 2030-01-01, when the scripted CA's leaves expire.
constexpr std::int64_t leaf_not_after = 1893456000;
constexpr std::int64_t leaf_not_before = 1735689600; // 2025-01-01
constexpr std::int64_t day = 86400;

struct fixture : test::ca_fixture {
    test::memory_storage store;
    accepting_solver solver;
    std::unique_ptr<client> acme_client = make_client();
    opened_account account =
        open_account(*acme_client, store, key_type::ec_p256, test::agreed());
    const std::string name = "device.example.com";

    std::unique_ptr<client> make_client()
    {
        return std::make_unique<client>(
            std::string(test::fake_ca::base) + "/dir",
            services{&http, &crypto, &time, nullptr});
    }

    // A restart: a fresh client (and its directory) over the same state.
    void restart()
    {
        acme_client = make_client();
        account = open_account(*acme_client, store, key_type::ec_p256,
                               new_account_options{});
    }

    void set_now(std::int64_t seconds)
    {
        time.now_ = std::chrono::system_clock::from_time_t(
            static_cast<std::time_t>(seconds));
    }

    std::int64_t now() const
    {
        return std::chrono::system_clock::to_time_t(time.now_);
    }

    issue_request request() const
    {
        issue_request r;
        r.names = {name};
        return r;
    }

    std::optional<issued_certificate> renew(bool force,
                                            std::uint64_t random = 0)
    {
        return renew_certificate(*acme_client, store, request(), solver, force,
                                 random);
    }

    void window(std::int64_t start, std::int64_t end)
    {
        ca.renewal_info_body =
            "{\"suggestedWindow\":{\"start\":\"" + utc(start) +
            "\",\"end\":\"" + utc(end) +
            "\"},\"explanationURL\":\"https://ca.test/why\"}";
    }

    std::string last_order_payload() const
    {
        REQUIRE_FALSE(ca.order_payloads.empty());
        return ca.order_payloads.back();
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a first certificate is issued and stored, then "
                           "left alone until due")
{
    set_now(leaf_not_before + day);
    REQUIRE(renew(false));
    CHECK(ca.new_order_requests == 1);
    REQUIRE(load_certificate(store, crypto, name));

    // Without ARI: due when a third of the lifetime is left.
    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(plan.stored);
    CHECK_FALSE(plan.due);
    std::int64_t lifetime = leaf_not_after - leaf_not_before;
    CHECK(plan.renew_at == leaf_not_after - lifetime / 3);
    CHECK(plan.next_check == plan.renew_at);
    CHECK(plan.reason == "a third of the lifetime left");
    CHECK_FALSE(renew(false));
    CHECK(ca.new_order_requests == 1);

    set_now(plan.renew_at);
    CHECK(plan_renewal(*acme_client, store, name, 0).due);
    REQUIRE(renew(false));
    CHECK(ca.new_order_requests == 2);
}

TEST_CASE_FIXTURE(fixture, "the ARI window decides, at a random time in it")
{
    set_now(leaf_not_before + day);
    ca.offer_ari = true;
    restart();
    REQUIRE(renew(true));

    std::int64_t start = now() + 10 * day, end = now() + 12 * day;
    window(start, end);
    renewal_plan plan =
        plan_renewal(*acme_client, store, name, 0x8000000000000000u);
    CHECK_FALSE(plan.due);
    CHECK(plan.renew_at > start);
    CHECK(plan.renew_at < end);
    CHECK(plan.renew_at == start + (end - start + 1) / 2);
    CHECK(plan.explanation_url == "https://ca.test/why");
    CHECK(plan.reason.find(utc(start)) != std::string::npos);

    // The path names the stored leaf by its ARI identifier.
    auto stored = load_certificate(store, crypto, name);
    std::string id =
        ari_certificate_id(crypto.parse_chain(stored->chain_pem).front());
    CHECK(ca.renewal_info_ids.back() == id);
    CHECK(plan.ari_id == id);

    // The picked time stays put across checks of the same window.
    set_now(now() + 7 * 3600);
    CHECK(plan_renewal(*acme_client, store, name, 0).renew_at == plan.renew_at);

    set_now(plan.renew_at);
    CHECK(plan_renewal(*acme_client, store, name, 0).due);
}

TEST_CASE_FIXTURE(fixture, "Retry-After on renewalInfo sets the next check")
{
    set_now(leaf_not_before + day);
    ca.offer_ari = true;
    restart();
    REQUIRE(renew(true));
    window(now() + 30 * day, now() + 31 * day);
    ca.renewal_info_retry_after = "3600";

    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(ca.renewal_info_requests == 1);
    CHECK(plan.next_check == now() + 3600);

    // Asked again only once the hour is over, also after a restart.
    set_now(now() + 3599);
    restart();
    plan_renewal(*acme_client, store, name, 0);
    CHECK(ca.renewal_info_requests == 1);
    set_now(now() + 1);
    plan_renewal(*acme_client, store, name, 0);
    CHECK(ca.renewal_info_requests == 2);

    // A Retry-After of a year is cut to the longest recheck.
    ca.renewal_info_retry_after = "31536000";
    set_now(now() + 3600);
    plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(plan.state.next_check == now() + max_ari_recheck.count());
}

TEST_CASE_FIXTURE(fixture, "a broken renewalInfo falls back to the lifetime")
{
    set_now(leaf_not_before + day);
    ca.offer_ari = true;
    restart();
    REQUIRE(renew(true));
    ca.renewal_info_body = "{\"suggestedWindow\":{\"start\":\"soon\"}}";
    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    std::int64_t lifetime = leaf_not_after - leaf_not_before;
    CHECK(plan.renew_at == leaf_not_after - lifetime / 3);
    CHECK(plan.reason.find("renewalInfo unavailable") != std::string::npos);
    CHECK(plan.state.next_check == now() + ari_failure_recheck.count());
}

TEST_CASE_FIXTURE(fixture, "replaces is sent, and dropped once when refused")
{
    set_now(leaf_not_before + day);
    ca.offer_ari = true;
    restart();
    REQUIRE(renew(true));
    CHECK(last_order_payload().find("replaces") == std::string::npos);
    window(now() + 30 * day, now() + 31 * day);

    auto stored = load_certificate(store, crypto, name);
    std::string id =
        ari_certificate_id(crypto.parse_chain(stored->chain_pem).front());
    REQUIRE(renew(true));
    CHECK(last_order_payload().find("\"replaces\":\"" + id + "\"") !=
          std::string::npos);

    ca.reject_replaces = true;
    int before = ca.new_order_requests;
    REQUIRE(renew(true));
    CHECK(ca.new_order_requests == before + 2);
    CHECK(ca.order_payloads[ca.order_payloads.size() - 2].find("replaces") !=
          std::string::npos);
    CHECK(last_order_payload().find("replaces") == std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "profiles are offered, chosen and remembered")
{
    set_now(leaf_not_before + day);
    ca.profiles = {{"classic", "the default"}, {"shortlived", "six days"}};
    restart();
    const directory& dir = acme_client->get_directory();
    REQUIRE(dir.profiles.size() == 2);
    CHECK(dir.profiles[1].first == "shortlived");
    CHECK(dir.profiles[1].second == "six days");

    issue_request wanted = request();
    wanted.profile = "shortlived";
    REQUIRE(renew_certificate(*acme_client, store, wanted, solver, true, 0));
    CHECK(last_order_payload().find("\"profile\":\"shortlived\"") !=
          std::string::npos);

    // The next renewal asks for it again without being told.
    REQUIRE(renew(true));
    CHECK(last_order_payload().find("\"profile\":\"shortlived\"") !=
          std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "an unknown profile: default when preferred, "
                           "refused when required")
{
    ca.profiles = {{"classic", "the default"}};
    restart();
    issue_request wanted = request();
    wanted.profile = "tlsserver";
    issue_certificate(*acme_client, wanted, solver);
    CHECK(last_order_payload().find("profile") == std::string::npos);

    wanted.profile_required = true;
    int before = ca.new_order_requests;
    CHECK_THROWS_WITH_AS(issue_certificate(*acme_client, wanted, solver),
                         doctest::Contains("no profile \"tlsserver\""), error);
    CHECK(ca.new_order_requests == before);
}

TEST_CASE_FIXTURE(fixture, "an alternate chain is chosen by its issuer")
{
    ca.alternate_issuer = "Other Root";
    auto top_issuer = [&](const issued_certificate& cert) {
        return crypto.parse_chain(cert.chain_pem).back().issuer;
    };

    issue_request wanted = request();
    CHECK(top_issuer(issue_certificate(*acme_client, wanted, solver)) ==
          "CN=fake CA");
    wanted.preferred_chain = "Other Root";
    CHECK(top_issuer(issue_certificate(*acme_client, wanted, solver)) ==
          "CN=Other Root");
    wanted.preferred_chain = "Nobody";
    CHECK(top_issuer(issue_certificate(*acme_client, wanted, solver)) ==
          "CN=fake CA");
}

TEST_CASE_FIXTURE(fixture, "failed renewals back off, force retries at once")
{
    set_now(leaf_not_before + day);
    REQUIRE(renew(true));
    ca.fail_validation = true;

    CHECK_THROWS_AS(renew(true), error);
    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(plan.state.failures == 1);
    CHECK(plan.state.retry_at == now() + 60);
    CHECK(plan.reason.find("retrying after 1 failed") != std::string::npos);

    std::vector<std::int64_t> waits;
    for (int i = 0; i < 4; ++i) {
        set_now(plan.state.retry_at);
        CHECK_THROWS_AS(renew(true), error);
        plan = plan_renewal(*acme_client, store, name, 0);
        waits.push_back(plan.state.retry_at - now());
    }
    CHECK(waits == std::vector<std::int64_t>{600, 6000, 86400, 86400});

    ca.fail_validation = false;
    REQUIRE(renew(true));
    CHECK(plan_renewal(*acme_client, store, name, 0).state.failures == 0);
}

TEST_CASE_FIXTURE(fixture, "a stored certificate for other names is due")
{
    set_now(leaf_not_before + day);
    REQUIRE(renew(true));
    issue_request more = request();
    more.names.push_back("www.device.example.com");
    auto renewed =
        renew_certificate(*acme_client, store, more, solver, false, 0);
    REQUIRE(renewed);
    CHECK(crypto.parse_chain(renewed->chain_pem).front().dns_names.size() == 2);
}

TEST_CASE_FIXTURE(fixture, "the driver never sleeps and says what is next")
{
    issuance_driver driver(*acme_client, request(), {"http-01"});
    step_outcome first = driver.step();
    REQUIRE(first.what == next_step::solve);
    REQUIRE(first.solve.size() == 1);
    CHECK(driver.step().what == next_step::solve); // until presented

    driver.challenges_presented();
    step_outcome waiting = driver.step();
    CHECK(waiting.what == next_step::wait);
    CHECK(waiting.when == time.now_ + acme_client->policy().first_poll);
    CHECK(time.sleeps.empty());

    // Called early, it asks nothing and names the same time.
    std::size_t posts = ca.posted_urls.size();
    CHECK(driver.step().when == waiting.when);
    CHECK(ca.posted_urls.size() == posts);

    time.now_ = waiting.when;
    step_outcome released = driver.step();
    CHECK(released.release.size() == 1);
    step_outcome last = released;
    for (int i = 0; i < 10 && last.what != next_step::done; ++i) {
        if (last.what == next_step::wait && last.when > time.now_)
            time.now_ = last.when;
        last = driver.step();
    }
    REQUIRE(last.what == next_step::done);
    CHECK_FALSE(driver.take_certificate().chain_pem.empty());
    CHECK_THROWS_AS(driver.take_certificate(), error);
    CHECK(time.sleeps.empty());
}

TEST_CASE_FIXTURE(fixture, "an order cut short after the challenge is "
                           "resumed, not placed again")
{
    ca.pending_polls = 2; // still validating when the run is cut short
    std::string url;
    {
        issuance_driver driver(*acme_client, request(), {"http-01"}, &store);
        REQUIRE(driver.step().what == next_step::solve);
        driver.challenges_presented();
        REQUIRE(driver.step().what == next_step::wait);
        url = driver.order_url();
        CHECK_FALSE(driver.resumed());
    }
    CHECK(store.values.count("certificates/" + name + "/order.json") == 1);

    restart();
    solver.presented.clear();
    issued_certificate cert =
        issue_certificate(*acme_client, request(), solver, &store);
    CHECK(ca.new_order_requests == 1);
    CHECK(cert.order_url == url);
    CHECK(ca.challenge_answers == 1);
    CHECK(solver.presented.size() == 1); // served again, not answered again
    CHECK(store.values.count("certificates/" + name + "/order.json") == 0);
    CHECK(load_certificate(store, crypto, name));
}

TEST_CASE_FIXTURE(fixture, "an order cut short after finalize keeps its key")
{
    ca.processing_polls = 3;
    {
        issuance_driver driver(*acme_client, request(), {"http-01"}, &store);
        REQUIRE(driver.step().what == next_step::solve);
        driver.challenges_presented();
        step_outcome outcome = driver.step();
        for (int i = 0; i < 10 && ca.csr.empty(); ++i) {
            time.now_ = std::max(time.now_, outcome.when);
            outcome = driver.step();
        }
        REQUIRE_FALSE(ca.csr.empty());
    }
    auto stored_key = store.get("certificates/" + name + "/order.key");
    REQUIRE(stored_key);

    restart();
    issued_certificate cert =
        issue_certificate(*acme_client, request(), solver, &store);
    CHECK(ca.new_order_requests == 1);
    auto key = crypto.load_key_pem(stored_key->view());
    CHECK(crypto.parse_chain(cert.chain_pem).front().key == crypto.jwk(*key));
    CHECK_FALSE(store.get("certificates/" + name + "/order.key"));
}

TEST_CASE_FIXTURE(fixture, "a stored order the CA does not know, or junk, "
                           "gives a new order")
{
    SUBCASE("unknown order")
    {
        detail::save_order_state(store, name,
                                 {"https://ca.test/order/999", {name}});
    }
    SUBCASE("junk")
    {
        store.values["certificates/" + name + "/order.json"] = "{\"url\":";
    }
    SUBCASE("other names")
    {
        detail::save_order_state(store, name,
                                 {"https://ca.test/order/1", {"x.example"}});
    }
    issued_certificate cert =
        issue_certificate(*acme_client, request(), solver, &store);
    CHECK(ca.new_order_requests == 1);
    CHECK(cert.order_url == "https://ca.test/order/1");
    CHECK(store.values.count("certificates/" + name + "/order.json") == 0);
}

TEST_CASE_FIXTURE(fixture, "a failed order is forgotten")
{
    ca.fail_validation = true;
    CHECK_THROWS_AS(issue_certificate(*acme_client, request(), solver, &store),
                    error);
    CHECK(store.values.count("certificates/" + name + "/order.json") == 0);
    CHECK(solver.cleaned.size() == 1);
}

TEST_CASE("renewal backs off 1, 10 and 100 minutes, then daily")
{
    CHECK(renewal_backoff(1) == seconds(60));
    CHECK(renewal_backoff(2) == seconds(600));
    CHECK(renewal_backoff(3) == seconds(6000));
    CHECK(renewal_backoff(4) == seconds(86400));
    CHECK(renewal_backoff(50) == seconds(86400));
}

TEST_CASE_FIXTURE(fixture, "an unusable stored certificate is due, and "
                           "renewing replaces it")
{
    set_now(leaf_not_before + day);
    REQUIRE(renew(true));
    store.values["certificates/" + name + "/current"] = "g99";
    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(plan.due);
    CHECK(plan.reason.find("unusable") != std::string::npos);
    REQUIRE(renew(false));
    CHECK(load_certificate(store, crypto, name));
}

TEST_CASE_FIXTURE(fixture, "stored times cannot hold a renewal off forever")
{
    set_now(leaf_not_before + day);
    REQUIRE(renew(true));
    renewal_state state = load_renewal_state(store, name);
    state.failures = 1;
    state.retry_at = INT64_MAX;
    state.chosen_time = leaf_not_after + 1000 * day;
    state.next_check = INT64_MAX;
    save_renewal_state(store, name, state);

    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(plan.state.retry_at <= now() + 60);
    CHECK(plan.renew_at < leaf_not_after);
    set_now(leaf_not_after - day);
    CHECK(plan_renewal(*acme_client, store, name, 0).due);
}

TEST_CASE_FIXTURE(fixture, "what is remembered belongs to one certificate")
{
    set_now(leaf_not_before + day);
    REQUIRE(renew(true));
    renewal_state state = load_renewal_state(store, name);
    state.failures = 4;
    state.retry_at = now() + day;
    state.serial = "another";
    save_renewal_state(store, name, state);
    renewal_plan plan = plan_renewal(*acme_client, store, name, 0);
    CHECK(plan.state.failures == 0);
    CHECK(plan.reason == "a third of the lifetime left");
}
