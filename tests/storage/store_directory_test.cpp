// store_directory_test.cpp: the store's directory side: schema and migrations (SQLite),
// then for both backends domains, users, passwords, aliases, recipient resolution; and name
// validation. Every refused call must leave the store unchanged (snapshot() before and
// after: the roles' view, and for SQLite the file byte for byte).
//
// Must never: depend on timing; share a store between test cases.
#include <sqlite3.h>

#include "tests/storage/store_test_support.h"

using namespace hikyaku;
using namespace hikyaku::storage;
using namespace hikyaku::storage::test;

namespace {

template <class B>
struct Fixture : BackendStore<B> {
    User alice;

    Fixture() {
        REQUIRE(this->store->add_domain("example.com").ok());
        auto u = this->store->add_user("alice@example.com", "correct horse");
        REQUIRE(u.ok());
        alice = *u;
    }
};

void set_user_version(const std::string& path, int version) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, ("PRAGMA user_version=" + std::to_string(version)).c_str(), nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
}

}  // namespace

TEST_CASE("a store that does not exist is not created unless asked") {
    TempDir dir;
    StoreOptions options = test_options(dir.file("none.db"));
    options.create = false;
    auto store = open_store(options);
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code == Errc::not_found);
    CHECK(store.error().message.find("mailctl init") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("none.db")));
}

TEST_CASE("schema: a new store is at the current version; a newer one is refused clearly") {
    TempDir dir;
    std::string path = dir.file("mail.db");
    int version = 0;
    {
        auto store = open_test_store(path);
        auto stats = store->stats();
        REQUIRE(stats.ok());
        version = stats->schema_version;
        CHECK(version >= 1);
    }
    // Reopening an up-to-date store changes nothing.
    std::string before = dump_store(path);
    { auto store = open_test_store(path); }
    CHECK(dump_store(path) == before);

    set_user_version(path, version + 1);
    auto newer = open_store(test_options(path));
    REQUIRE_FALSE(newer.ok());
    CHECK(newer.error().code == Errc::unsupported);
    CHECK(newer.error().message.find("newer") != std::string::npos);
    CHECK(newer.error().message.find("upgrade hikyaku") != std::string::npos);
}

TEST_CASE("schema: an older store (here version 0, an empty database) is upgraded on open") {
    TempDir dir;
    std::string path = dir.file("old.db");
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "PRAGMA user_version=0; VACUUM;", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    StoreOptions options = test_options(path);
    options.create = false;  // a daemon opening an existing store
    auto store = open_store(options);
    REQUIRE(store.ok());
    CHECK((*store)->stats()->schema_version >= 1);
    CHECK((*store)->add_domain("example.com").ok());
}

TEST_CASE("schema: a file that is not a store is refused") {
    TempDir dir;
    std::string path = dir.file("junk.db");
    {
        FILE* f = std::fopen(path.c_str(), "w");
        std::fputs("this is not an SQLite database, just some text that is long enough to look like a header\n", f);
        std::fclose(f);
    }
    auto store = open_store(test_options(path));
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().message.find("not a store") != std::string::npos);
}

TEST_CASE_TEMPLATE("domains: add, list, duplicate, invalid, remove only when empty", B, STORE_BACKENDS) {
    Fixture<B> f;
    CHECK(f.store->add_domain("Example.ORG").ok());  // stored lower case
    auto domains = f.store->list_domains();
    REQUIRE(domains.ok());
    CHECK(*domains == std::vector<std::string>{"example.com", "example.org"});
    CHECK(*f.store->is_local_domain("EXAMPLE.org"));
    CHECK_FALSE(*f.store->is_local_domain("example.net"));
    CHECK_FALSE(*f.store->is_local_domain("bad..domain"));

    std::string before = f.snapshot();
    auto dup = f.store->add_domain("example.com");
    CHECK(dup.error().code == Errc::already_exists);
    for (const char* bad : {"", "exa mple.com", "-example.com", "example..com", "example.com.", "ex_ample.com",
                            "a\x01"
                            "b.com"}) {
        auto s = f.store->add_domain(bad);
        CHECK_MESSAGE(s.error().code == Errc::invalid_argument, bad);
    }
    CHECK(f.store->add_domain(std::string(64, 'a') + ".com").error().code == Errc::invalid_argument);
    CHECK(f.store->add_domain(std::string(250, 'a') + ".com").error().code == Errc::invalid_argument);
    auto busy = f.store->remove_domain("example.com");
    CHECK(busy.error().code == Errc::invalid_argument);
    CHECK(busy.error().message.find("1 user") != std::string::npos);
    CHECK(f.store->remove_domain("example.net").error().code == Errc::not_found);
    CHECK(f.snapshot() == before);

    CHECK(f.store->remove_domain("example.org").ok());
    CHECK(*f.store->list_domains() == std::vector<std::string>{"example.com"});
}

TEST_CASE_TEMPLATE("users: add creates the special mailboxes; find, list, quota, remove", B, STORE_BACKENDS) {
    Fixture<B> f;
    CHECK(f.alice.address == "alice@example.com");
    auto boxes = f.store->list_mailboxes(f.alice.id);
    REQUIRE(boxes.ok());
    std::vector<std::pair<std::string, SpecialUse>> names;
    for (const auto& b : *boxes) {
        names.emplace_back(b.name, b.special_use);
        CHECK(b.subscribed);
        CHECK(b.uidnext == 1);
        CHECK(b.uidvalidity > 0);
    }
    CHECK(names == std::vector<std::pair<std::string, SpecialUse>>{{"Drafts", SpecialUse::drafts},
                                                                   {"INBOX", SpecialUse::none},
                                                                   {"Junk", SpecialUse::junk},
                                                                   {"Sent", SpecialUse::sent},
                                                                   {"Trash", SpecialUse::trash}});
    CHECK(special_use_attribute(SpecialUse::junk) == "\\Junk");
    // UIDVALIDITY differs between mailboxes (strictly increasing counter).
    for (std::size_t i = 1; i < boxes->size(); ++i) CHECK((*boxes)[i].uidvalidity != (*boxes)[i - 1].uidvalidity);

    auto bob = f.store->add_user("Bob@Example.com", "pw-bob", 5000);
    REQUIRE(bob.ok());
    CHECK(bob->address == "bob@example.com");
    CHECK(bob->quota_bytes == 5000);
    CHECK(f.store->find_user("BOB@example.com")->id == bob->id);
    auto users = f.store->list_users();
    REQUIRE(users.ok());
    REQUIRE(users->size() == 2);
    CHECK((*users)[0].address == "alice@example.com");
    CHECK(f.store->list_users("example.com")->size() == 2);
    CHECK(f.store->list_users("nowhere.example").error().code == Errc::not_found);

    CHECK(f.store->set_quota("bob@example.com", 777).ok());
    CHECK(f.store->quota_usage(bob->id)->limit_bytes == 777);
    CHECK(f.store->set_quota("nobody@example.com", 1).error().code == Errc::not_found);

    CHECK(f.store->remove_user("bob@example.com").ok());
    CHECK(f.store->find_user("bob@example.com").error().code == Errc::not_found);
    CHECK(f.store->list_mailboxes(bob->id).error().code == Errc::not_found);
    CHECK(f.store->remove_user("bob@example.com").error().code == Errc::not_found);
}

TEST_CASE_TEMPLATE("users: the default quota applies when none is given", B, STORE_BACKENDS) {
    StoreOptions options = test_options("");
    options.default_quota = 123456;
    BackendStore<B> opened(options);
    auto& store = opened.store;
    REQUIRE(store->add_domain("example.com").ok());
    auto u = store->add_user("carol@example.com", "pw");
    REQUIRE(u.ok());
    CHECK(u->quota_bytes == 123456);
    CHECK(store->add_user("dave@example.com", "pw", 10)->quota_bytes == 10);
}

TEST_CASE_TEMPLATE("users: bad input is refused and leaves the store unchanged", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string before = f.snapshot();
    struct Case {
        const char* address;
        const char* password;
        Errc code;
    } cases[] = {
        {"alice@example.com", "other", Errc::already_exists}, {"ALICE@example.com", "other", Errc::already_exists},
        {"someone@example.net", "pw", Errc::not_found},  // domain not local
        {"no-at-sign", "pw", Errc::invalid_argument},         {"@example.com", "pw", Errc::invalid_argument},
        {"a..b@example.com", "pw", Errc::invalid_argument},   {".a@example.com", "pw", Errc::invalid_argument},
        {"a b@example.com", "pw", Errc::invalid_argument},    {"a\"b@example.com", "pw", Errc::invalid_argument},
        {"a@b@example.com", "pw", Errc::invalid_argument},    {"x@", "pw", Errc::invalid_argument},
        {"good@example.com", "", Errc::invalid_argument},
    };
    for (const auto& c : cases) {
        auto r = f.store->add_user(c.address, c.password);
        REQUIRE_MESSAGE(!r.ok(), c.address);
        CHECK_MESSAGE(r.error().code == c.code, c.address, " -> ", r.error().message);
        CHECK_FALSE(r.error().message.empty());
    }
    CHECK(f.store->add_user(std::string(65, 'a') + "@example.com", "pw").error().code == Errc::invalid_argument);
    CHECK(f.store->add_user("nul\0x@example.com", "pw").error().code == Errc::invalid_argument);
    CHECK(f.store->add_user(std::string_view("nul\0x@example.com", 17), "pw").error().code == Errc::invalid_argument);
    CHECK(f.store->add_user("long@example.com", std::string(kMaxPasswordLength + 1, 'p')).error().code ==
          Errc::limit_exceeded);
    CHECK(f.store->add_user("nulpw@example.com", std::string_view("a\0b", 3)).error().code == Errc::invalid_argument);
    CHECK(f.store->remove_user("ghost@example.com").error().code == Errc::not_found);
    CHECK(f.store->set_password("ghost@example.com", "pw").error().code == Errc::not_found);
    CHECK(f.snapshot() == before);
}

TEST_CASE_TEMPLATE("authenticate: right password, wrong password, unknown user all answer alike", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto ok = authenticate(*f.store, "Alice@Example.com", "correct horse");
    REQUIRE(ok.ok());
    CHECK(ok->id == f.alice.id);
    auto wrong = authenticate(*f.store, "alice@example.com", "wrong horse");
    auto unknown = authenticate(*f.store, "mallory@example.com", "correct horse");
    auto malformed = authenticate(*f.store, "not an address", "x");
    REQUIRE_FALSE(wrong.ok());
    REQUIRE_FALSE(unknown.ok());
    REQUIRE_FALSE(malformed.ok());
    CHECK(wrong.error().code == Errc::auth_failed);
    CHECK(unknown.error().code == Errc::auth_failed);
    CHECK(malformed.error().code == Errc::auth_failed);
    CHECK(wrong.error().message == unknown.error().message);
    CHECK(unknown.error().message == malformed.error().message);

    CHECK(f.store->set_password("alice@example.com", "battery staple").ok());
    CHECK_FALSE(authenticate(*f.store, "alice@example.com", "correct horse").ok());
    CHECK(authenticate(*f.store, "alice@example.com", "battery staple").ok());
}

TEST_CASE_TEMPLATE("passwords are stored as argon2id hashes, never in clear", B, STORE_BACKENDS) {
    Fixture<B> f;
    std::string dump = f.snapshot();
    CHECK(dump.find("correct horse") == std::string::npos);
    CHECK(dump.find("$argon2id$v=19$") != std::string::npos);
}

TEST_CASE_TEMPLATE("aliases: expand to users, list, duplicates, removal, sender addresses", B, STORE_BACKENDS) {
    Fixture<B> f;
    auto bob = f.store->add_user("bob@example.com", "pw");
    REQUIRE(bob.ok());
    CHECK(f.store->add_alias("team@example.com", "alice@example.com").ok());
    CHECK(f.store->add_alias("Team@example.com", "bob@example.com").ok());
    CHECK(f.store->add_alias("postmaster@example.com", "alice@example.com").ok());

    auto team = f.store->resolve_recipient("TEAM@example.com");
    REQUIRE(team.ok());
    REQUIRE(team->size() == 2);
    CHECK((*team)[0].id == f.alice.id);
    CHECK((*team)[1].id == bob->id);
    auto direct = f.store->resolve_recipient("bob@example.com");
    REQUIRE(direct.ok());
    REQUIRE(direct->size() == 1);
    CHECK(direct->front().id == bob->id);
    CHECK(f.store->resolve_recipient("nobody@example.com").error().code == Errc::not_found);
    CHECK(f.store->resolve_recipient("bob@example.net").error().code == Errc::not_found);
    CHECK(f.store->resolve_recipient("bob@@example.com").error().code == Errc::invalid_argument);

    auto addresses = f.store->addresses_of(f.alice.id);
    REQUIRE(addresses.ok());
    CHECK(*addresses == std::vector<std::string>{"alice@example.com", "postmaster@example.com", "team@example.com"});
    CHECK(f.store->addresses_of(999999).error().code == Errc::not_found);

    auto aliases = f.store->list_aliases();
    REQUIRE(aliases.ok());
    REQUIRE(aliases->size() == 2);
    CHECK((*aliases)[1].address == "team@example.com");
    CHECK((*aliases)[1].targets == std::vector<std::string>{"alice@example.com", "bob@example.com"});

    std::string before = f.snapshot();
    CHECK(f.store->add_alias("team@example.com", "bob@example.com").error().code == Errc::already_exists);
    CHECK(f.store->add_alias("bob@example.com", "alice@example.com").error().code == Errc::already_exists);
    CHECK(f.store->add_alias("x@example.net", "alice@example.com").error().code == Errc::not_found);
    CHECK(f.store->add_alias("x@example.com", "ghost@example.com").error().code == Errc::not_found);
    CHECK(f.store->add_alias("x y@example.com", "alice@example.com").error().code == Errc::invalid_argument);
    CHECK(f.store->add_user("team@example.com", "pw").error().code == Errc::already_exists);
    CHECK(f.store->remove_alias("none@example.com").error().code == Errc::not_found);
    CHECK(f.store->remove_domain("example.com").error().code == Errc::invalid_argument);
    CHECK(f.snapshot() == before);

    CHECK(f.store->remove_alias("team@example.com", "bob@example.com").ok());
    CHECK(f.store->resolve_recipient("team@example.com")->size() == 1);
    CHECK(f.store->remove_alias("team@example.com").ok());
    CHECK(f.store->resolve_recipient("team@example.com").error().code == Errc::not_found);
    // Removing a user removes the aliases that pointed at them.
    CHECK(f.store->remove_user("alice@example.com").ok());
    CHECK(f.store->list_aliases()->empty());
}

TEST_CASE("validation of mailbox names") {
    CHECK(validate_mailbox_name("INBOX").ok());
    CHECK(validate_mailbox_name("Archive/2024/March").ok());
    CHECK(validate_mailbox_name("Entwürfe").ok());
    CHECK(validate_mailbox_name(std::string(kMaxMailboxSegmentLength, 'a')).ok());
    const std::string bad[] = {
        "",
        "/",
        "a/",
        "/a",
        "a//b",
        "..",
        "a/../b",
        ".",
        "a/./b",
        "a\tb",
        std::string("a\0b", 3),
        "a\x7f",
        "a*b",
        "a%b",
        "\xff\xfe",
        "\xc0\xaf",
        std::string(kMaxMailboxSegmentLength + 1, 'a'),
        std::string(kMaxMailboxNameLength + 1, 'a'),
    };
    for (const auto& name : bad)
        CHECK_MESSAGE(validate_mailbox_name(name).error().code == Errc::invalid_argument, name);
    std::string deep;
    for (std::size_t i = 0; i <= kMaxMailboxDepth; ++i) deep += (i ? "/" : "") + std::string("d");
    CHECK(validate_mailbox_name(deep).error().code == Errc::invalid_argument);
    CHECK(normalize_mailbox_name("inbox") == "INBOX");
    CHECK(normalize_mailbox_name("iNbOx/Sub") == "INBOX/Sub");
    CHECK(normalize_mailbox_name("INBOXES") == "INBOXES");
}

TEST_CASE("validation of keywords and addresses") {
    CHECK(validate_keyword("$Forwarded").ok());
    CHECK(validate_keyword("NonJunk").ok());
    for (const char* bad : {"", "\\Seen", "a b", "a(b", "a]b", "a*", "a%", "a\"b", "\x01"})
        CHECK_MESSAGE(validate_keyword(bad).error().code == Errc::invalid_argument, bad);
    CHECK(validate_keyword(std::string(kMaxKeywordLength + 1, 'k')).error().code == Errc::invalid_argument);
    CHECK(validate_address("first.last+tag@sub.example.com").ok());
    CHECK(validate_address("o'hara@example.com").ok());
    CHECK(validate_address(std::string(64, 'a') + "@" + std::string(63, 'b') + ".com").ok());
    CHECK(validate_address(std::string(64, 'a') + "@" + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                           std::string(63, 'd'))
              .error()
              .code == Errc::invalid_argument);  // over 254
}

TEST_CASE_TEMPLATE("aliases: a store holding aliases passes integrity_check (SQLite 3.40 column-order bug)", B,
                   STORE_BACKENDS) {
    Fixture<B> f;
    REQUIRE(f.store->add_alias("postmaster@example.com", "alice@example.com").ok());
    auto status = f.store->integrity_check();
    CHECK_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
}
