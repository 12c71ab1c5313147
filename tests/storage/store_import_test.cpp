// store_import_test.cpp: pre-hashed passwords and bulk user import, for both backends:
// Store::hash_password, Store::import_users (one transaction, all or none, add_user's
// mailboxes); and the syntactic check is_argon2id_phc on each side of each of its bounds.
//
// Must never: depend on timing; share a store between test cases.
#include "storage/password.h"
#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

// n characters of canonical unpadded base64 (the last one leaves its unused bits zero).
std::string b64(std::size_t n) {
    static const std::string cycle = "Zm9vYmFyLzEr";
    std::string out;
    for (std::size_t i = 0; i + 1 < n; ++i) out += cycle[i % cycle.size()];
    if (n > 0) out += 'A';
    return out;
}

std::string phc(const std::string& m, const std::string& t, const std::string& p, const std::string& salt,
                const std::string& hash) {
    return "$argon2id$v=19$m=" + m + ",t=" + t + ",p=" + p + "$" + salt + "$" + hash;
}

std::string phc_sizes(std::size_t salt_chars, std::size_t hash_chars) {
    return phc("19456", "2", "1", b64(salt_chars), b64(hash_chars));
}

const std::string kGood = phc_sizes(22, 43);  // what hash_password makes: 16-byte salt, 32-byte hash

template <class B>
struct Fixture : BackendStore<B> {
    using BackendStore<B>::store;
    using BackendStore<B>::snapshot;

    Fixture() {
        REQUIRE(store->add_domain("example.com").ok());
        REQUIRE(store->add_domain("example.org").ok());
        REQUIRE(store->add_user("alice@example.com", "alice pw").ok());
        REQUIRE(store->add_alias("team@example.com", "alice@example.com").ok());
    }

    std::string hash(const std::string& password) {
        auto h = store->hash_password(password);
        REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.error().message));
        return *h;
    }

    std::vector<User> users() {
        auto u = store->list_users();
        REQUIRE(u.ok());
        return *u;
    }

    // import_users refuses `batch` with `code`, naming `address`, and writes nothing.
    void check_refused(const std::vector<UserImport>& batch, Errc code, const std::string& address) {
        std::string before = snapshot();
        auto listed = users();
        auto r = store->import_users(batch);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == code);
        CHECK_MESSAGE(r.error().message.find(address) != std::string::npos, r.error().message);
        CHECK(snapshot() == before);
        auto after = users();
        REQUIRE(after.size() == listed.size());
        for (std::size_t i = 0; i < after.size(); ++i) {
            CHECK(after[i].id == listed[i].id);
            CHECK(after[i].address == listed[i].address);
            CHECK(after[i].quota_bytes == listed[i].quota_bytes);
        }
    }
};

bool same_mailboxes(Store& store, UserId a, UserId b) {
    auto ma = store.list_mailboxes(a);
    auto mb = store.list_mailboxes(b);
    REQUIRE(ma.ok());
    REQUIRE(mb.ok());
    if (ma->size() != mb->size()) return false;
    for (std::size_t i = 0; i < ma->size(); ++i) {
        const auto& x = (*ma)[i];
        const auto& y = (*mb)[i];
        if (x.name != y.name || x.special_use != y.special_use || x.subscribed != y.subscribed ||
            x.uidnext != y.uidnext || x.highestmodseq != y.highestmodseq)
            return false;
    }
    auto sa = store.list_subscriptions(a);
    auto sb = store.list_subscriptions(b);
    REQUIRE(sa.ok());
    REQUIRE(sb.ok());
    return *sa == *sb;
}

}  // namespace

// ---- is_argon2id_phc ------------------------------------------------------------------

TEST_CASE("is_argon2id_phc: what hash_password makes, at any cost, is accepted") {
    CHECK(is_argon2id_phc(kGood));
    auto cheap = hash_password("pw", PasswordCost{8, 1, 1});
    REQUIRE(cheap.ok());
    CHECK(is_argon2id_phc(*cheap));
    auto production = hash_password("pw", PasswordCost{});
    REQUIRE(production.ok());
    CHECK(is_argon2id_phc(*production));
    auto lanes = hash_password("pw", PasswordCost{64, 1, 4});
    REQUIRE(lanes.ok());
    CHECK(is_argon2id_phc(*lanes));
    // Dovecot's `doveadm pw -s ARGON2ID` (libsodium), without its {ARGON2ID} prefix.
    CHECK(
        is_argon2id_phc("$argon2id$v=19$m=65536,t=3,p=1$EhJTNd9YIIIxJLCpOFIrdQ$"
                        "P8HHTuoLuLrl+wpaIvMknqYTMQo/8ITmLxfy5yfgfX8"));
}

TEST_CASE("is_argon2id_phc: p from 1 to 16") {
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "0", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("19456", "2", "1", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("19456", "2", "16", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "17", b64(22), b64(43))));
}

TEST_CASE("is_argon2id_phc: t from 1 to 64") {
    CHECK_FALSE(is_argon2id_phc(phc("19456", "0", "1", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("19456", "1", "1", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("19456", "64", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "65", "1", b64(22), b64(43))));
}

TEST_CASE("is_argon2id_phc: m from 8*p to 4194304 KiB") {
    CHECK_FALSE(is_argon2id_phc(phc("7", "2", "1", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("8", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("127", "2", "16", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("128", "2", "16", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("31", "2", "4", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("32", "2", "4", b64(22), b64(43))));
    CHECK(is_argon2id_phc(phc("4194304", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("4194305", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("0", "2", "1", b64(22), b64(43))));
    // Far too large numbers do not wrap around.
    CHECK_FALSE(is_argon2id_phc(phc("4294967304", "2", "1", b64(22), b64(43))));            // 2^32 + 8
    CHECK_FALSE(is_argon2id_phc(phc("18446744073709551624", "2", "1", b64(22), b64(43))));  // 2^64 + 8
    CHECK_FALSE(is_argon2id_phc(phc("19456", "4294967298", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "4294967297", b64(22), b64(43))));
}

TEST_CASE("is_argon2id_phc: decimal numbers without leading zeros or signs") {
    CHECK_FALSE(is_argon2id_phc(phc("019456", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "02", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "01", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "00", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("+19456", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "-2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc(" 19456", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456 ", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("0x4c00", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("", "2", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "", "1", b64(22), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "", b64(22), b64(43))));
}

TEST_CASE("is_argon2id_phc: salt 11 to 88 characters, hash 22 to 128") {
    CHECK_FALSE(is_argon2id_phc(phc_sizes(10, 43)));
    CHECK(is_argon2id_phc(phc_sizes(11, 43)));
    CHECK(is_argon2id_phc(phc_sizes(88, 43)));
    CHECK_FALSE(is_argon2id_phc(phc_sizes(89, 43)));
    CHECK_FALSE(is_argon2id_phc(phc_sizes(0, 43)));
    CHECK_FALSE(is_argon2id_phc(phc_sizes(22, 21)));
    CHECK(is_argon2id_phc(phc_sizes(22, 22)));
    CHECK(is_argon2id_phc(phc_sizes(22, 128)));
    CHECK_FALSE(is_argon2id_phc(phc_sizes(22, 129)));
    CHECK_FALSE(is_argon2id_phc(phc_sizes(22, 0)));
    // The longest string within every bound (252 bytes) passes; past 300 bytes nothing does.
    std::string longest = phc("4194304", "64", "16", b64(88), b64(128));
    CHECK(longest.size() == 252);
    CHECK(is_argon2id_phc(longest));
    CHECK_FALSE(is_argon2id_phc(longest + std::string(49, 'A')));  // 301 bytes
    CHECK_FALSE(is_argon2id_phc(std::string(kMaxPhcLength + 1, '$')));
}

TEST_CASE("is_argon2id_phc: canonical unpadded standard base64 only") {
    // A length of 4k+1 encodes no whole byte.
    CHECK_FALSE(is_argon2id_phc(phc_sizes(13, 43)));
    CHECK(is_argon2id_phc(phc_sizes(12, 43)));
    CHECK(is_argon2id_phc(phc_sizes(14, 43)));
    CHECK_FALSE(is_argon2id_phc(phc_sizes(22, 41)));
    CHECK(is_argon2id_phc(phc_sizes(22, 44)));
    // Unused low bits of the last character must be zero (2 bits for 3 chars, 4 for 2).
    std::string salt = b64(22);
    CHECK(is_argon2id_phc(phc("19456", "2", "1", salt.substr(0, 21) + "Q", b64(43))));        // 010000
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", salt.substr(0, 21) + "B", b64(43))));  // 000001
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", salt.substr(0, 21) + "I", b64(43))));  // 001000
    std::string hash = b64(43);
    CHECK(is_argon2id_phc(phc("19456", "2", "1", b64(22), hash.substr(0, 42) + "E")));        // 000100
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", b64(22), hash.substr(0, 42) + "C")));  // 000010
    // Padding, the URL-safe alphabet, spaces, NUL.
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", b64(22) + "==", b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", b64(22), b64(43) + "=")));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", "-" + b64(21), b64(43))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", b64(22), "_" + b64(42))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", b64(22), b64(20) + " " + b64(22))));
    CHECK_FALSE(is_argon2id_phc(phc("19456", "2", "1", b64(22), b64(20) + std::string(1, '\0') + b64(22))));
}

TEST_CASE("is_argon2id_phc: malformed shapes") {
    const std::string s = b64(22), h = b64(43);
    for (const std::string& bad : {
             std::string(),
             std::string("$argon2id$"),
             "$argon2i$v=19$m=19456,t=2,p=1$" + s + "$" + h,
             "$argon2d$v=19$m=19456,t=2,p=1$" + s + "$" + h,
             "$ARGON2ID$v=19$m=19456,t=2,p=1$" + s + "$" + h,
             "{ARGON2ID}" + kGood,
             "argon2id$v=19$m=19456,t=2,p=1$" + s + "$" + h,
             " " + kGood,
             kGood + " ",
             kGood + "\n",
             kGood + "$",
             kGood + "$" + h,
             "$argon2id$m=19456,t=2,p=1$" + s + "$" + h,  // no version (argon2 1.0)
             "$argon2id$v=16$m=19456,t=2,p=1$" + s + "$" + h,
             "$argon2id$v=190$m=19456,t=2,p=1$" + s + "$" + h,
             "$argon2id$v=19$t=2,m=19456,p=1$" + s + "$" + h,  // parameters out of order
             "$argon2id$v=19$m=19456,p=1,t=2$" + s + "$" + h,
             "$argon2id$v=19$m=19456,t=2$" + s + "$" + h,
             "$argon2id$v=19$m=19456,t=2,p=1,keyid=x$" + s + "$" + h,
             "$argon2id$v=19$m=19456;t=2;p=1$" + s + "$" + h,
             "$argon2id$v=19$m=19456,t=2,p=1$" + s,  // no hash
             "$argon2id$v=19$m=19456,t=2,p=1$" + s + "$",
             "$argon2id$v=19$m=19456,t=2,p=1$$" + h,  // no salt
             "$argon2id$v=19$m=19456,t=2,p=1" + s + "$" + h,
             "$argon2id$$v=19$m=19456,t=2,p=1$" + s + "$" + h,
         })
        CHECK_MESSAGE(!is_argon2id_phc(bad), bad);
}

// ---- hash_password ---------------------------------------------------------------------

TEST_CASE_TEMPLATE("hash_password: the store's cost, add_user's password rules", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto h = f.store->hash_password("s3cret");
    REQUIRE(h.ok());
    CHECK(is_argon2id_phc(*h));
    CHECK(h->rfind("$argon2id$v=19$m=256,t=1,p=1$", 0) == 0);  // test_options' cost
    CHECK(verify_password("s3cret", *h));
    CHECK_FALSE(verify_password("s3creT", *h));
    CHECK(*f.store->hash_password("s3cret") != *h);  // a fresh salt each time

    auto empty = f.store->hash_password("");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == Errc::invalid_argument);
    auto nul = f.store->hash_password(std::string_view("a\0b", 3));
    REQUIRE_FALSE(nul.ok());
    CHECK(nul.error().code == Errc::invalid_argument);
    CHECK(f.store->hash_password(std::string(kMaxPasswordLength, 'x')).ok());
    auto longer = f.store->hash_password(std::string(kMaxPasswordLength + 1, 'x'));
    REQUIRE_FALSE(longer.ok());
    CHECK(longer.error().code == Errc::limit_exceeded);

    // Without a store: the same cost from the same options.
    StoreOptions options = test_options(f.path);
    auto free_hash = hash_password("s3cret", options);
    REQUIRE(free_hash.ok());
    CHECK(free_hash->rfind("$argon2id$v=19$m=256,t=1,p=1$", 0) == 0);
    CHECK_FALSE(hash_password("", options).ok());
    auto production = hash_password("s3cret", StoreOptions{});
    REQUIRE(production.ok());
    CHECK(production->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
}

// ---- import_users ----------------------------------------------------------------------

TEST_CASE_TEMPLATE("import_users: every user can log in with the original password and has add_user's mailboxes", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    // A hash made at another cost (the production one) verifies as well: the cost is in it.
    auto production = hash_password("carol pw", StoreOptions{});
    REQUIRE(production.ok());
    std::vector<UserImport> batch = {
        {"Bob@Example.COM", f.hash("bob pw"), 0},
        {"carol@example.org", *production, 2u << 20},
        {"dave@example.com", f.hash("dave pw"), 0},
    };
    StoreOptions with_default = test_options(f.path);
    auto added = f.store->import_users(batch);
    REQUIRE_MESSAGE(added.ok(), (added.ok() ? "" : added.error().message));
    REQUIRE(added->size() == 3);
    CHECK((*added)[0].address == "bob@example.com");
    CHECK((*added)[1].address == "carol@example.org");
    CHECK((*added)[2].address == "dave@example.com");
    CHECK((*added)[1].quota_bytes == 2u << 20);
    CHECK((*added)[0].quota_bytes == with_default.default_quota);

    const char* passwords[] = {"bob pw", "carol pw", "dave pw"};
    for (std::size_t i = 0; i < added->size(); ++i) {
        const User& u = (*added)[i];
        auto found = f.store->find_user(u.address);
        REQUIRE(found.ok());
        CHECK(found->id == u.id);
        CHECK(found->quota_bytes == u.quota_bytes);
        auto auth = authenticate(*f.store, u.address, passwords[i]);
        REQUIRE_MESSAGE(auth.ok(), u.address);
        CHECK(auth->id == u.id);
        auto wrong = authenticate(*f.store, u.address, "alice pw");
        REQUIRE_FALSE(wrong.ok());
        CHECK(wrong.error().code == Errc::auth_failed);
    }
    auto alice = f.store->find_user("alice@example.com");
    REQUIRE(alice.ok());
    for (const User& u : *added) CHECK_MESSAGE(same_mailboxes(*f.store, alice->id, u.id), u.address);
    CHECK(authenticate(*f.store, "alice@example.com", "alice pw").ok());

    auto stats = f.store->stats();
    REQUIRE(stats.ok());
    CHECK(stats->users == 4);
    CHECK(stats->mailboxes == 20);

    // Imported users are ordinary users: aliases, delivery, removal.
    CHECK(f.store->add_alias("team@example.com", "bob@example.com").ok());
    std::string raw = test_message("imported");
    UserId to[] = {(*added)[0].id};
    CHECK(f.store->deliver(raw, to, at(1700000000)).ok());
    CHECK(f.store->remove_user("dave@example.com").ok());
}

TEST_CASE_TEMPLATE("import_users: many users in one call, an empty list writes nothing", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string before = f.snapshot();
    auto none = f.store->import_users({});
    REQUIRE(none.ok());
    CHECK(none->empty());
    CHECK(f.snapshot() == before);

    std::string shared = f.hash("shared pw");
    std::vector<UserImport> batch;
    for (int i = 0; i < 300; ++i) batch.push_back({"user" + std::to_string(i) + "@example.org", shared, 0});
    auto added = f.store->import_users(batch);
    REQUIRE(added.ok());
    CHECK(added->size() == 300);
    auto listed = f.store->list_users("example.org");
    REQUIRE(listed.ok());
    CHECK(listed->size() == 300);
    CHECK(authenticate(*f.store, "user299@example.org", "shared pw").ok());
    CHECK(authenticate(*f.store, "user0@example.org", "shared pw").ok());
}

TEST_CASE_TEMPLATE("import_users: all or none", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string good = f.hash("pw");
    auto batch_with = [&](UserImport bad) {
        return std::vector<UserImport>{
            {"one@example.com", good, 0}, {"two@example.com", good, 0}, std::move(bad), {"four@example.com", good, 0}};
    };
    SUBCASE("a hash that is not an argon2id PHC string") {
        f.check_refused(batch_with({"three@example.com", "{ARGON2ID}" + good, 0}), Errc::invalid_argument,
                        "three@example.com");
        f.check_refused(batch_with({"three@example.com", good.substr(0, good.size() - 1) + "$", 0}),
                        Errc::invalid_argument, "three@example.com");
        f.check_refused(batch_with({"three@example.com", "", 0}), Errc::invalid_argument, "three@example.com");
        f.check_refused(batch_with({"three@example.com", "secret", 0}), Errc::invalid_argument, "three@example.com");
    }
    SUBCASE("a malformed address") {
        f.check_refused(batch_with({"three..x@example.com", good, 0}), Errc::invalid_argument, "three..x@example.com");
        f.check_refused(batch_with({"three", good, 0}), Errc::invalid_argument, "three");
    }
    SUBCASE("an address twice in the batch, in any case") {
        f.check_refused(batch_with({"TWO@example.com", good, 0}), Errc::invalid_argument, "two@example.com");
    }
    SUBCASE("an existing user") {
        f.check_refused(batch_with({"Alice@example.com", good, 0}), Errc::already_exists, "alice@example.com");
    }
    SUBCASE("an existing alias") {
        f.check_refused(batch_with({"team@example.com", good, 0}), Errc::already_exists, "team@example.com");
    }
    SUBCASE("a domain that is not local") {
        f.check_refused(batch_with({"three@example.net", good, 0}), Errc::not_found, "three@example.net");
    }
    // Nothing of the refused batches is left behind: the good addresses still import.
    auto added = f.store->import_users(batch_with({"three@example.com", good, 0}));
    REQUIRE(added.ok());
    CHECK(added->size() == 4);
    CHECK(authenticate(*f.store, "three@example.com", "pw").ok());
}

TEST_CASE_TEMPLATE("add_user: an unknown domain still says which address and what to do", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string before = f.snapshot();
    auto r = f.store->add_user("carol@example.net", "pw");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::not_found);
    CHECK(r.error().message.find("carol@example.net") != std::string::npos);
    CHECK(r.error().message.find("mailctl domain add") != std::string::npos);
    CHECK(f.snapshot() == before);
}
