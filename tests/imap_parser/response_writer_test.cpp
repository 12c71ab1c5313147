// response_writer_test.cpp: the text of IMAP responses: string forms (atom, quoted, literal,
// literal8 only for NUL; never CR, LF, NUL or 8-bit in a quoted string), flag lists, compact
// sets in the caller's order, every response code with its arguments, status lines (text
// sanitised, defaults), FETCH item names, LIST, STATUS, SEARCH and ESEARCH lines.
#include <doctest/doctest.h>

#include "imapd/response_writer.h"

using namespace hikyaku;
using namespace hikyaku::imap;
using namespace std::string_literals;

namespace {
std::string astring(std::string_view s) {
    std::string out;
    append_astring(out, s);
    return out;
}
std::string code(const ResponseCode& c) { return format_response_code(c); }
}  // namespace

TEST_CASE("strings: atom, quoted, literal") {
    CHECK(astring("INBOX") == "INBOX");
    CHECK(astring("a]b") == "a]b");
    CHECK(astring("") == "\"\"");
    CHECK(astring("NIL") == "\"NIL\"");
    CHECK(astring("nil") == "\"nil\"");
    CHECK(astring("a b") == "\"a b\"");
    CHECK(astring("a%") == "\"a%\"");
    CHECK(astring("a\"b") == "\"a\\\"b\"");
    CHECK(astring("a\\b") == "\"a\\\\b\"");
    CHECK(astring("a\r\nb") == "{4}\r\na\r\nb");
    CHECK(astring("\xc3\xa4") == "{2}\r\n\xc3\xa4");
    CHECK(astring("\"\"\"\"\"") == "{5}\r\n\"\"\"\"\"");  // more than four escapes: a literal (Dovecot)
    std::string out;
    append_nstring(out, std::nullopt);
    out += ' ';
    append_nstring(out, std::string("x"));
    CHECK(out == "NIL \"x\"");
    out.clear();
    append_literal(out, "ab");
    CHECK(out == "{2}\r\nab");
    out.clear();
    append_literal(out, "a\0b"s);
    CHECK(out == "~{3}\r\na\0b"s);
    out.clear();
    append_literal_header(out, 1234567890123ull, false);
    append_literal_header(out, 5, true);
    CHECK(out == "{1234567890123}\r\n~{5}\r\n");
    // No quoted string ever holds CR, LF, NUL or an 8-bit octet.
    for (int c = 0; c < 256; ++c) {
        std::string s = "x";
        s += static_cast<char>(c);
        std::string w = astring(s);
        if (w.front() == '"') CHECK((c >= 0x01 && c < 0x80 && c != '\r' && c != '\n'));
    }
}

TEST_CASE("flag lists and sets") {
    const std::vector<std::string> keywords{"$Forwarded", "Work"};
    CHECK(format_flag_list(storage::flag_seen | storage::flag_answered | storage::flag_draft, keywords) ==
          "(\\Answered \\Seen \\Draft $Forwarded Work)");
    CHECK(format_flag_list(0, {}) == "()");
    CHECK(format_flag_list(storage::kAllSystemFlags, {}, true) ==
          "(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\Recent)");
    const std::vector<std::uint32_t> uids{1, 2, 3, 5, 8, 9, 4, 4294967294u, 4294967295u};
    CHECK(format_number_set(uids) == "1:3,5,8:9,4,4294967294:4294967295");
    CHECK(format_number_set({}) == "");
    const std::vector<Interval> intervals{{1, 3}, {5, 5}};
    CHECK(format_intervals(intervals) == "1:3,5");
}

TEST_CASE("response codes") {
    const std::vector<std::uint32_t> src{1, 2, 3, 7}, dst{10, 11, 12, 13};
    CHECK(code(ResponseCode::appenduid(38505, std::vector<std::uint32_t>{3955})) == "[APPENDUID 38505 3955]");
    CHECK(code(ResponseCode::copyuid(38505, src, dst)) == "[COPYUID 38505 1:3,7 10:13]");
    CHECK(code(ResponseCode::modified(std::vector<std::uint32_t>{7, 9})) == "[MODIFIED 7,9]");
    CHECK(code(ResponseCode::with_number(ResponseCodeKind::highestmodseq, 715194045007ull)) ==
          "[HIGHESTMODSEQ 715194045007]");
    CHECK(code(ResponseCode::with_number(ResponseCodeKind::uidnext, 4392)) == "[UIDNEXT 4392]");
    CHECK(code(ResponseCode::with_number(ResponseCodeKind::uidvalidity, 3857529045u)) == "[UIDVALIDITY 3857529045]");
    CHECK(code(ResponseCode::with_number(ResponseCodeKind::unseen, 12)) == "[UNSEEN 12]");
    CHECK(code(ResponseCode::permanentflags(storage::flag_deleted | storage::flag_seen, {}, true)) ==
          "[PERMANENTFLAGS (\\Deleted \\Seen \\*)]");
    CHECK(code(ResponseCode::permanentflags(0, {}, true)) == "[PERMANENTFLAGS (\\*)]");
    CHECK(code(ResponseCode::permanentflags(0, {}, false)) == "[PERMANENTFLAGS ()]");
    CHECK(code(ResponseCode::capability({"IMAP4rev1", "IMAP4rev2", "LITERAL+"})) ==
          "[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+]");
    CHECK(code(ResponseCode::badcharset({"UTF-8", "US-ASCII"})) == "[BADCHARSET (UTF-8 US-ASCII)]");
    CHECK(code(ResponseCode::badcharset({})) == "[BADCHARSET]");
    const std::pair<ResponseCodeKind, const char*> simple[] = {
        {ResponseCodeKind::alert, "[ALERT]"},
        {ResponseCodeKind::alreadyexists, "[ALREADYEXISTS]"},
        {ResponseCodeKind::authenticationfailed, "[AUTHENTICATIONFAILED]"},
        {ResponseCodeKind::authorizationfailed, "[AUTHORIZATIONFAILED]"},
        {ResponseCodeKind::cannot, "[CANNOT]"},
        {ResponseCodeKind::clientbug, "[CLIENTBUG]"},
        {ResponseCodeKind::closed, "[CLOSED]"},
        {ResponseCodeKind::contactadmin, "[CONTACTADMIN]"},
        {ResponseCodeKind::corruption, "[CORRUPTION]"},
        {ResponseCodeKind::expired, "[EXPIRED]"},
        {ResponseCodeKind::expungeissued, "[EXPUNGEISSUED]"},
        {ResponseCodeKind::haschildren, "[HASCHILDREN]"},
        {ResponseCodeKind::inuse, "[INUSE]"},
        {ResponseCodeKind::limit, "[LIMIT]"},
        {ResponseCodeKind::nomodseq, "[NOMODSEQ]"},
        {ResponseCodeKind::nonexistent, "[NONEXISTENT]"},
        {ResponseCodeKind::noperm, "[NOPERM]"},
        {ResponseCodeKind::overquota, "[OVERQUOTA]"},
        {ResponseCodeKind::parse, "[PARSE]"},
        {ResponseCodeKind::privacyrequired, "[PRIVACYREQUIRED]"},
        {ResponseCodeKind::readonly, "[READ-ONLY]"},
        {ResponseCodeKind::readwrite, "[READ-WRITE]"},
        {ResponseCodeKind::serverbug, "[SERVERBUG]"},
        {ResponseCodeKind::toobig, "[TOOBIG]"},
        {ResponseCodeKind::trycreate, "[TRYCREATE]"},
        {ResponseCodeKind::uidnotsticky, "[UIDNOTSTICKY]"},
        {ResponseCodeKind::unavailable, "[UNAVAILABLE]"},
        {ResponseCodeKind::unknown_cte, "[UNKNOWN-CTE]"},
    };
    for (auto [kind, text] : simple) CHECK(code(ResponseCode::simple(kind)) == text);
}

TEST_CASE("status and continuation responses") {
    CHECK(status_response("a1", ResponseStatus::ok, std::nullopt, "LOGIN completed") == "a1 OK LOGIN completed\r\n");
    CHECK(status_response("a2", ResponseStatus::no, ResponseCode::simple(ResponseCodeKind::toobig), "Too big") ==
          "a2 NO [TOOBIG] Too big\r\n");
    CHECK(untagged_status(ResponseStatus::bye, std::nullopt, "") == "* BYE Logging out\r\n");
    CHECK(untagged_status(ResponseStatus::bad, std::nullopt, "x\r\ny\0z\xc3"s) == "* BAD x  y z?\r\n");
    CHECK(status_response("a3", ResponseStatus::preauth, std::nullopt, "") == "a3 PREAUTH Logged in\r\n");
    CHECK(continuation("Ready for literal data") == "+ Ready for literal data\r\n");
    CHECK(continuation("") == "+ \r\n");
}

TEST_CASE("FETCH item names in responses") {
    FetchItem item;
    item.attribute = FetchAttribute::body_section;
    item.peek = true;
    CHECK(fetch_item_name(item) == "BODY[]");
    item.section.part = {1, 2};
    item.section.text = SectionText::header_fields_not;
    item.section.fields = {"from", "X-Spam Flag"};
    item.partial = Partial{10, 20};
    CHECK(fetch_item_name(item) == "BODY[1.2.HEADER.FIELDS.NOT (FROM \"X-SPAM FLAG\")]<10>");
    item = {};
    item.attribute = FetchAttribute::body_section;
    item.section.text = SectionText::mime;
    item.section.part = {3};
    CHECK(fetch_item_name(item) == "BODY[3.MIME]");
    item.section = {};
    item.section.text = SectionText::text;
    CHECK(fetch_item_name(item) == "BODY[TEXT]");
    item.attribute = FetchAttribute::binary;
    item.section = {};
    item.section.part = {2};
    CHECK(fetch_item_name(item) == "BINARY[2]");
    item.attribute = FetchAttribute::binary_size;
    CHECK(fetch_item_name(item) == "BINARY.SIZE[2]");
    const std::pair<FetchAttribute, const char*> plain[] = {
        {FetchAttribute::envelope, "ENVELOPE"},
        {FetchAttribute::flags, "FLAGS"},
        {FetchAttribute::internal_date, "INTERNALDATE"},
        {FetchAttribute::rfc822_size, "RFC822.SIZE"},
        {FetchAttribute::body_structure, "BODYSTRUCTURE"},
        {FetchAttribute::body, "BODY"},
        {FetchAttribute::uid, "UID"},
        {FetchAttribute::modseq, "MODSEQ"},
        {FetchAttribute::rfc822, "RFC822"},
        {FetchAttribute::rfc822_header, "RFC822.HEADER"},
        {FetchAttribute::rfc822_text, "RFC822.TEXT"},
    };
    for (auto [attribute, name] : plain) {
        FetchItem i;
        i.attribute = attribute;
        CHECK(fetch_item_name(i) == name);
    }
}

TEST_CASE("LIST, STATUS, SEARCH and ESEARCH lines") {
    const std::vector<std::string> attrs{"\\HasNoChildren", "\\Sent"};
    CHECK(list_response(false, attrs, '/', "Sent") == "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n");
    CHECK(list_response(true, {}, '/', "a b") == "* LSUB () \"/\" \"a b\"\r\n");
    CHECK(list_response(false, {}, '\0', "") == "* LIST () NIL \"\"\r\n");
    CHECK(list_response(false, {}, '\\', "x", "(\"CHILDINFO\" (\"SUBSCRIBED\"))") ==
          "* LIST () \"\\\\\" x (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
    const std::vector<std::pair<StatusItem, std::uint64_t>> items{{StatusItem::messages, 231},
                                                                  {StatusItem::uidnext, 44292}};
    CHECK(status_data_response("blurdybloop", items) == "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n");
    const std::vector<std::uint32_t> hits{2, 84, 882};
    CHECK(search_response(hits) == "* SEARCH 2 84 882\r\n");
    CHECK(search_response({}) == "* SEARCH\r\n");
    CHECK(search_response(hits, 917162500) == "* SEARCH 2 84 882 (MODSEQ 917162500)\r\n");
    EsearchResult r;
    r.min = 2;
    r.max = 882;
    r.count = 3;
    r.all = format_number_set(hits);
    CHECK(esearch_response("A282", true, r) == "* ESEARCH (TAG \"A282\") UID MIN 2 MAX 882 COUNT 3 ALL 2,84,882\r\n");
    EsearchResult none;
    none.count = 0;
    none.all = "";
    CHECK(esearch_response("A283", false, none) == "* ESEARCH (TAG \"A283\") COUNT 0\r\n");
}
