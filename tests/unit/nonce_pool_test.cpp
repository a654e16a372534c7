#include <doctest/doctest.h>

#include "detail/nonce_pool.hpp"

using acme::detail::nonce_pool;

namespace {
acme::http_response with_nonce(const std::string& nonce)
{
    acme::http_response r;
    r.headers.push_back({"replay-nonce", nonce});
    return r;
}
} // namespace

TEST_CASE("the pool hands out the newest nonce once")
{
    nonce_pool pool;
    CHECK_FALSE(pool.take());
    pool.add_from(with_nonce("first"));
    pool.add_from(with_nonce("second"));
    CHECK(pool.take() == "second");
    CHECK(pool.take() == "first");
    CHECK_FALSE(pool.take());
}

TEST_CASE("malformed nonces are dropped")
{
    nonce_pool pool;
    pool.add_from(with_nonce(""));
    pool.add_from(with_nonce("has space"));
    pool.add_from(with_nonce("semi;colon"));
    pool.add_from(with_nonce(std::string(600, 'a')));
    pool.add_from(acme::http_response{});
    CHECK(pool.size() == 0);
}

TEST_CASE("the pool keeps a bounded number of nonces")
{
    nonce_pool pool;
    for (int i = 0; i < 20; ++i)
        pool.add_from(with_nonce("n" + std::to_string(i)));
    CHECK(pool.size() == nonce_pool::capacity);
    CHECK(pool.take() == "n19");
}
