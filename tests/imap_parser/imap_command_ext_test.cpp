// imap_command_ext_test.cpp: the grammar of issue 13's additions (imap_command.h): QUOTA
// (RFC 9208 4.1), OBJECTID (RFC 8474), SAVEDATE (RFC 8514), PREVIEW (RFC 8970) and
// UTF8=ACCEPT (RFC 6855). Every vector goes through the framer whole, split at every byte and
// in fixed chunks (identical framed commands, so identical parses); each new bound is tested
// at the limit and one past it.
#include <doctest/doctest.h>

#include <string>

#include "imapd/imap_command.h"
#include "reader_harness.h"

using namespace imap_test;
using namespace hikyaku;

namespace {

ParseResult parse_split(const std::string& line, const GrammarLimits& limits = {}) {
    ReaderLimits reader_limits;
    reader_limits.max_line_length = 1 << 20;
    Trace t = run_all_splits(line + "\r\n", accept_all, reader_limits);
    REQUIRE_MESSAGE(t.commands.size() == 1, line);
    return parse_command(t.commands.front(), limits);
}

Command accepted(const std::string& line, const GrammarLimits& limits = {}) {
    auto r = parse_split(line, limits);
    if (auto* e = std::get_if<CommandError>(&r)) FAIL("unexpected error: " << e->text << " for: " << line);
    return std::get<Command>(r);
}

CommandError refused(const std::string& line, const GrammarLimits& limits = {}) {
    auto r = parse_split(line, limits);
    REQUIRE_MESSAGE(std::holds_alternative<CommandError>(r), "accepted: " << line);
    return std::get<CommandError>(r);
}

}  // namespace

TEST_CASE("QUOTA: GETQUOTAROOT mailbox, GETQUOTA root, SETQUOTA root (resource limit ...)") {
    Command c = accepted("a GETQUOTAROOT INBOX");
    CHECK(c.verb == Verb::getquotaroot);
    CHECK(c.get<MailboxArgs>()->mailbox == "INBOX");
    c = accepted("a getquota \"\"");
    CHECK(c.verb == Verb::getquota);
    CHECK(c.get<QuotaArgs>()->root.empty());
    CHECK(accepted("a GETQUOTA {4+}\r\nroot").get<QuotaArgs>()->root == "root");
    c = accepted("a SETQUOTA \"\" (storage 512 MESSAGE 1000)");
    CHECK(c.verb == Verb::setquota);
    const std::vector<std::pair<std::string, std::uint64_t>> limits{{"STORAGE", 512}, {"MESSAGE", 1000}};
    CHECK(c.get<QuotaArgs>()->limits == limits);
    CHECK(accepted("a SETQUOTA \"\" ()").get<QuotaArgs>()->limits.empty());
    CHECK(accepted("a SETQUOTA x (STORAGE 9223372036854775807)").get<QuotaArgs>()->limits.front().second ==
          9223372036854775807ull);
    for (const char* bad : {"a GETQUOTA", "a GETQUOTAROOT", "a GETQUOTA \"\" x", "a SETQUOTA \"\"",
                            "a SETQUOTA \"\" (STORAGE)", "a SETQUOTA \"\" (STORAGE x)", "a SETQUOTA \"\" STORAGE 1",
                            "a SETQUOTA \"\" (STORAGE 1", "a SETQUOTA \"\" (STORAGE 1  MESSAGE 2)",
                            "a SETQUOTA \"\" (STORAGE 9223372036854775808)", "a UID GETQUOTA \"\""}) {
        CAPTURE(bad);
        CHECK(refused(bad).tag == std::optional<std::string>("a"));
    }
    // GrammarLimits::max_quota_resources: at the bound and one past it.
    GrammarLimits small;
    small.max_quota_resources = 2;
    CHECK(accepted("a SETQUOTA r (A 1 B 2)", small).get<QuotaArgs>()->limits.size() == 2);
    CHECK(refused("a SETQUOTA r (A 1 B 2 C 3)", small).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("OBJECTID, SAVEDATE, PREVIEW: FETCH items, SEARCH keys, the STATUS item") {
    Command c = accepted("a FETCH 1:* (EMAILID threadid SAVEDATE PREVIEW)");
    const auto& items = c.get<FetchArgs>()->items;
    REQUIRE(items.size() == 4);
    CHECK(items[0].attribute == FetchAttribute::emailid);
    CHECK(items[1].attribute == FetchAttribute::threadid);
    CHECK(items[2].attribute == FetchAttribute::savedate);
    CHECK(items[3].attribute == FetchAttribute::preview);
    CHECK_FALSE(items[3].peek);
    c = accepted("a UID FETCH 1 (UID PREVIEW (lazy) FLAGS)");
    REQUIRE(c.get<FetchArgs>()->items.size() == 3);
    CHECK(c.get<FetchArgs>()->items[1].attribute == FetchAttribute::preview);
    CHECK(c.get<FetchArgs>()->items[1].peek);
    CHECK(accepted("a FETCH 1 PREVIEW").get<FetchArgs>()->items.front().attribute == FetchAttribute::preview);
    for (const char* bad : {"a FETCH 1 (PREVIEW (EAGER))", "a FETCH 1 (PREVIEW ())", "a FETCH 1 EMAILID.PEEK",
                            "a FETCH 1 (PREVIEW (LAZY)"}) {
        CAPTURE(bad);
        refused(bad);
    }

    c = accepted(
        "a SEARCH EMAILID E12-170 THREADID T_x SAVEDBEFORE 1-Feb-2024 SAVEDON 2-Feb-2024 "
        "SAVEDSINCE \"3-Feb-2024\" SAVEDATESUPPORTED");
    const auto& keys = c.get<SearchArgs>()->program.children;
    REQUIRE(keys.size() == 6);
    CHECK(keys[0].kind == SearchKeyKind::emailid);
    CHECK(keys[0].text == "E12-170");
    CHECK(keys[1].kind == SearchKeyKind::threadid);
    CHECK(keys[1].text == "T_x");
    CHECK(keys[2].kind == SearchKeyKind::saved_before);
    CHECK(keys[3].kind == SearchKeyKind::saved_on);
    CHECK(keys[4].kind == SearchKeyKind::saved_since);
    CHECK(keys[4].date.day ==
          std::chrono::year_month_day(std::chrono::year(2024), std::chrono::February, std::chrono::day(3)));
    CHECK(keys[5].kind == SearchKeyKind::savedate_supported);
    for (const char* bad :
         {"a SEARCH EMAILID", "a SEARCH EMAILID \"E1\"", "a SEARCH EMAILID E1.2", "a SEARCH THREADID (",
          "a SEARCH SAVEDON", "a SEARCH SAVEDON 31-Feb-2024x", "a SEARCH SAVEDATESUPPORTED("}) {
        CAPTURE(bad);
        refused(bad);
    }
    // kMaxObjectIdLength: 255 octets, not 256.
    CHECK(
        accepted("a SEARCH EMAILID " + std::string(255, 'x')).get<SearchArgs>()->program.children.front().text.size() ==
        255);
    CHECK(refused("a SEARCH EMAILID " + std::string(256, 'x')).kind == CommandErrorKind::limit_exceeded);

    c = accepted("a STATUS INBOX (MAILBOXID MESSAGES)");
    CHECK(c.get<StatusArgs>()->items == std::vector<StatusItem>{StatusItem::mailboxid, StatusItem::messages});
    CHECK(accepted("a LIST \"\" * RETURN (STATUS (MAILBOXID))").get<ListArgs>()->return_status ==
          std::vector<StatusItem>{StatusItem::mailboxid});
}

TEST_CASE("APPEND UTF8 (literal8) (RFC 6855 4), alone and in a MULTIAPPEND") {
    const std::string message =
        "Subject: Gr\xC3\xBC\xC3\x9F"
        "e\r\n\r\nx\r\n";
    const std::string literal8 = "~{" + std::to_string(message.size()) + "}\r\n" + message;
    Command c = accepted("a APPEND INBOX (\\Seen) UTF8 (" + literal8 + ")");
    const auto& args = *c.get<AppendArgs>();
    REQUIRE(args.messages.size() == 1);
    CHECK(args.messages[0].utf8);
    CHECK(args.messages[0].data == message);
    CHECK(args.messages[0].flags->system == storage::flag_seen);
    c = accepted("a APPEND INBOX utf8 (" + literal8 + ") \"02-Jan-2020 10:00:00 +0100\" UTF8 (" + literal8 +
                 ") {3}\r\nabc");
    REQUIRE(c.get<AppendArgs>()->messages.size() == 3);
    CHECK(c.get<AppendArgs>()->messages[1].utf8);
    CHECK(c.get<AppendArgs>()->messages[1].internal_date);
    CHECK_FALSE(c.get<AppendArgs>()->messages[2].utf8);
    const std::vector<std::string> bad_commands{"a APPEND INBOX UTF8 {3}\r\nabc", "a APPEND INBOX UTF8 ({3}\r\nabc)",
                                                "a APPEND INBOX UTF8 (" + literal8,
                                                "a APPEND INBOX UTF8 (" + literal8 + " )", "a APPEND INBOX UTF8"};
    for (const std::string& bad : bad_commands) {
        CAPTURE(bad);
        refused(bad);
    }
}
