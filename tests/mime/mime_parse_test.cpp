// mime_parse_test.cpp: the MIME structure parser (common/mime/message.h) and the IMAP
// writers on hand-made vectors: offsets and sizes, broken MIME, bare LF, every ParseLimits
// cap at its value and one past it, section lookup, envelope defaults, IMAP string rules.
// parse_message takes whole messages, so grinding (STYLE 14) is done as: every vector in CRLF
// and in bare-LF form gives the same tree, and every prefix parses consistently.
// Must never: depend on the corpus (mime_corpus_test does that).
#include <doctest/doctest.h>

#include <string>

#include "common/mime/imap_structure.h"
#include "common/mime/message.h"

using namespace hikyaku;
using namespace hikyaku::mime;

namespace {

// Test vectors are written with "\n"; crlf() gives the wire form.
std::string crlf(std::string_view lf) {
    std::string out;
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

ParsedMessage parse(std::string_view raw, const ParseLimits& limits = {}) {
    auto r = parse_message(raw, limits);
    REQUIRE(r.ok());
    return std::move(r).value();
}

std::string_view body_of(std::string_view raw, const Part& p) { return raw.substr(p.body_offset, p.body_size); }
std::string_view header_of(std::string_view raw, const Part& p) { return raw.substr(p.header_offset, p.header_size); }

void check_consistent(const Part& p, std::size_t begin, std::size_t end) {
    REQUIRE(p.header_offset >= begin);
    REQUIRE(p.header_offset + p.header_size == p.body_offset);
    REQUIRE(p.body_offset + p.body_size <= end);
    for (const Part& c : p.children) check_consistent(c, p.body_offset, p.body_offset + p.body_size);
}

// Grinding: the LF and CRLF forms give the same structure; every prefix stays consistent.
void grind(std::string_view lf_vector) {
    std::string wire = crlf(lf_vector);
    ParsedMessage a = parse(wire);
    ParsedMessage b = parse(lf_vector);
    CHECK(imap_bodystructure(a).size() >= imap_bodystructure(b).size());
    CHECK(imap_envelope(a.envelope) == imap_envelope(b.envelope));
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        ParsedMessage m = parse(std::string_view(wire).substr(0, cut));
        check_consistent(m.root, 0, cut);
    }
}

const char* const kMultipart =
    "From: a@example.test\n"
    "Content-Type: multipart/mixed; boundary=\"xy\"\n"
    "\n"
    "preamble\n"
    "--xy\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "first\n"
    "line two\n"
    "--xy \t\n"
    "\n"
    "no header\n"
    "--xy--\n"
    "epilogue\n";

// n nested multiparts around one text leaf (the leaf is at depth n).
std::string nested(std::size_t n) {
    std::string s = "Subject: deep\n";
    for (std::size_t i = 0; i < n; ++i)
        s += "Content-Type: multipart/mixed; boundary=L" + std::to_string(i) + "\n\n--L" + std::to_string(i) + "\n";
    s += "Content-Type: text/plain\n\nleaf\n";
    for (std::size_t i = n; i-- > 0;) s += "--L" + std::to_string(i) + "--\n";
    return s;
}

std::string with_parts(std::size_t k) {
    std::string s = "Content-Type: multipart/mixed; boundary=b\n\n";
    for (std::size_t i = 0; i < k; ++i) s += "--b\n\npart " + std::to_string(i) + "\n";
    return s + "--b--\n";
}

}  // namespace

TEST_CASE("single part: header and body extents, line count, defaults") {
    std::string raw = crlf("Subject: hi\nFrom: A <a@b.example>\n\nline1\nline2");
    ParsedMessage m = parse(raw);
    CHECK(m.size == raw.size());
    CHECK(header_of(raw, m.root) == "Subject: hi\r\nFrom: A <a@b.example>\r\n\r\n");
    CHECK(body_of(raw, m.root) == "line1\r\nline2");
    CHECK(m.root.body_lines == 1);
    CHECK(m.root.kind == PartKind::leaf);
    CHECK(m.root.type == "text");
    CHECK(m.root.subtype == "plain");
    CHECK_FALSE(m.root.content_type_present);
    REQUIRE(m.headers.size() == 2);
    CHECK(m.headers[1].name == "From");
    CHECK(m.headers[1].value == "A <a@b.example>");
    CHECK(m.headers[1].offset == 13);
    CHECK(m.headers[1].size == 23);
    CHECK(imap_bodystructure(m) ==
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)");
    grind("Subject: hi\nFrom: A <a@b.example>\n\nline1\nline2");
}

TEST_CASE("multipart: preamble and epilogue belong to no part, CRLF before delimiter either") {
    std::string raw = crlf(kMultipart);
    ParsedMessage m = parse(raw);
    REQUIRE(m.root.kind == PartKind::multipart);
    REQUIRE(m.root.children.size() == 2);
    const Part& p1 = m.root.children[0];
    const Part& p2 = m.root.children[1];
    CHECK(header_of(raw, p1) == "Content-Type: text/plain; charset=utf-8\r\n\r\n");
    CHECK(body_of(raw, p1) == "first\r\nline two");
    CHECK(p1.body_lines == 1);
    CHECK(header_of(raw, p2) == "\r\n");  // "--xy \t" is a delimiter (transport padding)
    CHECK(body_of(raw, p2) == "no header");
    CHECK(imap_body(m) ==
          "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 15 1)"
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9 0) \"mixed\")");
    CHECK(imap_bodystructure(m) ==
          "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 15 1 NIL NIL NIL NIL)"
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9 0 NIL NIL NIL NIL)"
          " \"mixed\" (\"boundary\" \"xy\") NIL NIL NIL)");
    grind(kMultipart);
}

TEST_CASE("multipart: a line that only starts with the boundary is body text (RFC 2046 5.1.1)") {
    std::string raw = crlf("Content-Type: multipart/mixed; boundary=bb\n\n--bb\n\none\n--bbx not\n --bb\n--bb--\n");
    ParsedMessage m = parse(raw);
    REQUIRE(m.root.children.size() == 1);
    CHECK(body_of(raw, m.root.children[0]) == "one\r\n--bbx not\r\n --bb");
}

TEST_CASE("multipart: boundaries ending in \"--\", with trailing space, or prefixes of others") {
    std::string dashes = crlf(
        "Content-Type: multipart/mixed; boundary=\"x--\"\n\n--x--\n\none\n--x-- \n\ntwo\n"
        "--x----\nepilogue\n");
    ParsedMessage a = parse(dashes);
    REQUIRE(a.root.children.size() == 2);
    CHECK(body_of(dashes, a.root.children[0]) == "one");
    CHECK(body_of(dashes, a.root.children[1]) == "two");
    std::string space = crlf(
        "Content-Type: multipart/mixed; boundary=\"s \"\n\n--s \n\none\n--s\n\nnot a part\n"
        "--s --\n");
    ParsedMessage b = parse(space);
    REQUIRE(b.root.children.size() == 1);
    CHECK(body_of(space, b.root.children[0]) == "one\r\n--s\r\n\r\nnot a part");
    const char* prefix =
        "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
        "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\ninner\n--ab--\n"
        "--a\n\nouter\n--a--\n";
    std::string p = crlf(prefix);
    ParsedMessage c = parse(p);
    REQUIRE(c.root.children.size() == 2);
    REQUIRE(c.root.children[0].children.size() == 1);
    CHECK(body_of(p, c.root.children[0].children[0]) == "inner");
    CHECK(body_of(p, c.root.children[1]) == "outer");
    grind(prefix);
}

TEST_CASE("multipart: missing close delimiter, last part runs to the end") {
    std::string raw = crlf("Content-Type: multipart/mixed; boundary=t\n\n--t\n\nA\n--t\n\nB\n");
    ParsedMessage m = parse(raw);
    REQUIRE(m.root.children.size() == 2);
    CHECK(body_of(raw, m.root.children[0]) == "A");
    CHECK(body_of(raw, m.root.children[1]) == "B\r\n");
    CHECK(m.root.children[1].body_lines == 1);
}

TEST_CASE("multipart: an outer delimiter ends an unclosed inner multipart (RFC 2046 5.1.2)") {
    const char* v =
        "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
        "Content-Type: multipart/alternative; boundary=i\n\n--i\n\ninner\n"
        "--o\n\nsecond\n--o--\n";
    std::string raw = crlf(v);
    ParsedMessage m = parse(raw);
    REQUIRE(m.root.children.size() == 2);
    const Part& inner = m.root.children[0];
    REQUIRE(inner.children.size() == 1);
    CHECK(body_of(raw, inner.children[0]) == "inner");
    CHECK(body_of(raw, m.root.children[1]) == "second");
    grind(v);
}

TEST_CASE("multipart: part headers cut short by the next delimiter (as Dovecot's parser)") {
    // Offsets as Dovecot's test-message-parser.c expects them for the same shape.
    std::string raw =
        "Content-Type: multipart/mixed; boundary=\":foo\"\n\n--:foo\n--:foo\n"
        "Content-Type: text/plain\n--:foo\nContent-Type: text/plain\r\n--:foo\n"
        "Content-Type: text/html\n--:foo--\n";
    ParsedMessage m = parse(raw);
    CHECK(m.root.header_size == 48);
    CHECK(m.root.body_size == 112);
    CHECK(m.root.body_lines == 8);
    REQUIRE(m.root.children.size() == 4);
    const std::size_t offsets[] = {55, 62, 94, 127};
    const std::size_t headers[] = {0, 24, 24, 23};
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("part " << i + 1);
        CHECK(m.root.children[i].header_offset == offsets[i]);
        CHECK(m.root.children[i].header_size == headers[i]);
        CHECK(m.root.children[i].body_size == 0);
    }
}

TEST_CASE("multipart without boundary has no parts and shows one empty text/plain") {
    ParsedMessage m = parse(crlf("Content-Type: multipart/mixed\n\n--x\n\nx\n--x--\n"));
    CHECK(m.root.kind == PartKind::multipart);
    CHECK(m.root.children.empty());
    CHECK(imap_body(m) == "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
}

TEST_CASE("no body, empty body, empty message") {
    ParsedMessage a = parse(crlf("Subject: x"));
    CHECK(a.root.body_size == 0);
    CHECK(a.root.header_size == 10);
    ParsedMessage b = parse(crlf("Subject: x\n\n"));
    CHECK(b.root.body_size == 0);
    CHECK(b.root.body_offset == 14);
    ParsedMessage c = parse("");
    CHECK(c.size == 0);
    CHECK(c.root.body_size == 0);
    CHECK(imap_envelope(c.envelope) == "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    ParsedMessage d = parse(crlf("\nbody only\n"));
    CHECK(d.root.header_size == 2);
    CHECK(d.headers.empty());
}

TEST_CASE("message/rfc822: encapsulated envelope and body; encoded ones stay opaque") {
    const char* v = "Content-Type: message/rfc822\n\nSubject: inner\nFrom: c@d.example\n\nhello\n";
    std::string raw = crlf(v);
    ParsedMessage m = parse(raw);
    REQUIRE(m.root.kind == PartKind::message);
    REQUIRE(m.root.children.size() == 1);
    REQUIRE(m.root.envelope.has_value());
    CHECK(m.root.envelope->subject == "inner");
    CHECK(header_of(raw, m.root.children[0]) == "Subject: inner\r\nFrom: c@d.example\r\n\r\n");
    CHECK(imap_body(m) ==
          "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 44 (NIL \"inner\" ((NIL NIL \"c\" "
          "\"d.example\")) ((NIL NIL \"c\" \"d.example\")) ((NIL NIL \"c\" \"d.example\")) NIL "
          "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1) 4)");
    grind(v);
    ParsedMessage b64 =
        parse(crlf("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n"));
    CHECK(b64.root.kind == PartKind::leaf);
    CHECK(imap_body(b64) == "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 18)");
}

TEST_CASE("multipart/digest parts default to message/rfc822 (RFC 2046 5.1.5)") {
    ParsedMessage m = parse(crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--\n"));
    REQUIRE(m.root.children.size() == 1);
    CHECK(m.root.children[0].kind == PartKind::message);
    CHECK(m.root.children[0].envelope->subject == "one");
}

TEST_CASE("content fields: parameters, disposition, language, location, md5, id") {
    ParsedMessage m =
        parse(crlf("Content-Type: Application/X-Thing; A=\"q \\\"x\\\"\"; b=tok (comment); c*=utf-8''%41\n"
                   "Content-Disposition: attachment; filename=\"a b.txt\"; size=3\n"
                   "Content-Language: en-US, ja\n"
                   "Content-Location: http://x.example/a\n"
                   "Content-MD5: abc=\n"
                   "Content-ID: <id@x>\n"
                   "Content-Description: some\n words\n"
                   "Content-Transfer-Encoding: Base64\n\nAAAA\n"));
    const Part& p = m.root;
    CHECK(p.type == "Application");
    CHECK(p.subtype == "X-Thing");
    REQUIRE(p.params.size() == 3);
    CHECK(p.params[0] == Param{"A", "q \"x\""});
    CHECK(p.params[1] == Param{"b", "tok"});
    CHECK(p.params[2] == Param{"c*", "utf-8''%41"});
    CHECK(imap_bodystructure(m) ==
          "(\"Application\" \"X-Thing\" (\"A\" \"q \\\"x\\\"\" \"b\" \"tok\" \"c*\" "
          "\"utf-8''%41\") \"<id@x>\" \"some words\" \"Base64\" 6 \"abc=\" (\"attachment\" "
          "(\"filename\" \"a b.txt\" \"size\" \"3\")) (\"en-US\" \"ja\") \"http://x.example/a\")");
}

TEST_CASE("envelope: defaults, last field wins, NIL versus empty, groups") {
    ParsedMessage m =
        parse(crlf("Date: d1\nDate: d2\nSubject:\nFrom: A <a@x.example>\nSender: \n"
                   "To: g: b@y.example;, c@z.example (Cee)\nMessage-ID: <m@x>\n\n"));
    CHECK(imap_envelope(m.envelope) ==
          "(\"d2\" \"\" ((\"A\" NIL \"a\" \"x.example\")) ((\"A\" NIL \"a\" \"x.example\")) "
          "((\"A\" NIL \"a\" \"x.example\")) ((NIL NIL \"g\" NIL)(NIL NIL \"b\" \"y.example\")"
          "(NIL NIL NIL NIL)(\"Cee\" NIL \"c\" \"z.example\")) NIL NIL NIL \"<m@x>\")");
}

TEST_CASE("IMAP strings: quoting, literals, folded and 8-bit texts as Dovecot writes them") {
    std::string s;
    append_imap_string(s, "a\"b\\c");
    CHECK(s == "\"a\\\"b\\\\c\"");
    s.clear();
    append_imap_string(s, "\"\"\"\"\"");  // five quotes: a literal
    CHECK(s == "{5}\r\n\"\"\"\"\"");
    s.clear();
    append_imap_string(s, "caf\xC3\xA9");
    CHECK(s == "{5}\r\ncaf\xC3\xA9");
    s.clear();
    append_imap_nstring_nolf(s, std::string("a\r\n b\r\nc"));
    CHECK(s == "\"a b c\"");
    s.clear();
    append_imap_nstring_nolf(s, std::nullopt);
    CHECK(s == "NIL");
    s.clear();
    append_imap_string_for_humans(s, "plain words");
    CHECK(s == "\"plain words\"");
    s.clear();
    append_imap_string_for_humans(s, " folded\r\n\tsubject  ");
    CHECK(s == "{14}\r\nfolded subject");
    s.clear();
    append_imap_string_for_humans(s, " \t ");
    CHECK(s == "\"\"");
    s.clear();
    append_imap_string_for_humans(s, "say \"hi\"");
    CHECK(s == "{8}\r\nsay \"hi\"");
    // The expectations of Dovecot's test-imap-quote.c.
    for (const char* blank : {"", " ", "  ", "\t", " \t", " \t "}) {
        s.clear();
        append_imap_string_for_humans(s, blank);
        CHECK(s == "\"\"");
    }
    for (const char* foo : {" foo", "\tfoo", "\t \tfoo", " foo ", " foo  ", " foo  \t  \t"}) {
        s.clear();
        append_imap_string_for_humans(s, foo);
        CHECK(s == "{3}\r\nfoo");
    }
    s.clear();
    append_imap_string(s, "\\\\\\\\");  // four backslashes: still quoted
    CHECK(s == "\"\\\\\\\\\\\\\\\\\"");
    s.clear();
    append_imap_string(s, "\x7f");
    CHECK(s == "\"\x7f\"");
    s.clear();
    append_imap_string(s, "\r");
    CHECK(s == "{1}\r\n\r");
}

TEST_CASE("envelope: obsolete route as in Dovecot's test-imap-envelope.c") {
    ParsedMessage m = parse(crlf("From: <@route:user@domain>\n\nbody\n"));
    CHECK(imap_envelope(m.envelope) ==
          "(NIL NIL ((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" "
          "\"domain\")) ((NIL \"@route\" \"user\" \"domain\")) NIL NIL NIL NIL NIL)");
}

TEST_CASE("find_part follows RFC 3501 6.4.5 section numbers") {
    std::string raw = crlf(
        "Content-Type: multipart/mixed; boundary=o\n\n--o\n\none\n--o\n"
        "Content-Type: message/rfc822\n\nSubject: in\n"
        "Content-Type: multipart/alternative; boundary=i\n\n--i\n\nA\n--i\n\nB\n--i--\n--o--\n");
    ParsedMessage m = parse(raw);
    CHECK(find_part(m, {}) == &m.root);
    REQUIRE(find_part(m, {1}) != nullptr);
    CHECK(body_of(raw, *find_part(m, {1})) == "one");
    CHECK(find_part(m, {2})->kind == PartKind::message);
    REQUIRE(find_part(m, {2, 2}) != nullptr);
    CHECK(body_of(raw, *find_part(m, {2, 2})) == "B");
    CHECK(find_part(m, {1, 1}) == nullptr);  // a leaf inside a multipart has no part 1
    CHECK(find_part(m, {3}) == nullptr);
    CHECK(find_part(m, {0}) == nullptr);
    ParsedMessage single = parse(crlf("Subject: x\n\nbody\n"));
    CHECK(find_part(single, {1}) == &single.root);
    CHECK(find_part(single, {2}) == nullptr);
}

TEST_CASE("limit: max_message_size") {
    std::string raw = crlf("Subject: x\n\nbody\n");
    ParseLimits l;
    l.max_message_size = raw.size();
    CHECK(parse_message(raw, l).ok());
    l.max_message_size = raw.size() - 1;
    auto r = parse_message(raw, l);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::limit_exceeded);
}

TEST_CASE("limit: max_header_field_size (name plus value, folds included)") {
    std::string raw = crlf("Subject: 0123456789\n folded\n\nb");
    ParseLimits l;
    l.max_header_field_size = 7 + 10 + 2 + 7;  // "Subject" + value with CRLF and " folded"
    ParsedMessage a = parse(raw, l);
    CHECK(a.headers[0].value == "0123456789\r\n folded");
    CHECK(a.degraded == 0);
    l.max_header_field_size -= 1;
    ParsedMessage b = parse(raw, l);
    CHECK(b.headers[0].value == "0123456789\r\n folde");
    CHECK((b.degraded & degraded_field_truncated) != 0);
    CHECK(b.headers[0].size == a.headers[0].size);  // the extent is still exact
    CHECK(b.root.body_offset == a.root.body_offset);
}

TEST_CASE("limit: max_header_block_size") {
    std::string raw = crlf("A: 1\nB: 2\n\nbody");
    ParseLimits l;
    l.max_header_block_size = 7;  // B starts at byte 6
    ParsedMessage a = parse(raw, l);
    CHECK(a.headers.size() == 2);
    CHECK(a.degraded == 0);
    l.max_header_block_size = 6;
    ParsedMessage b = parse(raw, l);
    CHECK(b.headers.size() == 1);
    CHECK((b.degraded & degraded_header_block) != 0);
    CHECK(b.root.body_offset == a.root.body_offset);
}

TEST_CASE("limit: max_header_fields") {
    std::string raw = crlf("A: 1\nB: 2\n continued\nC: 3\n\n");
    ParseLimits l;
    l.max_header_fields = 3;
    ParsedMessage a = parse(raw, l);
    CHECK(a.headers.size() == 3);
    CHECK(a.degraded == 0);
    l.max_header_fields = 2;
    ParsedMessage b = parse(raw, l);
    REQUIRE(b.headers.size() == 2);
    CHECK(b.headers[1].value == "2\r\n continued");
    CHECK((b.degraded & degraded_header_fields) != 0);
    CHECK(b.root.body_offset == a.root.body_offset);
}

TEST_CASE("limit: max_depth; a container at the limit becomes a text/plain leaf") {
    std::string raw = crlf(nested(5));
    ParseLimits l;
    l.max_depth = 5;
    ParsedMessage a = parse(raw, l);
    CHECK(a.degraded == 0);
    const Part* p = &a.root;
    for (int i = 0; i < 5; ++i) {
        REQUIRE(p->children.size() == 1);
        p = &p->children[0];
    }
    CHECK(p->kind == PartKind::leaf);
    CHECK(body_of(raw, *p) == "leaf");
    l.max_depth = 4;
    ParsedMessage b = parse(raw, l);
    CHECK((b.degraded & degraded_depth) != 0);
    p = &b.root;
    for (int i = 0; i < 4; ++i) {
        REQUIRE(p->children.size() == 1);
        p = &p->children[0];
    }
    CHECK(p->kind == PartKind::leaf);
    CHECK(p->type == "text");
    CHECK(p->subtype == "plain");
    CHECK(p->params.empty());
    CHECK(imap_part_structure(*p, false).rfind("(\"text\" \"plain\" (\"charset\" \"us-ascii\")", 0) == 0);
    // The default is deep enough for the corpus' 25 levels.
    ParsedMessage c = parse(crlf(nested(25)));
    CHECK(c.degraded == 0);
}

TEST_CASE("limit: max_parts") {
    std::string raw = crlf(with_parts(4));
    ParseLimits l;
    l.max_parts = 5;  // root + 4
    ParsedMessage a = parse(raw, l);
    CHECK(a.root.children.size() == 4);
    CHECK(a.degraded == 0);
    l.max_parts = 4;
    ParsedMessage b = parse(raw, l);
    CHECK(b.root.children.size() == 3);
    CHECK((b.degraded & degraded_parts) != 0);
    CHECK(body_of(raw, b.root.children[2]) == "part 2");  // earlier parts unchanged
}

TEST_CASE("limit: max_boundary_length") {
    std::string boundary(70, 'q');
    std::string raw = crlf("Content-Type: multipart/mixed; boundary=" + boundary + "\n\n--" + boundary + "\n\nx\n--" +
                           boundary + "--\n");
    ParseLimits l;
    l.max_boundary_length = 70;
    ParsedMessage a = parse(raw, l);
    CHECK(a.root.children.size() == 1);
    CHECK(a.degraded == 0);
    l.max_boundary_length = 69;
    ParsedMessage b = parse(raw, l);
    CHECK(b.root.children.empty());
    CHECK((b.degraded & degraded_boundary) != 0);
}

TEST_CASE("limit: max_params") {
    std::string raw = crlf("Content-Type: text/plain; a=1; b=2; c=3\n\n");
    ParseLimits l;
    l.max_params = 3;
    ParsedMessage a = parse(raw, l);
    CHECK(a.root.params.size() == 3);
    CHECK(a.degraded == 0);
    l.max_params = 2;
    ParsedMessage b = parse(raw, l);
    CHECK(b.root.params.size() == 2);
    CHECK((b.degraded & degraded_params) != 0);
}

TEST_CASE("limit: max_addresses, group markers kept balanced") {
    std::string raw = crlf("To: a@x, b@x, c@x\nCc: g: d@x, e@x;\n\n");
    ParseLimits l;
    l.max_addresses = 4;
    ParsedMessage a = parse(raw, l);
    CHECK(a.envelope.to.size() == 3);
    CHECK(a.envelope.cc.size() == 4);
    CHECK(a.degraded == 0);
    l.max_addresses = 3;
    ParsedMessage b = parse(raw, l);
    CHECK(b.envelope.to.size() == 3);
    REQUIRE(b.envelope.cc.size() == 3);  // start, d, end
    CHECK(b.envelope.cc[0].is_group_start());
    CHECK(b.envelope.cc[2].is_group_end());
    CHECK((b.degraded & degraded_addresses) != 0);
    l.max_addresses = 2;
    ParsedMessage c = parse(raw, l);
    CHECK(c.envelope.to.size() == 2);
    CHECK(c.envelope.cc.size() == 2);  // start and end only
}

TEST_CASE("bare LF and mixed line ends") {
    std::string raw = "Subject: lf\nContent-Type: multipart/mixed; boundary=z\n\n--z\r\n\nA\n--z\n\nB\r\n--z--\n";
    ParsedMessage m = parse(raw);
    REQUIRE(m.root.children.size() == 2);
    CHECK(body_of(raw, m.root.children[0]) == "A");
    CHECK(body_of(raw, m.root.children[1]) == "B");
    CHECK(m.envelope.subject == "lf");
}

TEST_CASE("8-bit header bytes survive as literals, NUL becomes U+FFFD (as Dovecot)") {
    std::string raw = std::string("Subject: caf\xE9 \0x\r\nDate: a\0b\r\n\r\n", 30);
    ParsedMessage m = parse(raw);
    REQUIRE(m.envelope.subject.has_value());
    CHECK(m.envelope.subject->size() == 7);  // kept raw in the structure
    std::string env = imap_envelope(m.envelope);
    CHECK(env.rfind("({5}\r\na\xEF\xBF\xBD"
                    "b {9}\r\ncaf\xE9 \xEF\xBF\xBDx NIL",
                    0) == 0);
    CHECK(env.find('\0') == std::string::npos);
}

TEST_CASE("a value of whitespace only keeps all but its first character (as Dovecot)") {
    ParsedMessage m = parse(crlf("Date:   \nSubject: \nMessage-ID:\n\n"));
    CHECK(m.envelope.date == "  ");
    CHECK(m.envelope.subject == "");
    CHECK(m.envelope.message_id == "");
    CHECK(imap_envelope(m.envelope) == "(\"  \" \"\" NIL NIL NIL NIL NIL NIL NIL \"\")");
}
