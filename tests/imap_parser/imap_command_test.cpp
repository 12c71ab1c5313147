// imap_command_test.cpp: the IMAP grammar over framed commands. Every vector goes through the
// framer whole, split at every byte and in fixed chunks (identical framed commands, so
// identical parses), then the grammar. Covers every command of RFC 9051 and RFC 3501 with
// its extensions, the errors (untagged BAD without a tag, unknown command, a reason naming
// what was wrong), and each GrammarLimits bound at the limit and one past it.
#include <doctest/doctest.h>

#include <string>

#include "imapd/imap_command.h"
#include "reader_harness.h"

using namespace imap_test;
using namespace hikyaku;
using namespace std::string_literals;

namespace {

ParseResult parse_wire(const std::string& wire, const GrammarLimits& limits = {}, bool splits = true) {
    ReaderLimits reader_limits;
    reader_limits.max_line_length = 1 << 20;
    Trace t = splits ? run_all_splits(wire, accept_all, reader_limits) : run(wire, accept_all, reader_limits);
    REQUIRE_MESSAGE(t.commands.size() == 1, wire);
    return parse_command(t.commands.front(), limits);
}

Command ok(const std::string& line, const GrammarLimits& limits = {}, bool splits = true) {
    auto r = parse_wire(line + "\r\n", limits, splits);
    if (auto* e = std::get_if<CommandError>(&r)) FAIL("unexpected error: " << e->text << " for: " << line);
    return std::get<Command>(r);
}

CommandError err(const std::string& line, const GrammarLimits& limits = {}, bool splits = true) {
    auto r = parse_wire(line + "\r\n", limits, splits);
    REQUIRE_MESSAGE(std::holds_alternative<CommandError>(r), "accepted: " << line);
    return std::get<CommandError>(r);
}

template <class T>
T args(const std::string& line, const GrammarLimits& limits = {}) {
    Command c = ok(line, limits);
    REQUIRE(c.get<T>() != nullptr);
    return *c.get<T>();
}

SequenceSet set(std::string_view text) { return *SequenceSet::parse(text); }

}  // namespace

TEST_CASE("tag and verb: untagged BAD without a valid tag, unknown commands") {
    for (std::string line : {"", " NOOP", "+ NOOP", "\"a\" NOOP", "a{ NOOP", "(a) NOOP", "a\x01 NOOP"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::tag_missing);
        CHECK_FALSE(e.tag);
    }
    auto e = err("a1");
    CHECK(e.kind == CommandErrorKind::syntax);
    CHECK(*e.tag == "a1");
    CHECK(e.text == "Missing command");
    for (std::string line : {"a1 FOO", "a1 NOOP(", "a1 UID NOOP", "a1 UID LOGIN a b", "a1 UID", "a1 XLIST \"\" *"}) {
        CAPTURE(line);
        auto u = err(line);
        CHECK((u.kind == CommandErrorKind::unknown_command || u.kind == CommandErrorKind::syntax));
        CHECK(*u.tag == "a1");
    }
    CHECK(err("a1 FOO").text == "Unknown command FOO");
    CHECK(err("a1 UID NOOP").text == "Unknown command UID NOOP");
    // Tags may hold "]" and any ASTRING-CHAR but "+".
    CHECK(ok("a.1]x noop").tag == "a.1]x");
}

TEST_CASE("commands without arguments, any case") {
    const std::pair<const char*, Verb> cases[] = {
        {"CAPABILITY", Verb::capability}, {"noop", Verb::noop},
        {"Logout", Verb::logout},         {"STARTTLS", Verb::starttls},
        {"NAMESPACE", Verb::namespace_},  {"IDLE", Verb::idle},
        {"CHECK", Verb::check},           {"CLOSE", Verb::close},
        {"UNSELECT", Verb::unselect},     {"EXPUNGE", Verb::expunge},
    };
    for (auto [name, verb] : cases) {
        CAPTURE(name);
        Command c = ok(std::string("t ") + name);
        CHECK(c.verb == verb);
        CHECK_FALSE(c.uid);
        CHECK(std::holds_alternative<std::monostate>(c.args));
        auto e = err(std::string("t ") + name + " x");
        CHECK(e.kind == CommandErrorKind::syntax);
        CHECK(e.verb == verb);
        CHECK(e.text == std::string(verb_name(verb)) + ": unexpected extra arguments");
    }
    CHECK(err("t NOOP ").text == "NOOP: unexpected extra arguments");
}

TEST_CASE("LOGIN and AUTHENTICATE: atoms, quoted strings, literals, SASL-IR") {
    auto l = args<LoginArgs>("a LOGIN alice s3cr]t");
    CHECK(l.user == "alice");
    CHECK(l.password == "s3cr]t");
    l = args<LoginArgs>("a login \"al ice\" \"p\\\"w\\\\d\"");
    CHECK(l.user == "al ice");
    CHECK(l.password == "p\"w\\d");
    l = args<LoginArgs>("a LOGIN {5}\r\nalice {3+}\r\n\"x\"");
    CHECK(l.user == "alice");
    CHECK(l.password == "\"x\"");
    CHECK(args<LoginArgs>("a LOGIN \"\" \"\"").user.empty());
    CHECK(args<LoginArgs>("a LOGIN \"m\xc3\xbc\" x").user == "m\xc3\xbc");  // UTF-8 in quoted (RFC 9051)
    CHECK(err("a LOGIN alice").text == "LOGIN: missing arguments");
    CHECK(err("a LOGIN \"a\\b\" x").text == "LOGIN: Invalid escape in quoted string (only \\\" and \\\\ are allowed)");
    CHECK(err("a LOGIN \"abc x").text == "LOGIN: Unterminated quoted string");
    CHECK(err("a LOGIN a  b").kind == CommandErrorKind::syntax);
    CHECK(err("a LOGIN a b c").text == "LOGIN: unexpected extra arguments");
    CHECK(err("a LOGIN ali\xc3\xa9 x").kind == CommandErrorKind::syntax);  // 8-bit atom
    CHECK(err("a LOGIN (a) b").kind == CommandErrorKind::syntax);
    CHECK(err("a LOGIN a\rb c").kind == CommandErrorKind::syntax);

    auto a = args<AuthenticateArgs>("a AUTHENTICATE plain");
    CHECK(a.mechanism == "PLAIN");
    CHECK_FALSE(a.initial_response);
    a = args<AuthenticateArgs>("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==");
    CHECK(*a.initial_response == "AGFsaWNlAHNlY3JldA==");
    CHECK(*args<AuthenticateArgs>("a AUTHENTICATE PLAIN =").initial_response == "=");
    CHECK(err("a AUTHENTICATE").kind == CommandErrorKind::syntax);
    CHECK(err("a AUTHENTICATE PLAIN a-b").text == "AUTHENTICATE: initial response is not base64");
    CHECK(err("a AUTHENTICATE PLAIN abc def").kind == CommandErrorKind::syntax);
}

TEST_CASE("ENABLE, ID") {
    auto e = args<EnableArgs>("a ENABLE condstore IMAP4rev2 UTF8=ACCEPT");
    CHECK(e.capabilities == std::vector<std::string>{"CONDSTORE", "IMAP4REV2", "UTF8=ACCEPT"});
    CHECK(err("a ENABLE").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_enable_capabilities = 2;
    CHECK(args<EnableArgs>("a ENABLE A B", limits).capabilities.size() == 2);
    CHECK(err("a ENABLE A B C", limits).kind == CommandErrorKind::limit_exceeded);

    CHECK_FALSE(args<IdArgs>("a ID NIL").parameters);
    auto id = args<IdArgs>("a ID (\"name\" \"Thunderbird\" \"version\" NIL)");
    REQUIRE(id.parameters);
    REQUIRE(id.parameters->size() == 2);
    CHECK((*id.parameters)[0].first == "name");
    CHECK(*(*id.parameters)[0].second == "Thunderbird");
    CHECK_FALSE((*id.parameters)[1].second);
    CHECK(args<IdArgs>("a ID ()").parameters->empty());
    CHECK(err("a ID (\"name\")").kind == CommandErrorKind::syntax);
    CHECK(err("a ID name").kind == CommandErrorKind::syntax);
    // RFC 2971 3.3 bounds: 30 pairs, 30-octet fields, 1024-octet values; at and past each.
    std::string pairs = "a ID (";
    for (int i = 0; i < 30; ++i) pairs += (i ? " " : "") + ("\"f" + std::to_string(i) + "\" \"v\"");
    CHECK(args<IdArgs>(pairs + ")").parameters->size() == 30);
    CHECK(err(pairs + " \"x\" \"y\")").kind == CommandErrorKind::limit_exceeded);
    CHECK(args<IdArgs>("a ID (\"" + std::string(30, 'f') + "\" NIL)").parameters->size() == 1);
    CHECK(err("a ID (\"" + std::string(31, 'f') + "\" NIL)").kind == CommandErrorKind::limit_exceeded);
    CHECK(args<IdArgs>("a ID (\"f\" \"" + std::string(1024, 'v') + "\")").parameters->size() == 1);
    CHECK(err("a ID (\"f\" \"" + std::string(1025, 'v') + "\")").kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("SELECT and EXAMINE: CONDSTORE and QRESYNC parameters") {
    auto s = args<SelectArgs>("a SELECT INBOX");
    CHECK(s.mailbox == "INBOX");
    CHECK_FALSE(s.condstore);
    CHECK(ok("a EXAMINE \"Sent Items\"").verb == Verb::examine);
    CHECK(args<SelectArgs>("a SELECT inbox (CONDSTORE)").condstore);
    s = args<SelectArgs>("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))");
    REQUIRE(s.qresync);
    CHECK(s.qresync->uidvalidity == 67890007);
    CHECK(s.qresync->modseq == 20050715194045000ull);
    CHECK(*s.qresync->known_uids == set("41,43:211,214:541"));
    CHECK_FALSE(s.qresync->known_sequence_set);
    s = args<SelectArgs>("a SELECT INBOX (QRESYNC (1 2 1:10 (1:5 2:10)) CONDSTORE)");
    CHECK(s.condstore);
    CHECK(*s.qresync->known_sequence_set == set("1:5"));
    CHECK(*s.qresync->known_uid_set == set("2:10"));
    s = args<SelectArgs>("a SELECT INBOX (QRESYNC (1 2 (1 2)))");
    CHECK_FALSE(s.qresync->known_uids);
    CHECK(*s.qresync->known_uid_set == set("2"));
    CHECK(err("a SELECT INBOX (QRESYNC (1 2 1:*))").text == "SELECT: \"*\" is not allowed in this sequence set");
    CHECK(err("a SELECT INBOX (QRESYNC (0 2))").kind == CommandErrorKind::syntax);
    CHECK(err("a SELECT INBOX (QRESYNC (1 0))").text == "SELECT: mod-sequence must not be 0");
    CHECK(err("a SELECT INBOX (QRESYNC (1 9223372036854775808))").text == "SELECT: Number too large");
    CHECK(err("a SELECT INBOX (FOO)").text == "SELECT: unknown SELECT parameter FOO");
    CHECK(err("a SELECT INBOX ()").kind == CommandErrorKind::syntax);
    CHECK(err("a SELECT").kind == CommandErrorKind::syntax);
}

TEST_CASE("CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE: names as raw bytes") {
    CHECK(args<MailboxArgs>("a CREATE Archive/2024").mailbox == "Archive/2024");
    auto c = args<MailboxArgs>("a CREATE Junk (USE (\\Junk))");
    CHECK(c.special_use == std::vector<std::string>{"\\Junk"});
    CHECK(err("a CREATE Junk (FOO)").kind == CommandErrorKind::syntax);
    CHECK(args<MailboxArgs>("a DELETE \"a b\"").mailbox == "a b");
    CHECK(args<MailboxArgs>("a SUBSCRIBE &AOQ-").mailbox == "&AOQ-");
    CHECK(ok("a UNSUBSCRIBE x").verb == Verb::unsubscribe);
    auto r = args<RenameArgs>("a RENAME old {3}\r\nnew");
    CHECK(r.from == "old");
    CHECK(r.to == "new");
    // What the store refuses later still parses: dot segments, wildcards, controls in quotes.
    CHECK(args<MailboxArgs>("a CREATE a/../b").mailbox == "a/../b");
    CHECK(args<MailboxArgs>("a CREATE \"a%b*\"").mailbox == "a%b*");
    CHECK(args<MailboxArgs>("a CREATE \"a\x01\"").mailbox == "a\x01");
    CHECK(err("a CREATE a%b").kind == CommandErrorKind::syntax);  // wildcards are not ATOM-CHARs
    CHECK(err("a CREATE ~{1}\r\nx").kind == CommandErrorKind::syntax);
}

TEST_CASE("LIST and LSUB: patterns, LIST-EXTENDED selection and return options, LIST-STATUS") {
    auto l = args<ListArgs>("a LIST \"\" *");
    CHECK_FALSE(l.extended);
    CHECK(l.reference.empty());
    CHECK(l.patterns == std::vector<std::string>{"*"});
    CHECK(args<ListArgs>("a LIST \"\" %/a]b*").patterns.front() == "%/a]b*");
    CHECK(args<ListArgs>("a LIST ~/Mail/ \"foo bar\"").reference == "~/Mail/");
    CHECK(args<ListArgs>("a LIST \"\" \"\"").patterns.front().empty());
    l = args<ListArgs>("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\" %) RETURN (CHILDREN SPECIAL-USE)");
    CHECK(l.extended);
    CHECK(l.select_subscribed);
    CHECK(l.select_recursive_match);
    CHECK(l.patterns == std::vector<std::string>{"INBOX", "Sent*", "%"});
    CHECK(l.return_children);
    CHECK(l.return_special_use);
    CHECK_FALSE(l.return_subscribed);
    l = args<ListArgs>("a LIST () \"\" % RETURN (SUBSCRIBED STATUS (MESSAGES UNSEEN SIZE))");
    CHECK(l.extended);
    CHECK(l.return_subscribed);
    CHECK(*l.return_status == std::vector<StatusItem>{StatusItem::messages, StatusItem::unseen, StatusItem::size});
    CHECK(args<ListArgs>("a LIST (SPECIAL-USE REMOTE) \"\" *").select_special_use);
    CHECK(args<ListArgs>("a LIST \"\" * RETURN ()").extended);
    CHECK(err("a LIST (RECURSIVEMATCH) \"\" *").text ==
          "LIST: RECURSIVEMATCH must be combined with another selection option");
    CHECK(err("a LIST (REMOTE RECURSIVEMATCH) \"\" *").kind == CommandErrorKind::syntax);
    CHECK(err("a LIST (FOO) \"\" *").text == "LIST: unknown LIST selection option FOO");
    CHECK(err("a LIST \"\" * RETURN (FOO)").text == "LIST: unknown LIST return option FOO");
    CHECK(err("a LIST \"\" * RETURN (STATUS (FOO))").kind == CommandErrorKind::syntax);
    CHECK(err("a LIST \"\"").kind == CommandErrorKind::syntax);
    CHECK(err("a LIST \"\" ()").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_list_patterns = 2;
    CHECK(args<ListArgs>("a LIST \"\" (a b)", limits).patterns.size() == 2);
    CHECK(err("a LIST \"\" (a b c)", limits).kind == CommandErrorKind::limit_exceeded);

    auto s = ok("a LSUB \"\" *");
    CHECK(s.verb == Verb::lsub);
    CHECK(s.get<ListArgs>()->patterns.front() == "*");
    CHECK(err("a LSUB (SUBSCRIBED) \"\" *").kind == CommandErrorKind::syntax);
    CHECK(err("a LSUB \"\" (a b)").kind == CommandErrorKind::syntax);
}

TEST_CASE("STATUS: every item") {
    auto s = args<StatusArgs>(
        "a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ appendlimit)");
    CHECK(s.mailbox == "INBOX");
    CHECK(s.items == std::vector<StatusItem>{StatusItem::messages, StatusItem::uidnext, StatusItem::uidvalidity,
                                             StatusItem::unseen, StatusItem::deleted, StatusItem::size,
                                             StatusItem::recent, StatusItem::highestmodseq, StatusItem::appendlimit});
    CHECK(std::string(status_item_name(StatusItem::highestmodseq)) == "HIGHESTMODSEQ");
    CHECK(err("a STATUS INBOX ()").kind == CommandErrorKind::syntax);
    CHECK(err("a STATUS INBOX (MESSAGES FOO)").text == "STATUS: unknown status item FOO");
    CHECK(err("a STATUS INBOX MESSAGES").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_status_items = 2;
    CHECK(args<StatusArgs>("a STATUS x (SIZE SIZE)", limits).items.size() == 2);
    CHECK(err("a STATUS x (SIZE SIZE SIZE)", limits).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("APPEND: flags, date-time, literal, literal8, MULTIAPPEND, CATENATE") {
    auto a = args<AppendArgs>("A003 APPEND saved-messages (\\Seen) {9}\r\nDate: x\r\n");
    CHECK(a.mailbox == "saved-messages");
    REQUIRE(a.messages.size() == 1);
    CHECK(a.messages[0].flags->system == storage::flag_seen);
    CHECK_FALSE(a.messages[0].internal_date);
    CHECK(a.messages[0].data == "Date: x\r\n");
    CHECK_FALSE(a.messages[0].binary);
    a = args<AppendArgs>("a APPEND INBOX (\\Draft $MDNSent) \" 7-Feb-1994 21:52:25 -0800\" ~{3}\r\na\0b"s);
    CHECK(a.messages[0].flags->system == storage::flag_draft);
    CHECK(a.messages[0].flags->keywords == std::vector<std::string>{"$MDNSent"});
    CHECK(format_date_time(*a.messages[0].internal_date) == "07-Feb-1994 21:52:25 -0800");
    CHECK(a.messages[0].binary);
    CHECK(a.messages[0].data == "a\0b"s);
    a = args<AppendArgs>("a APPEND INBOX \"07-Feb-1994 21:52:25 +0000\" {1}\r\nx");
    CHECK_FALSE(a.messages[0].flags);
    CHECK(a.messages[0].internal_date->utc.time_since_epoch().count() == 760657945);
    CHECK(args<AppendArgs>("a APPEND INBOX () {0}\r\n").messages[0].flags->system == 0);
    // MULTIAPPEND (RFC 3502)
    a = args<AppendArgs>("a APPEND INBOX {1}\r\nx (\\Seen) {1}\r\ny");
    REQUIRE(a.messages.size() == 2);
    CHECK(a.messages[1].data == "y");
    // CATENATE (RFC 4469)
    a = args<AppendArgs>("a APPEND Drafts (\\Seen) CATENATE (URL \"/Drafts;UIDVALIDITY=1/;UID=2\" TEXT {3}\r\nabc)");
    REQUIRE(a.messages[0].catenate);
    REQUIRE(a.messages[0].catenate->size() == 2);
    CHECK((*a.messages[0].catenate)[0].url);
    CHECK((*a.messages[0].catenate)[1].data == "abc");
    CHECK(err("a APPEND INBOX").kind == CommandErrorKind::syntax);
    CHECK(err("a APPEND INBOX (\\Seen)").kind == CommandErrorKind::syntax);
    CHECK(err("a APPEND INBOX \"x\" {1}\r\nx").text.starts_with("APPEND: invalid date-time"));
    CHECK(err("a APPEND INBOX \"31-Apr-2024 00:00:00 +0000\" {1}\r\nx").kind == CommandErrorKind::syntax);
    CHECK(err("a APPEND INBOX (\\Recent) {1}\r\nx").text == "APPEND: invalid system flag \\Recent");
    CHECK(err("a APPEND INBOX (\\Foo) {1}\r\nx").kind == CommandErrorKind::syntax);
    CHECK(err("a APPEND INBOX {1}\r\nx y").kind == CommandErrorKind::syntax);
    CHECK(err("a APPEND ~{5}\r\nINBOX {1}\r\nx").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_append_messages = 2;
    CHECK(args<AppendArgs>("a APPEND x {1}\r\na {1}\r\nb", limits).messages.size() == 2);
    CHECK(err("a APPEND x {1}\r\na {1}\r\nb {1}\r\nc", limits).kind == CommandErrorKind::limit_exceeded);
    limits = {};
    limits.max_catenate_parts = 1;
    CHECK(args<AppendArgs>("a APPEND x CATENATE (URL u)", limits).messages.size() == 1);
    CHECK(err("a APPEND x CATENATE (URL u URL v)", limits).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("APPEND CATENATE (RFC 4469 5): parts, literal8 TEXT, MULTIAPPEND, errors, every bound") {
    auto a = args<AppendArgs>("a APPEND x CATENATE (TEXT ~{3}\r\na\0b url {6}\r\n/x/;U=)"s);
    const auto& parts = *a.messages[0].catenate;
    REQUIRE(parts.size() == 2);
    CHECK_FALSE(parts[0].url);
    CHECK(parts[0].binary);
    CHECK(parts[0].data == "a\0b"s);
    CHECK(parts[1].url);
    CHECK(parts[1].data == "/x/;U=");
    CHECK(a.messages[0].data.empty());
    // With MULTIAPPEND: CATENATE and plain messages mixed, each with its flags and date.
    a = args<AppendArgs>(
        "a APPEND x (\\Seen) CATENATE (URL \"/a/;UID=1\") \"01-Jan-2024 00:00:00 +0000\" {1}\r\nz "
        "CATENATE (TEXT {0}\r\n)");
    REQUIRE(a.messages.size() == 3);
    CHECK(a.messages[0].flags->system == storage::flag_seen);
    CHECK(a.messages[1].data == "z");
    CHECK(a.messages[1].internal_date);
    CHECK((*a.messages[2].catenate)[0].data.empty());
    // Errors: no parts, unknown part, a TEXT that is not a literal, a literal8 URL, an empty URL,
    // unclosed, no space after CATENATE.
    for (std::string line :
         {"a APPEND x CATENATE ()", "a APPEND x CATENATE (FOO u)", "a APPEND x CATENATE (TEXT \"q\")",
          "a APPEND x CATENATE (URL ~{1}\r\nu)", "a APPEND x CATENATE (URL \"\")", "a APPEND x CATENATE (URL u",
          "a APPEND x CATENATE(URL u)", "a APPEND x CATENATE (URL u )", "a APPEND x CATENATE (URL u) trailing"}) {
        CAPTURE(line);
        CHECK(err(line).kind == CommandErrorKind::syntax);
    }
    // Bounds: parts per CATENATE (above), URLs per command, octets per URL.
    GrammarLimits limits;
    limits.max_catenate_urls = 2;
    CHECK(args<AppendArgs>("a APPEND x CATENATE (URL u) CATENATE (URL v TEXT {1}\r\nt)", limits).messages.size() == 2);
    CHECK(err("a APPEND x CATENATE (URL u) CATENATE (URL v URL w)", limits).kind == CommandErrorKind::limit_exceeded);
    limits = {};
    limits.max_catenate_url_length = 5;
    CHECK(args<AppendArgs>("a APPEND x CATENATE (URL 12345)", limits).messages.size() == 1);
    CHECK(err("a APPEND x CATENATE (URL 123456)", limits).kind == CommandErrorKind::limit_exceeded);
    CHECK(err("a APPEND x CATENATE (URL {6}\r\n123456)", limits).kind == CommandErrorKind::limit_exceeded);
    // The defaults: parts in one CATENATE (half of them TEXT, so the URL bound is not reached).
    std::string mixed = "a APPEND x CATENATE (URL u";
    for (std::size_t i = 1; i < kMaxCatenateParts; ++i) mixed += i % 2 ? " TEXT {0}\r\n" : " URL u";
    CHECK(args<AppendArgs>(mixed + ")").messages[0].catenate->size() == kMaxCatenateParts);
    CHECK(err(mixed + " URL u)").text == "APPEND: too many CATENATE parts");
    // URLs in one command, over several CATENATEs.
    std::string many = "a APPEND x CATENATE (URL u";
    for (std::size_t i = 1; i < kMaxCatenateUrls; ++i) many += " URL u";
    CHECK(args<AppendArgs>(many + ") CATENATE (TEXT {1}\r\nt)").messages.size() == 2);
    CHECK(err(many + ") CATENATE (URL u)").text == "APPEND: too many URLs in one APPEND");
    CHECK(
        args<AppendArgs>("a APPEND x CATENATE (URL " + std::string(kMaxCatenateUrlLength, 'u') + ")").messages.size() ==
        1);
    CHECK(err("a APPEND x CATENATE (URL " + std::string(kMaxCatenateUrlLength + 1, 'u') + ")").kind ==
          CommandErrorKind::limit_exceeded);
}

TEST_CASE("parse_section_spec: the FETCH section grammar without brackets") {
    CHECK(parse_section_spec("")->part.empty());
    CHECK(parse_section_spec("header")->text == SectionText::header);
    auto s = parse_section_spec("1.2.MIME");
    REQUIRE(s);
    CHECK(s->part == std::vector<std::uint32_t>{1, 2});
    CHECK(s->text == SectionText::mime);
    s = parse_section_spec("HEADER.FIELDS.NOT (From \"To\")");
    REQUIRE(s);
    CHECK(s->fields == std::vector<std::string>{"From", "To"});
    std::string why;
    for (const char* bad : {"MIME", "1.", "0", "HEADER]", "HEADER] x", "TEXT ", "HEADER.FIELDS ()", "1.2.3.FOO"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_section_spec(bad, {}, &why));
        CHECK_FALSE(why.empty());
    }
    GrammarLimits limits;
    limits.max_section_parts = 2;
    CHECK(parse_section_spec("1.2", limits));
    CHECK_FALSE(parse_section_spec("1.2.3", limits));
    limits.max_header_field_names = 1;
    CHECK(parse_section_spec("HEADER.FIELDS (A)", limits));
    CHECK_FALSE(parse_section_spec("HEADER.FIELDS (A B)", limits));
}

TEST_CASE("STORE: operations, .SILENT, flag lists, UNCHANGEDSINCE") {
    auto s = args<StoreArgs>("a STORE 2:4 +FLAGS (\\Deleted)");
    CHECK(s.set == set("2:4"));
    CHECK(s.operation == StoreOperation::add);
    CHECK_FALSE(s.silent);
    CHECK(s.flags.system == storage::flag_deleted);
    s = args<StoreArgs>("a STORE * -flags.silent \\Seen \\answered $Forwarded");
    CHECK(s.operation == StoreOperation::remove);
    CHECK(s.silent);
    CHECK(s.flags.system == (storage::flag_seen | storage::flag_answered));
    CHECK(s.flags.keywords == std::vector<std::string>{"$Forwarded"});
    s = args<StoreArgs>("a STORE 1 (UNCHANGEDSINCE 12345) FLAGS ()");
    CHECK(s.operation == StoreOperation::replace);
    CHECK(*s.unchanged_since == 12345);
    CHECK(s.flags.system == 0);
    CHECK(*args<StoreArgs>("a STORE 1 (UNCHANGEDSINCE 0) FLAGS ()").unchanged_since == 0);
    // Keywords are case-insensitive: the first spelling is kept.
    CHECK(args<StoreArgs>("a STORE 1 +FLAGS (Work WORK)").flags.keywords == std::vector<std::string>{"Work"});
    Command u = ok("a UID STORE 1:* FLAGS.SILENT (\\Flagged)");
    CHECK(u.uid);
    CHECK(u.verb == Verb::store);
    CHECK(err("a STORE 1 FLAGS").kind == CommandErrorKind::syntax);
    CHECK(err("a STORE 1 +FLAG (\\Seen)").kind == CommandErrorKind::syntax);
    CHECK(err("a STORE 1 FLAGS (\\Recent)").text == "STORE: invalid system flag \\Recent");
    CHECK(err("a STORE 1 FLAGS (a]b)").kind == CommandErrorKind::syntax);
    CHECK(err("a STORE 1 (FOO 1) FLAGS ()").kind == CommandErrorKind::syntax);
    CHECK(err("a STORE 0 FLAGS ()").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_flags = 3;
    CHECK(args<StoreArgs>("a STORE 1 FLAGS (\\Seen a b)", limits).flags.keywords.size() == 2);
    CHECK(err("a STORE 1 FLAGS (\\Seen a b c)", limits).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("COPY, MOVE, EXPUNGE and their UID forms") {
    auto c = ok("a COPY 2:4 MEETING");
    CHECK(c.verb == Verb::copy);
    CHECK(c.get<CopyArgs>()->set == set("2:4"));
    CHECK(c.get<CopyArgs>()->mailbox == "MEETING");
    c = ok("a UID MOVE 1,3:* \"Trash\"");
    CHECK(c.uid);
    CHECK(c.verb == Verb::move);
    c = ok("a UID EXPUNGE 3000:3002");
    CHECK(c.get<ExpungeArgs>()->uids == set("3000:3002"));
    CHECK(err("a UID EXPUNGE").kind == CommandErrorKind::syntax);
    CHECK(err("a COPY 1").kind == CommandErrorKind::syntax);
    CHECK(err("a COPY x y").text == "COPY: expected a sequence set");
}

TEST_CASE("sequence sets in commands: bounds of numbers and of ranges") {
    CHECK(ok("a FETCH 1:4294967295 UID").get<FetchArgs>()->set == set("1:4294967295"));
    CHECK(err("a FETCH 4294967296 UID").text == "FETCH: sequence number above 4294967295");
    CHECK(err("a FETCH 0 UID").kind == CommandErrorKind::syntax);
    CHECK(err("a FETCH 1,,2 UID").kind == CommandErrorKind::syntax);
    CHECK(err("a FETCH 1: UID").kind == CommandErrorKind::syntax);
    CHECK(err("a FETCH -1 UID").kind == CommandErrorKind::syntax);
    CHECK(ok("a FETCH $ UID").get<FetchArgs>()->set.is_saved_result());
    CHECK(err("a FETCH 1,$ UID").kind == CommandErrorKind::syntax);
    GrammarLimits limits;
    limits.max_sequence_ranges = 3;
    CHECK(ok("a FETCH 1,3,5:7 UID", limits).get<FetchArgs>()->set.ranges().size() == 3);
    CHECK(err("a FETCH 1,3,5,7 UID", limits).kind == CommandErrorKind::limit_exceeded);
    // The default bound with a long line.
    std::string many;
    for (std::size_t i = 0; i < kMaxSequenceRanges; ++i) many += (i ? "," : "") + std::to_string(i * 2 + 1);
    CHECK(ok("a UID FETCH " + many + " UID", {}, false).get<FetchArgs>()->set.ranges().size() == kMaxSequenceRanges);
    CHECK(err("a UID FETCH " + many + ",1 UID", {}, false).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("FETCH: every data item, macros, sections, partials, modifiers") {
    auto f = args<FetchArgs>("a FETCH 1:* ALL");
    REQUIRE(f.items.size() == 4);
    CHECK(f.items[3].attribute == FetchAttribute::envelope);
    CHECK(args<FetchArgs>("a FETCH 1 fast").items.size() == 3);
    CHECK(args<FetchArgs>("a FETCH 1 FULL").items.back().attribute == FetchAttribute::body);
    f = args<FetchArgs>(
        "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID MODSEQ RFC822 "
        "RFC822.HEADER RFC822.TEXT)");
    const FetchAttribute expected[] = {
        FetchAttribute::flags,  FetchAttribute::internal_date,  FetchAttribute::rfc822_size, FetchAttribute::envelope,
        FetchAttribute::body,   FetchAttribute::body_structure, FetchAttribute::uid,         FetchAttribute::modseq,
        FetchAttribute::rfc822, FetchAttribute::rfc822_header,  FetchAttribute::rfc822_text,
    };
    REQUIRE(f.items.size() == std::size(expected));
    for (std::size_t i = 0; i < f.items.size(); ++i) CHECK(f.items[i].attribute == expected[i]);
    CHECK(args<FetchArgs>("a FETCH 1 uid").items.front().attribute == FetchAttribute::uid);

    f = args<FetchArgs>(
        "a FETCH 1 (BODY[] BODY.PEEK[HEADER] BODY[1.2.TEXT]<0.100> BODY[3.MIME] "
        "body.peek[header.fields (From \"To\" {2}\r\nCc)] BODY[2.HEADER.FIELDS.NOT (X-Spam)]<5.1>)");
    REQUIRE(f.items.size() == 6);
    CHECK(f.items[0].attribute == FetchAttribute::body_section);
    CHECK_FALSE(f.items[0].peek);
    CHECK(f.items[0].section == Section{});
    CHECK(f.items[1].peek);
    CHECK(f.items[1].section.text == SectionText::header);
    CHECK(f.items[2].section.part == std::vector<std::uint32_t>{1, 2});
    CHECK(f.items[2].section.text == SectionText::text);
    CHECK(*f.items[2].partial == Partial{0, 100});
    CHECK(f.items[3].section.text == SectionText::mime);
    CHECK(f.items[4].section.text == SectionText::header_fields);
    CHECK(f.items[4].section.fields == std::vector<std::string>{"From", "To", "Cc"});
    CHECK(f.items[5].section.text == SectionText::header_fields_not);
    CHECK(*f.items[5].partial == Partial{5, 1});
    CHECK(sets_seen(f.items[0]));
    CHECK_FALSE(sets_seen(f.items[1]));

    f = args<FetchArgs>("a FETCH 1 (BINARY[1] BINARY.PEEK[1.2]<0.10> BINARY.SIZE[2] BINARY[])");
    CHECK(f.items[0].attribute == FetchAttribute::binary);
    CHECK(sets_seen(f.items[0]));
    CHECK(f.items[1].peek);
    CHECK_FALSE(sets_seen(f.items[1]));
    CHECK(f.items[2].attribute == FetchAttribute::binary_size);
    CHECK(f.items[3].section.part.empty());

    f = args<FetchArgs>("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
    CHECK(*f.changed_since == 12345);
    CHECK(f.vanished);
    CHECK(f.items.back().attribute == FetchAttribute::modseq);  // implied by CHANGEDSINCE
    CHECK(args<FetchArgs>("a FETCH 1 FLAGS (CHANGEDSINCE 1)").items.size() == 2);

    for (std::string line : {"a FETCH 1 (FLAGS",
                             "a FETCH 1 FOO",
                             "a FETCH 1 BODY[",
                             "a FETCH 1 BODY[HEADER",
                             "a FETCH 1 BODY[0]",
                             "a FETCH 1 BODY[1.]",
                             "a FETCH 1 BODY[MIME]",
                             "a FETCH 1 BODY[TEXT.1]",
                             "a FETCH 1 BODY[HEADER.FIELDS]",
                             "a FETCH 1 BODY[HEADER.FIELDS ()]",
                             "a FETCH 1 BODY[]<0>",
                             "a FETCH 1 BODY[]<0.0>",
                             "a FETCH 1 BODY[]<1.2",
                             "a FETCH 1 BODY.PEEK",
                             "a FETCH 1 BINARY[HEADER]",
                             "a FETCH 1 BINARY.SIZE[1]<0.1>",
                             "a FETCH 1 ()",
                             "a FETCH 1 FLAGS (VANISHED)",
                             "a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)",
                             "a UID FETCH 1 FLAGS (VANISHED)",
                             "a FETCH 1 FLAGS (CHANGEDSINCE 0)",
                             "a FETCH 1 FLAGS ()",
                             "a FETCH 1 BODY[HEADER.FIELDS (\"\")]"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::syntax);
        CHECK(e.verb == Verb::fetch);
        CHECK((e.text.starts_with("FETCH: ") || e.text.starts_with("UID FETCH: ")));
    }
    CHECK(err("a FETCH 1 FOO").text == "FETCH: unknown FETCH data item FOO");
    CHECK(err("a FETCH 1 (FLAGS FOO)").text == "FETCH: unknown FETCH data item FOO");

    GrammarLimits limits;
    limits.max_fetch_items = 3;
    CHECK(args<FetchArgs>("a FETCH 1 (UID FLAGS BODY)", limits).items.size() == 3);
    CHECK(err("a FETCH 1 (UID FLAGS BODY ENVELOPE)", limits).kind == CommandErrorKind::limit_exceeded);
    limits = {};
    limits.max_header_field_names = 2;
    CHECK(args<FetchArgs>("a FETCH 1 BODY[HEADER.FIELDS (A B)]", limits).items.size() == 1);
    CHECK(err("a FETCH 1 BODY[HEADER.FIELDS (A B C)]", limits).kind == CommandErrorKind::limit_exceeded);
    limits = {};
    limits.max_section_parts = 3;
    CHECK(args<FetchArgs>("a FETCH 1 BODY[1.2.3]", limits).items.size() == 1);
    CHECK(err("a FETCH 1 BODY[1.2.3.4]", limits).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("SEARCH: every key") {
    auto s = args<SearchArgs>(
        "a SEARCH ALL ANSWERED BCC x BEFORE 1-Feb-1994 BODY \"y z\" CC c DELETED DRAFT FLAGGED FROM f "
        "HEADER X-Spam yes KEYWORD $Junk LARGER 100 NEW NOT SEEN OLD ON 31-dec-2024 OR SEEN UNSEEN RECENT "
        "SEEN SENTBEFORE \"1-Feb-1994\" SENTON 2-Feb-1994 SENTSINCE 3-Feb-1994 SINCE 4-Feb-1994 SMALLER 5 "
        "SUBJECT s TEXT t TO o UID 1:5 UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k UNSEEN 2,4:* "
        "(SEEN FLAGGED) MODSEQ 7 OLDER 60 YOUNGER 3600");
    CHECK_FALSE(s.charset);
    CHECK_FALSE(s.return_options);
    CHECK(s.program.kind == SearchKeyKind::and_);
    const SearchKeyKind kinds[] = {
        SearchKeyKind::all,         SearchKeyKind::answered,   SearchKeyKind::bcc,        SearchKeyKind::before,
        SearchKeyKind::body,        SearchKeyKind::cc,         SearchKeyKind::deleted,    SearchKeyKind::draft,
        SearchKeyKind::flagged,     SearchKeyKind::from,       SearchKeyKind::header,     SearchKeyKind::keyword,
        SearchKeyKind::larger,      SearchKeyKind::new_,       SearchKeyKind::not_,       SearchKeyKind::old,
        SearchKeyKind::on,          SearchKeyKind::or_,        SearchKeyKind::recent,     SearchKeyKind::seen,
        SearchKeyKind::sent_before, SearchKeyKind::sent_on,    SearchKeyKind::sent_since, SearchKeyKind::since,
        SearchKeyKind::smaller,     SearchKeyKind::subject,    SearchKeyKind::text,       SearchKeyKind::to,
        SearchKeyKind::uid,         SearchKeyKind::unanswered, SearchKeyKind::undeleted,  SearchKeyKind::undraft,
        SearchKeyKind::unflagged,   SearchKeyKind::unkeyword,  SearchKeyKind::unseen,     SearchKeyKind::sequence_set,
        SearchKeyKind::and_,        SearchKeyKind::modseq,     SearchKeyKind::older,      SearchKeyKind::younger,
    };
    const auto& keys = s.program.children;
    REQUIRE(keys.size() == std::size(kinds));
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(i);
        CHECK(keys[i].kind == kinds[i]);
    }
    CHECK(keys[2].text == "x");
    CHECK(keys[3].date == Date{std::chrono::year{1994} / 2 / 1});
    CHECK(keys[4].text == "y z");
    CHECK(keys[10].field == "X-Spam");
    CHECK(keys[10].text == "yes");
    CHECK(keys[11].text == "$Junk");
    CHECK(keys[12].number == 100);
    CHECK(keys[14].children.front().kind == SearchKeyKind::seen);
    CHECK(keys[17].children.size() == 2);
    CHECK(keys[28].set == set("1:5"));
    CHECK(keys[35].set == set("2,4:*"));
    CHECK(keys[36].children.size() == 2);
    CHECK(keys[37].number == 7);
    CHECK(keys[38].number == 60);
    CHECK(std::string(search_key_name(SearchKeyKind::sent_before)) == "SENTBEFORE");
}

TEST_CASE("SEARCH RETURN (UPDATE PARTIAL): RFC 5267 4.3-4.4, RFC 9394 3.1") {
    auto s = args<SearchArgs>("a SEARCH RETURN (UPDATE) BODY body SEEN");
    REQUIRE(s.return_options);
    CHECK(s.return_options->update);
    CHECK_FALSE(s.return_options->all);  // only RETURN () means ALL
    s = args<SearchArgs>("a UID SEARCH return (update all count) OR SEEN SUBJECT s22");
    CHECK(*s.return_options == SearchReturn{false, false, true, true, false, true, std::nullopt});
    // Ranges are normalised: low:high, and -near:-far counting from the end.
    CHECK(*args<SearchArgs>("a SEARCH RETURN (PARTIAL 1:1) ALL").return_options->partial == PartialRange{1, 1});
    CHECK(*args<SearchArgs>("a SEARCH RETURN (PARTIAL 4:2) ALL").return_options->partial == PartialRange{2, 4});
    CHECK(*args<SearchArgs>("a SEARCH RETURN (PARTIAL -1:-100) ALL").return_options->partial == PartialRange{-1, -100});
    CHECK(*args<SearchArgs>("a SEARCH RETURN (PARTIAL -100:-1) ALL").return_options->partial == PartialRange{-1, -100});
    s = args<SearchArgs>("a SEARCH RETURN (MIN PARTIAL 2:3 UPDATE) UNSEEN");
    CHECK(s.return_options->min);
    CHECK(s.return_options->update);
    CHECK(*s.return_options->partial == PartialRange{2, 3});
    // The bound of a position is nz-number (RFC 9051 9): 1 to 4294967295, either sign.
    CHECK(*args<SearchArgs>("a SEARCH RETURN (PARTIAL 4294967295:1) ALL").return_options->partial ==
          PartialRange{1, 4294967295});
    CHECK(*args<SearchArgs>("a SEARCH RETURN (PARTIAL -4294967295:-4294967295) ALL").return_options->partial ==
          PartialRange{-4294967295, -4294967295});
    for (std::string line :
         {"a SEARCH RETURN (PARTIAL 1) ALL", "a SEARCH RETURN (PARTIAL 1:*) ALL", "a SEARCH RETURN (PARTIAL *:1) ALL",
          "a SEARCH RETURN (PARTIAL 0:1) ALL", "a SEARCH RETURN (PARTIAL 1:0) ALL",
          "a SEARCH RETURN (PARTIAL 4294967296:1) ALL", "a SEARCH RETURN (PARTIAL 1:-1) ALL",
          "a SEARCH RETURN (PARTIAL -1:1) ALL", "a SEARCH RETURN (PARTIAL --1:-2) ALL",
          "a SEARCH RETURN (PARTIAL -0:-1) ALL", "a SEARCH RETURN (PARTIAL) ALL",
          "a SEARCH RETURN (PARTIAL 1:2 PARTIAL 1:2) ALL", "a SEARCH RETURN (PARTIAL 1:2",
          "a SEARCH RETURN (PARTIAL  1:2) ALL", "a SEARCH RETURN (UPDATE", "a SEARCH RETURN (UPDATES) ALL"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::syntax);
        CHECK(e.text.starts_with("SEARCH: "));
    }
    CHECK(err("a SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL").text == "SEARCH: PARTIAL given twice");
    CHECK(err("a SEARCH RETURN (PARTIAL 1:-2) ALL").text ==
          "SEARCH: PARTIAL range mixes positive and negative positions");
}

TEST_CASE("CANCELUPDATE: 1*(SP quoted), at most max_cancelupdate_tags") {
    Command c = ok("a CANCELUPDATE \"b01\"");
    CHECK(c.verb == Verb::cancelupdate);
    CHECK(c.get<CancelUpdateArgs>()->tags == std::vector<std::string>{"b01"});
    c = ok("a cancelupdate \"x\" \"y z\" \"\"");
    CHECK(c.get<CancelUpdateArgs>()->tags == std::vector<std::string>{"x", "y z", ""});
    for (std::string line : {"a CANCELUPDATE", "a CANCELUPDATE ", "a CANCELUPDATE b01", "a CANCELUPDATE \"b01\" ",
                             "a CANCELUPDATE \"b01\"x", "a CANCELUPDATE (\"b01\")", "a UID CANCELUPDATE \"b01\""}) {
        CAPTURE(line);
        CHECK_FALSE(std::holds_alternative<Command>(parse_wire(line + "\r\n")));
    }
    CHECK(err("a UID CANCELUPDATE \"b01\"").kind == CommandErrorKind::unknown_command);
    // The bound: at the limit, and one past it.
    GrammarLimits limits;
    limits.max_cancelupdate_tags = 3;
    CHECK(ok("a CANCELUPDATE \"1\" \"2\" \"3\"", limits).get<CancelUpdateArgs>()->tags.size() == 3);
    CHECK(err("a CANCELUPDATE \"1\" \"2\" \"3\" \"4\"", limits).kind == CommandErrorKind::limit_exceeded);
    std::string many = "a CANCELUPDATE";
    for (std::size_t i = 0; i < kMaxCancelUpdateTags; ++i) many += " \"t" + std::to_string(i) + "\"";
    CHECK(ok(many).get<CancelUpdateArgs>()->tags.size() == kMaxCancelUpdateTags);
    CHECK(err(many + " \"one-more\"").kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("SEARCH: CHARSET, RETURN, $, MODSEQ entries, literals") {
    auto s = args<SearchArgs>("a SEARCH CHARSET UTF-8 SUBJECT {4}\r\n\xc3\xa4\xc3\xb6");
    CHECK(*s.charset == "UTF-8");
    CHECK(s.program.children.front().text == "\xc3\xa4\xc3\xb6");
    CHECK(*args<SearchArgs>("a SEARCH CHARSET \"iso-8859-1\" ALL").charset == "iso-8859-1");
    s = args<SearchArgs>("a SEARCH RETURN (MIN MAX COUNT ALL SAVE) CHARSET US-ASCII $");
    CHECK(*s.return_options == SearchReturn{true, true, true, true, true, false, std::nullopt});
    CHECK(s.program.children.front().set.is_saved_result());
    CHECK(args<SearchArgs>("a SEARCH RETURN () ALL").return_options->all);
    CHECK(args<SearchArgs>("a UID SEARCH RETURN (COUNT) UID $").return_options->count);
    s = args<SearchArgs>("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338");
    CHECK(s.program.children.front().number == 620162338);
    CHECK(args<SearchArgs>("a SEARCH MODSEQ 0").program.children.front().number == 0);
    for (std::string line : {"a SEARCH",
                             "a SEARCH FOO",
                             "a SEARCH FROM",
                             "a SEARCH BEFORE 1-Feb",
                             "a SEARCH ON 30-Feb-2023",
                             "a SEARCH ON 1-Feb-94",
                             "a SEARCH LARGER x",
                             "a SEARCH NOT",
                             "a SEARCH OR SEEN",
                             "a SEARCH (SEEN",
                             "a SEARCH ()",
                             "a SEARCH SEEN  UNSEEN",
                             "a SEARCH RETURN (FOO) ALL",
                             "a SEARCH RETURN ALL",
                             "a SEARCH CHARSET",
                             "a SEARCH CHARSET UTF-8",
                             "a SEARCH OLDER 0",
                             "a SEARCH MODSEQ \"/foo\" all 1",
                             "a SEARCH MODSEQ \"/flags/x\" none 1",
                             "a SEARCH UID x",
                             "a SEARCH KEYWORD \\Seen",
                             "a SEARCH 1:0",
                             "a SEARCH SEEN)"}) {
        CAPTURE(line);
        auto e = err(line);
        CHECK(e.kind == CommandErrorKind::syntax);
        CHECK(e.text.starts_with("SEARCH: "));
    }
    CHECK(err("a SEARCH FOO").text == "SEARCH: unknown search key FOO");
}

TEST_CASE("SEARCH: key count and nesting at the bound and one past it") {
    GrammarLimits limits;
    limits.max_search_keys = 5;  // SEEN, OR, DRAFT, NOT, DELETED
    CHECK(args<SearchArgs>("a SEARCH SEEN OR DRAFT NOT DELETED", limits).program.children.size() == 2);
    CHECK(err("a SEARCH SEEN OR DRAFT NOT DELETED ALL", limits).kind == CommandErrorKind::limit_exceeded);
    limits = {};
    limits.max_search_depth = 3;
    CHECK(args<SearchArgs>("a SEARCH ((SEEN))", limits).program.children.size() == 1);
    CHECK(err("a SEARCH (((SEEN)))", limits).kind == CommandErrorKind::limit_exceeded);
    CHECK(args<SearchArgs>("a SEARCH NOT NOT SEEN", limits).program.children.size() == 1);
    CHECK(err("a SEARCH NOT NOT NOT SEEN", limits).text == "SEARCH: search keys nested too deeply");
    CHECK(args<SearchArgs>("a SEARCH OR OR SEEN SEEN SEEN", limits).program.children.size() == 1);
    CHECK(err("a SEARCH OR OR OR SEEN SEEN SEEN SEEN", limits).kind == CommandErrorKind::limit_exceeded);
    // Deep nesting with the default limits: refused, no stack overflow.
    const std::string deep = "a SEARCH " + std::string(100000, '(') + "SEEN" + std::string(100000, ')');
    CHECK(err(deep, {}, false).kind == CommandErrorKind::limit_exceeded);
    std::string nots = "a SEARCH ";
    for (int i = 0; i < 50000; ++i) nots += "NOT ";
    CHECK(err(nots + "SEEN", {}, false).kind == CommandErrorKind::limit_exceeded);
    std::string keys = "a SEARCH SEEN";
    for (std::size_t i = 1; i < kMaxSearchKeys; ++i) keys += " SEEN";
    CHECK(args<SearchArgs>(keys).program.children.size() == kMaxSearchKeys);
    CHECK(err(keys + " SEEN", {}, false).kind == CommandErrorKind::limit_exceeded);
}

TEST_CASE("IDLE's DONE and AUTHENTICATE responses") {
    CHECK(is_idle_done("DONE"));
    CHECK(is_idle_done("done"));
    CHECK_FALSE(is_idle_done("DONE "));
    CHECK_FALSE(is_idle_done("a DONE"));
    CHECK(parse_authenticate_response("*").cancelled);
    auto r = parse_authenticate_response("dGVzdA==");
    CHECK_FALSE(r.cancelled);
    CHECK(r.data == "dGVzdA==");
}

TEST_CASE("real client commands parse (Thunderbird, mutt, imaplib, mbsync)") {
    for (std::string line : {
             "1 capability",
             "2 authenticate PLAIN",
             "3 ID (\"name\" \"Thunderbird\" \"version\" \"115.6.0\")",
             "4 list (subscribed) \"\" \"*\" return (special-use)",
             "5 select \"INBOX\" (CONDSTORE)",
             "6 UID fetch 1:* (FLAGS)",
             "7 UID fetch 1:4 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date "
             "Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])",
             "8 UID fetch 3 (UID RFC822.SIZE BODY.PEEK[])",
             "9 UID store 3 +Flags (\\Seen)",
             "10 IDLE",
             "a0001 UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT "
             "TO CC MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST "
             "X-LABEL)])",
             "a0002 UID SEARCH CHARSET UTF-8 OR OR SUBJECT foo FROM foo TEXT foo",
             "BEEP1 LIST \"\" \"%\"",
             "ABCD3 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
             "5 UID SEARCH UID 1:* SINCE 1-Jan-2024 UNDELETED",
             "6 UID MOVE 1:3 \"[Gmail]/Trash\"",
         }) {
        CAPTURE(line);
        ok(line);
    }
}

TEST_CASE("NOTIFY (RFC 5465 8): SET [STATUS], NONE, filters, events, MessageNew's FETCH attributes") {
    auto none = args<NotifyArgs>("a notify none");
    CHECK(none.none);
    CHECK(none.groups.empty());

    auto n = args<NotifyArgs>(
        "a NOTIFY SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)]) MessageExpunge "
        "FlagChange)) (subtree (Lists \"Other box\") (MessageNew MessageExpunge)) (mailboxes INBOX NONE) "
        "(Personal (MailboxName SubscriptionChange)) (inboxes (messagenew messageexpunge)) (subscribed NONE)");
    CHECK(n.status);
    CHECK_FALSE(n.none);
    REQUIRE(n.groups.size() == 6);
    CHECK(n.groups[0].filter == NotifyFilter::selected);
    CHECK(n.groups[0].events ==
          std::vector<NotifyEvent>{NotifyEvent::message_new, NotifyEvent::message_expunge, NotifyEvent::flag_change});
    REQUIRE(n.groups[0].message_new_items.size() == 2);
    CHECK(n.groups[0].message_new_items[0].attribute == FetchAttribute::uid);
    CHECK(n.groups[0].message_new_items[1].attribute == FetchAttribute::body_section);
    CHECK(n.groups[0].message_new_items[1].peek);
    CHECK(n.groups[1].filter == NotifyFilter::subtree);
    CHECK(n.groups[1].mailboxes == std::vector<std::string>{"Lists", "Other box"});
    CHECK(n.groups[2].filter == NotifyFilter::mailboxes);
    CHECK(n.groups[2].mailboxes == std::vector<std::string>{"INBOX"});  // one-or-more-mailbox: one, bare
    CHECK(n.groups[2].events.empty());                                  // NONE
    CHECK(n.groups[3].filter == NotifyFilter::personal);
    CHECK(n.groups[3].events == std::vector<NotifyEvent>{NotifyEvent::mailbox_name, NotifyEvent::subscription_change});
    CHECK(n.groups[4].filter == NotifyFilter::inboxes);
    CHECK(n.groups[5].filter == NotifyFilter::subscribed);

    auto delayed = args<NotifyArgs>("a NOTIFY SET (selected-delayed (MessageExpunge MessageNew))");
    CHECK(delayed.groups[0].filter == NotifyFilter::selected_delayed);
    CHECK_FALSE(delayed.status);

    // Unknown and unsupported events parse; the session answers NO [BADEVENT].
    auto unknown = args<NotifyArgs>("a NOTIFY SET (personal (AnnotationChange X-Future MailboxMetadataChange))");
    CHECK(unknown.groups[0].unknown_events == std::vector<std::string>{"X-Future"});
    CHECK(unknown.groups[0].events ==
          std::vector<NotifyEvent>{NotifyEvent::annotation_change, NotifyEvent::mailbox_metadata_change});
    // Other mailboxes: a lone event only picks the STATUS items (as Dovecot accepts).
    CHECK(args<NotifyArgs>("a NOTIFY SET STATUS (mailboxes x (MessageExpunge))").groups.size() == 1);

    for (std::string bad : {
             "a NOTIFY",
             "a NOTIFY SET",
             "a NOTIFY SET ",
             "a NOTIFY NONE x",
             "a NOTIFY GET (personal NONE)",
             "a NOTIFY SET STATUS",
             "a NOTIFY SET (personal)",
             "a NOTIFY SET (personal ())",
             "a NOTIFY SET (everything (MessageNew MessageExpunge))",
             "a NOTIFY SET (subtree (MessageNew MessageExpunge))",
             "a NOTIFY SET (mailboxes () (MessageNew MessageExpunge))",
             "a NOTIFY SET (personal (MessageNew MessageExpunge)",
             "a NOTIFY SET (personal (MessageNew MessageExpunge)) trailing",
             "a NOTIFY SET (personal (MessageNew  MessageExpunge))",
             "a NOTIFY SET (personal (MessageNew (BOGUS) MessageExpunge))",
             "a NOTIFY SET (personal (MessageExpunge (UID)))",  // fetch-att only after MessageNew
             // RFC 5465 6.1: one selected filter, message events only
             "a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
             "a NOTIFY SET (selected (MailboxName))",
             // RFC 5465 5: the pairs, for the selected mailbox
             "a NOTIFY SET (selected (MessageNew))",
             "a NOTIFY SET (selected (MessageExpunge))",
             "a NOTIFY SET (selected (FlagChange))",
         }) {
        CAPTURE(bad);
        auto e = err(bad);
        CHECK(e.kind == CommandErrorKind::syntax);
        CHECK(e.verb == Verb::notify);
    }
}

TEST_CASE("NOTIFY bounds: groups, mailboxes in the command, events in a group, FETCH attributes") {
    GrammarLimits limits;
    limits.max_notify_groups = 2;
    CHECK(args<NotifyArgs>("a NOTIFY SET (personal NONE) (inboxes NONE)", limits).groups.size() == 2);
    CHECK(err("a NOTIFY SET (personal NONE) (inboxes NONE) (subscribed NONE)", limits).kind ==
          CommandErrorKind::limit_exceeded);

    limits = {};
    limits.max_notify_mailboxes = 3;  // counted over every group of the command
    CHECK(args<NotifyArgs>("a NOTIFY SET (subtree (a b) NONE) (mailboxes c NONE)", limits).groups.size() == 2);
    CHECK(err("a NOTIFY SET (subtree (a b) NONE) (mailboxes (c d) NONE)", limits).kind ==
          CommandErrorKind::limit_exceeded);

    limits = {};
    limits.max_notify_events = 3;  // repeated and unknown names count too
    CHECK(args<NotifyArgs>("a NOTIFY SET (personal (MessageNew MessageExpunge MessageNew))", limits)
              .groups[0]
              .events.size() == 2);
    CHECK(err("a NOTIFY SET (personal (MessageNew MessageExpunge FlagChange X))", limits).kind ==
          CommandErrorKind::limit_exceeded);

    limits = {};
    limits.max_fetch_items = 2;
    CHECK(args<NotifyArgs>("a NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge))", limits)
              .groups[0]
              .message_new_items.size() == 2);
    CHECK(err("a NOTIFY SET (selected (MessageNew (UID FLAGS ENVELOPE) MessageExpunge))", limits).kind ==
          CommandErrorKind::limit_exceeded);

    // The defaults, at the limit and one past it.
    std::string groups = "a NOTIFY SET";
    for (std::size_t i = 0; i < kMaxNotifyGroups; ++i) groups += " (personal NONE)";
    CHECK(args<NotifyArgs>(groups).groups.size() == kMaxNotifyGroups);
    CHECK(err(groups + " (personal NONE)").kind == CommandErrorKind::limit_exceeded);
    std::string names = "a NOTIFY SET (mailboxes (";
    for (std::size_t i = 0; i < kMaxNotifyMailboxes; ++i) names += (i ? " m" : "m") + std::to_string(i);
    CHECK(args<NotifyArgs>(names + ") NONE)").groups[0].mailboxes.size() == kMaxNotifyMailboxes);
    CHECK(err(names + " one-more) NONE)").kind == CommandErrorKind::limit_exceeded);
}
