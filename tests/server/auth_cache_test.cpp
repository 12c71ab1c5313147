// auth_cache_test.cpp: the authentication cache remembers a verified password as a keyed hash,
// only for the same address, password and stored hash, only within its ttl, and bounded.
#include "common/server/auth_cache.h"

#include <doctest/doctest.h>

using hikyaku::server::AuthCache;
using namespace std::chrono_literals;

namespace {
const AuthCache::Clock::time_point t0{};
}

TEST_CASE("a remembered password is recognised for the same address and stored hash") {
    AuthCache cache(300s, 100);
    REQUIRE(cache.enabled());
    CHECK_FALSE(cache.remembers("alice@example.org", "secret", "$argon2id$h1", t0));
    cache.remember("alice@example.org", "secret", "$argon2id$h1", t0);
    CHECK(cache.remembers("alice@example.org", "secret", "$argon2id$h1", t0 + 10s));
    CHECK_FALSE(cache.remembers("alice@example.org", "Secret", "$argon2id$h1", t0 + 10s));
    CHECK_FALSE(cache.remembers("bob@example.org", "secret", "$argon2id$h1", t0 + 10s));
}

TEST_CASE("a password change (a new stored hash) misses the cache") {
    AuthCache cache(300s, 100);
    cache.remember("alice@example.org", "old", "$argon2id$h1", t0);
    CHECK_FALSE(cache.remembers("alice@example.org", "old", "$argon2id$h2", t0 + 1s));
}

TEST_CASE("fields cannot be shifted into each other") {
    AuthCache cache(300s, 100);
    cache.remember("a@b.c", "pw", "hash", t0);
    CHECK_FALSE(cache.remembers("a@b.cp", "w", "hash", t0));
    CHECK_FALSE(cache.remembers("a@b.c", "pwh", "ash", t0));
}

TEST_CASE("entries expire after the ttl") {
    AuthCache cache(300s, 100);
    cache.remember("alice@example.org", "secret", "h", t0);
    CHECK(cache.remembers("alice@example.org", "secret", "h", t0 + 299s));
    CHECK_FALSE(cache.remembers("alice@example.org", "secret", "h", t0 + 300s));
    CHECK(cache.size() == 0);
}

TEST_CASE("the table is bounded: the entry expiring first goes first") {
    AuthCache cache(300s, 3);
    for (int i = 0; i < 3; ++i)
        cache.remember("u" + std::to_string(i) + "@x.org", "pw", "h", t0 + std::chrono::seconds(i));
    CHECK(cache.size() == 3);
    cache.remember("u3@x.org", "pw", "h", t0 + 3s);
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.remembers("u0@x.org", "pw", "h", t0 + 4s));
    CHECK(cache.remembers("u1@x.org", "pw", "h", t0 + 4s));
    CHECK(cache.remembers("u3@x.org", "pw", "h", t0 + 4s));
}

TEST_CASE("remembering the same login again renews it without a second entry") {
    AuthCache cache(300s, 3);
    cache.remember("alice@example.org", "secret", "h", t0);
    cache.remember("alice@example.org", "secret", "h", t0 + 200s);
    CHECK(cache.size() == 1);
    CHECK(cache.remembers("alice@example.org", "secret", "h", t0 + 400s));
}

TEST_CASE("a ttl of 0 turns the cache off") {
    AuthCache cache(0s, 100);
    CHECK_FALSE(cache.enabled());
    cache.remember("alice@example.org", "secret", "h", t0);
    CHECK_FALSE(cache.remembers("alice@example.org", "secret", "h", t0));
    CHECK(cache.size() == 0);
}
