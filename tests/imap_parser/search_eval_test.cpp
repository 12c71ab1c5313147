// search_eval_test.cpp: SEARCH programs evaluated against messages through the SearchMessage
// interface: every key's semantics (flags, NEW/OLD/RECENT, keywords, sizes, sequence and UID
// sets with "*" and "$", internal dates in their own zone, SENT* from the Date header,
// OLDER/YOUNGER, MODSEQ), header and text search after RFC 2047, transfer-encoding and charset
// decoding with case folding, empty strings, CHARSET conversion and refusal, laziness (the
// header and body are read only when a key needs them, once), and the work bound.
#include <algorithm>
#include <doctest/doctest.h>

#include "common/mime/message.h"
#include "imapd/search_eval.h"

using namespace hikyaku;
using namespace hikyaku::imap;
using namespace std::chrono;

namespace {

const std::string kRaw =
    "From: Alice Example <alice@example.org>\r\n"
    "To: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.de>\r\n"
    "Subject: =?UTF-8?Q?Caf=C3=A9?= order\r\n"
    "Date: Mon, 1 Jan 2024 23:30:00 -0100\r\n"
    "X-Spam: \r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Un caf=E9 au LAIT, s'il vous pla=EEt\r\n"
    "--b\r\n"
    "Content-Type: image/png\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c2VjcmV0IGltYWdlIHRleHQ=\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: forwarded note\r\n"
    "\r\n"
    "Inner words here\r\n"
    "--b--\r\n";

class TestMessage : public SearchMessage {
public:
    TestMessage() {
        auto m = mime::parse_message(kRaw);
        REQUIRE(m.ok());
        parsed = *m;
        body = searchable_body_text(kRaw, parsed);
    }
    std::uint32_t sequence_number() const override { return seq; }
    std::uint32_t uid() const override { return uid_value; }
    storage::Flags flags() const override { return flag_bits; }
    bool recent() const override { return is_recent; }
    bool has_keyword(std::string_view k) const override {
        for (const auto& kw : keywords)
            if (mime::iequals(kw, k)) return true;
        return false;
    }
    DateTime internal_date() const override { return date; }
    std::uint64_t size() const override { return kRaw.size(); }
    std::uint64_t modseq() const override { return mod; }
    const std::vector<mime::HeaderField>& header_fields() override {
        ++header_reads;
        return parsed.headers;
    }
    const std::string& body_text() override {
        ++body_reads;
        return body;
    }

    mime::ParsedMessage parsed;
    std::string body;
    std::uint32_t seq = 3, uid_value = 30;
    storage::Flags flag_bits = storage::flag_seen | storage::flag_flagged;
    bool is_recent = false;
    std::vector<std::string> keywords{"$Forwarded"};
    DateTime date = *parse_date_time("01-Jan-2024 23:30:00 -0100");
    std::uint64_t mod = 100;
    int header_reads = 0, body_reads = 0;
};

SearchArgs search_args(const std::string& keys) {
    FramedCommand framed;
    framed.lines.front() = "a SEARCH " + keys;
    auto r = parse_command(framed);
    REQUIRE_MESSAGE(std::holds_alternative<Command>(r), keys << ": " << std::get<CommandError>(r).text);
    return *std::get<Command>(r).get<SearchArgs>();
}

SearchContext context() {
    SearchContext c;
    c.message_count = 5;
    c.highest_uid = 50;
    c.now = sys_days(year{2024} / January / 10);
    return c;
}

SearchOutcome eval(TestMessage& m, const std::string& keys, const SearchContext& c = context(),
                   const EvalLimits& limits = {}) {
    auto program = SearchProgram::prepare(search_args(keys));
    REQUIRE(program.ok());
    return program->evaluate(m, c, limits);
}

bool matches(const std::string& keys) {
    TestMessage m;
    const auto outcome = eval(m, keys);
    REQUIRE(outcome != SearchOutcome::too_costly);
    return outcome == SearchOutcome::match;
}

}  // namespace

TEST_CASE("flags, keywords, sizes, modseq") {
    for (const char* yes : {"ALL", "SEEN", "FLAGGED", "UNANSWERED", "UNDELETED", "UNDRAFT", "OLD", "KEYWORD $forwarded",
                            "UNKEYWORD $Junk", "LARGER 10", "SMALLER 100000", "MODSEQ 100", "MODSEQ 0", "NOT RECENT"}) {
        CAPTURE(yes);
        CHECK(matches(yes));
    }
    for (const char* no : {"UNSEEN", "UNFLAGGED", "ANSWERED", "DELETED", "DRAFT", "NEW", "RECENT", "KEYWORD $Junk",
                           "UNKEYWORD $Forwarded", "LARGER 100000", "SMALLER 10", "MODSEQ 101"}) {
        CAPTURE(no);
        CHECK_FALSE(matches(no));
    }
    TestMessage m;
    m.is_recent = true;
    m.flag_bits = 0;
    CHECK(eval(m, "NEW") == SearchOutcome::match);
    CHECK(eval(m, "OLD") == SearchOutcome::no_match);
    const auto size = std::to_string(kRaw.size());
    CHECK_FALSE(matches("LARGER " + size));
    CHECK_FALSE(matches("SMALLER " + size));
}

TEST_CASE("sequence sets, UID sets, '*' and '$'") {
    CHECK(matches("3"));
    CHECK(matches("1:3"));
    CHECK(matches("2,4:*,3"));
    CHECK_FALSE(matches("4:*"));
    CHECK(matches("UID 30"));
    CHECK(matches("UID 20:*"));
    CHECK_FALSE(matches("UID 31:*"));
    TestMessage m;
    m.uid_value = 50;
    CHECK(eval(m, "UID 60:*") == SearchOutcome::match);  // "*" is the highest UID, 50
    SearchContext c = context();
    const std::vector<std::uint32_t> saved{10, 30, 40};
    c.saved_uids = saved;
    TestMessage n;
    CHECK(eval(n, "$", c) == SearchOutcome::match);
    CHECK(eval(n, "UID $", c) == SearchOutcome::match);
    CHECK(eval(n, "NOT $", c) == SearchOutcome::no_match);
    CHECK(eval(n, "$") == SearchOutcome::no_match);  // nothing saved
    CHECK(SearchProgram::prepare(search_args("UID $"))->uses_saved_result());
    CHECK_FALSE(SearchProgram::prepare(search_args("UID 1"))->uses_saved_result());
}

TEST_CASE("dates: internal date in its own zone, SENT* from the Date header, OLDER/YOUNGER") {
    // 01-Jan-2024 23:30 -0100 is 2 January in UTC; the client's day is 1 January.
    CHECK(matches("ON 1-Jan-2024"));
    CHECK_FALSE(matches("ON 2-Jan-2024"));
    CHECK(matches("BEFORE 2-Jan-2024"));
    CHECK_FALSE(matches("BEFORE 1-Jan-2024"));
    CHECK(matches("SINCE 1-Jan-2024"));
    CHECK_FALSE(matches("SINCE 2-Jan-2024"));
    CHECK(matches("SENTON 1-Jan-2024"));
    CHECK(matches("SENTBEFORE 2-Jan-2024"));
    CHECK(matches("SENTSINCE 1-Jan-2024"));
    CHECK_FALSE(matches("SENTSINCE 2-Jan-2024"));
    // now = 10 January 00:00 UTC; the internal date is 2 January 00:30 UTC.
    const auto age = duration_cast<seconds>(sys_days(year{2024} / January / 10) -
                                            (sys_days(year{2024} / January / 2) + minutes(30)));
    CHECK(matches("OLDER " + std::to_string(age.count())));
    CHECK_FALSE(matches("OLDER " + std::to_string(age.count() + 1)));
    CHECK(matches("YOUNGER " + std::to_string(age.count() + 1)));
    CHECK_FALSE(matches("YOUNGER " + std::to_string(age.count())));
    // Without a readable Date header, no SENT* key matches (and NOT of one does).
    TestMessage m;
    for (auto& f : m.parsed.headers)
        if (f.name == "Date") f.value = "not a date";
    CHECK(eval(m, "SENTBEFORE 1-Jan-2100") == SearchOutcome::no_match);
    CHECK(eval(m, "SENTSINCE 1-Jan-1970") == SearchOutcome::no_match);
    CHECK(eval(m, "NOT SENTON 1-Jan-2024") == SearchOutcome::match);
}

TEST_CASE("header search: decoded, case-insensitive, empty strings") {
    CHECK(matches("FROM alice"));
    CHECK(matches("FROM \"ALICE EXAMPLE\""));
    CHECK(matches("FROM example.org"));
    CHECK_FALSE(matches("FROM bob"));
    CHECK(matches("TO \"J\xc3\x9cRGEN\""));           // decoded RFC 2047, folded Ü
    CHECK(matches("SUBJECT \"caf\xc3\x89 ORDER\""));  // É folds to é
    CHECK_FALSE(matches("SUBJECT =C3=A9"));           // the encoded form is not the text
    CHECK_FALSE(matches("CC x"));
    CHECK_FALSE(matches("BCC x"));
    CHECK(matches("HEADER x-spam \"\""));  // the field exists
    CHECK_FALSE(matches("HEADER X-Missing \"\""));
    CHECK(matches("HEADER Subject order"));
    CHECK(matches("SUBJECT \"\""));
    CHECK_FALSE(matches("CC \"\""));
}

TEST_CASE("body and text search: transfer encodings, charsets, attached messages") {
    CHECK(matches("BODY \"caf\xc3\xa9 au lait\""));  // QP and ISO-8859-1 undone, case folded
    CHECK(matches("BODY \"PLA\xc3\x8eT\""));
    CHECK_FALSE(matches("BODY caf=E9"));
    CHECK(matches("BODY \"inner words\""));         // the attached message's text
    CHECK(matches("BODY \"forwarded note\""));      // and its header
    CHECK_FALSE(matches("BODY \"secret image\""));  // not a text part
    CHECK_FALSE(matches("BODY alice"));             // BODY is not the top-level header
    CHECK(matches("TEXT alice"));
    CHECK(matches("TEXT lait"));
    CHECK(matches("BODY \"\""));
    CHECK(matches("TEXT \"\""));
    CHECK(matches("OR BODY nothing-here TEXT ALICE"));
    CHECK_FALSE(matches("NOT TEXT alice"));
    CHECK(matches("(SEEN (FLAGGED BODY lait)) NOT DELETED"));
}

TEST_CASE("CHARSET: conversion and refusal") {
    CHECK(matches("CHARSET ISO-8859-1 BODY \"caf\xe9\""));
    CHECK(matches("CHARSET UTF-8 BODY \"caf\xc3\xa9\""));
    CHECK(matches("CHARSET us-ascii BODY lait"));
    auto bad = SearchProgram::prepare(search_args("CHARSET X-NO-SUCH-CHARSET BODY x"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::unsupported);
}

TEST_CASE("laziness: the header and the body are read only when needed, once") {
    TestMessage m;
    CHECK(eval(m, "SEEN FLAGGED UID 1:* LARGER 1") == SearchOutcome::match);
    CHECK(m.header_reads == 0);
    CHECK(m.body_reads == 0);
    CHECK(eval(m, "BODY lait BODY caf TEXT order") == SearchOutcome::match);
    CHECK(m.body_reads == 1);
    auto p = SearchProgram::prepare(search_args("BODY x"));
    CHECK(p->needs_body());
    CHECK_FALSE(p->needs_header());
    p = SearchProgram::prepare(search_args("SENTON 1-Jan-2024"));
    CHECK(p->needs_header());
    CHECK_FALSE(p->needs_body());
    p = SearchProgram::prepare(search_args("SEEN"));
    CHECK_FALSE(p->needs_header());
    CHECK_FALSE(p->needs_body());
}

TEST_CASE("the work bound") {
    TestMessage m;
    EvalLimits limits;
    limits.max_work = 10;
    CHECK(eval(m, "BODY lait", context(), limits) == SearchOutcome::too_costly);
    CHECK(eval(m, "SEEN", context(), limits) == SearchOutcome::match);
    limits.max_work = 1 << 20;
    std::string many = "BODY lait";
    for (int i = 0; i < 450; ++i) many += " NOT BODY x-" + std::to_string(i);  // 901 keys, all evaluated
    // Each key scans the body; many keys on one message pass the bound.
    CHECK(eval(m, many, context(), limits) == SearchOutcome::match);
    limits.max_work = 4096;
    CHECK(eval(m, many, context(), limits) == SearchOutcome::too_costly);
}

TEST_CASE("searchable body text: at its bound and past it") {
    auto m = mime::parse_message(kRaw);
    REQUIRE(m.ok());
    const std::string all = searchable_body_text(kRaw, *m);
    CHECK(all.starts_with("Un caf\xc3\xa9 au LAIT"));
    CHECK(all.find("forwarded note") != std::string::npos);
    CHECK(searchable_body_text(kRaw, *m, all.size()) == all);
    CHECK(searchable_body_text(kRaw, *m, all.size() - 1) == all.substr(0, all.size() - 1));
    CHECK(searchable_body_text(kRaw, *m, 0).empty());
}

TEST_CASE("case folding") {
    CHECK(search_fold("ABC xyz") == "abc xyz");
    CHECK(search_fold("\xc3\x80\xc3\x89\xc3\x8e\xc3\x97") == "\xc3\xa0\xc3\xa9\xc3\xae\xc3\x97");  // ÀÉÎ×
    CHECK(search_fold("\xce\xa3\xce\x91\xcf\x82") == "\xcf\x83\xce\xb1\xcf\x83");                  // ΣΑς
    CHECK(search_fold("\xd0\x96\xd0\x81") == "\xd0\xb6\xd1\x91");                                  // ЖЁ
    CHECK(search_fold("\xc4\xb0\xc5\x81\xc5\xb8") == "i\xc5\x82\xc3\xbf");                         // İŁŸ
    CHECK(search_fold("a\xff"
                      "b") ==
          "a\xef\xbf\xbd"
          "b");
}

TEST_CASE("required_texts: the BODY and TEXT keys every match needs, for the full-text index") {
    const auto required = [](const std::string& keys) {
        auto program = SearchProgram::prepare(search_args(keys));
        REQUIRE(program.ok());
        std::vector<std::string> out;
        for (const auto& r : program->required_texts()) out.push_back((r.with_header ? "TEXT " : "BODY ") + r.needle);
        std::sort(out.begin(), out.end());
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(required("BODY Quick") == V{"BODY quick"});  // folded as the matcher folds
    CHECK(required("TEXT \"Grüße\"") == V{"TEXT grüße"});
    CHECK(required("BODY abc SEEN (TEXT def (BODY ghi FROM x))") == V{"BODY abc", "BODY ghi", "TEXT def"});
    // Under OR or NOT a key is not required; other keys never are; "" matches everything.
    CHECK(required("OR BODY abc BODY def") == V{});
    CHECK(required("NOT BODY abc") == V{});
    CHECK(required("SUBJECT abc FROM def HEADER X-A ghi") == V{});
    CHECK(required("BODY \"\"") == V{});
    CHECK(required("OR SEEN BODY abc TEXT xyz") == V{"TEXT xyz"});
}
