// imap_url_test.cpp: the IMAP URLs CATENATE takes (imapd/imap_url, RFC 5092, RFC 4469): the
// relative and absolute forms with every optional piece, percent-decoding, each refusal, each
// bound at the limit and one past it, and the [BADURL] text.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "imapd/imap_url.h"

using namespace hikyaku::imap;

namespace {

ImapUrl ok(std::string_view url, const GrammarLimits& limits = {}) {
    auto r = parse_imap_url(url, limits);
    if (auto* e = std::get_if<UrlError>(&r)) FAIL("refused: " << url << ": " << e->reason);
    return std::get<ImapUrl>(r);
}

std::string refused(std::string_view url, const GrammarLimits& limits = {}) {
    auto r = parse_imap_url(url, limits);
    REQUIRE_MESSAGE(std::holds_alternative<UrlError>(r), "accepted: " << url);
    const std::string reason = std::get<UrlError>(r).reason;
    CHECK_FALSE(reason.empty());
    return reason;
}

}  // namespace

TEST_CASE("relative URLs: mailbox, UIDVALIDITY, UID, SECTION, PARTIAL (RFC 5092 imessagepart)") {
    ImapUrl u = ok("/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9");
    CHECK_FALSE(u.absolute);
    CHECK(u.mailbox == "INBOX");
    CHECK(u.uidvalidity == 785799047u);
    CHECK(u.uid == 113330u);
    REQUIRE(u.section);
    CHECK(u.section->part == std::vector<std::uint32_t>{1, 5, 9});
    CHECK_FALSE(u.partial);
    // Without UIDVALIDITY, keywords in any case (imaptest writes them in lower case).
    u = ok("/imaptest/;uid=2/;section=header");
    CHECK(u.mailbox == "imaptest");
    CHECK_FALSE(u.uidvalidity);
    CHECK(u.section->text == SectionText::header);
    // A whole message; a hierarchy and percent-encoded UTF-8 in the mailbox.
    u = ok("/Archive/2024/%C3%A9t%C3%A9/;UID=7");
    CHECK(u.mailbox == "Archive/2024/\xC3\xA9t\xC3\xA9");
    CHECK_FALSE(u.section);
    // PARTIAL with and without a length; a section with spaces, encoded.
    u = ok("/INBOX/;UID=1/;PARTIAL=100000.1");
    CHECK(u.partial == UrlPartial{100000, 1});
    u = ok("/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(From%20To)/;PARTIAL=0");
    CHECK(u.section->fields == std::vector<std::string>{"From", "To"});
    CHECK(u.partial == UrlPartial{0, std::nullopt});
    CHECK(ok("/INBOX/;UID=4294967295").uid == 4294967295u);
}

TEST_CASE("absolute URLs: user, ;AUTH=, host, port (RFC 5092 iserver)") {
    ImapUrl u = ok("imap://alice%40example.test@Mail.Example.TEST:143/INBOX/;UID=3");
    CHECK(u.absolute);
    CHECK(u.user == "alice@example.test");
    CHECK(u.host == "mail.example.test");
    CHECK(u.port == 143);
    CHECK(u.mailbox == "INBOX");
    u = ok("IMAP://bob;AUTH=*@localhost/INBOX;UIDVALIDITY=9/;UID=1/;SECTION=TEXT");
    CHECK(u.user == "bob");
    CHECK_FALSE(u.port);
    u = ok("imap://bob;AUTH=PLAIN@[::1]:1143/INBOX/;UID=1");
    CHECK(u.host == "[::1]");
    CHECK(u.port == 1143);
    u = ok("imap://127.0.0.1/INBOX/;UID=1");
    CHECK_FALSE(u.user);
    CHECK(u.host == "127.0.0.1");
}

TEST_CASE("refused URLs: not a message, bad characters and escapes, numbers, URLAUTH") {
    for (const char* url : {
             "INBOX/;UID=1",                                                  // not "/" nor "imap://"
             "/INBOX",                                                        // a mailbox, not a message
             "/INBOX?SUBJECT%20x",                                            // a message list
             "/INBOX/;UID=1?x",                                               // trailing text
             "/;UID=1",                                                       // no mailbox
             "//;UID=1",                                                      // an empty mailbox name
             "/INBOX;UID=1",                                                  // ";UID=" needs its "/"
             "/INBOX/;UID=0",                                                 // nz-number
             "/INBOX/;UID=01",                                                // no leading zero
             "/INBOX/;UID=4294967296",                                        // 32-bit
             "/INBOX/;UID=",                                                  //
             "/INBOX;UIDVALIDITY=0/;UID=1",                                   //
             "/INBOX;UIDVALIDITY=1;UID=1",                                    //
             "/INBOX/;UID=1/;SECTION=",                                       // empty section
             "/INBOX/;UID=1/;SECTION=MIME",                                   // not a section-spec
             "/INBOX/;UID=1/;SECTION=1]%20x",                                 // "]" cannot end it early
             "/INBOX/;UID=1/;SECTION=1;PARTIAL=1",                            // "/" before ";PARTIAL="
             "/INBOX/;UID=1/;PARTIAL=x",                                      //
             "/INBOX/;UID=1/;PARTIAL=1.0",                                    // length is nz-number
             "/INBOX/;UID=1/;PARTIAL=4294967296",                             //
             "/INBOX/;UID=1;EXPIRE=2025-01-01T00:00:00Z;URLAUTH=user+alice",  // URLAUTH
             "/INBOX/;UID=1;URLAUTH=anonymous",                               //
             "/INBOX/;UID=1#frag",                                            //
             "/IN BOX/;UID=1",                                                // SP is not a bchar
             "/IN\"BOX/;UID=1",                                               //
             "/INBOX%/;UID=1",                                                // bad escapes
             "/INBOX%4/;UID=1",                                               //
             "/INBOX%G0/;UID=1",                                              //
             "/IN%00BOX/;UID=1",                                              // NUL
             "imap://localhost",                                              // no path
             "imap:///INBOX/;UID=1",                                          // no host
             "imap://a@/INBOX/;UID=1",                                        //
             "imap://a b@host/INBOX/;UID=1",                                  //
             "imap://a;AUTH=@host/INBOX/;UID=1",                              //
             "imap://a;X=1@host/INBOX/;UID=1",                                //
             "imap://host:/INBOX/;UID=1",                                     // empty port
             "imap://host:65536/INBOX/;UID=1",                                //
             "imap://host:x/INBOX/;UID=1",                                    //
             "imap://ho_st/INBOX/;UID=1",                                     //
             "imap://[::1/INBOX/;UID=1",                                      //
             "imap://[::1]x/INBOX/;UID=1",                                    //
             "imap://[zz]/INBOX/;UID=1",                                      //
             "http://host/INBOX/;UID=1",                                      //
         }) {
        CAPTURE(url);
        refused(url);
    }
}

TEST_CASE("bounds: URL length, section nesting, header field names") {
    GrammarLimits limits;
    limits.max_catenate_url_length = 16;
    CHECK(ok("/INBOX/;UID=1234", limits).uid == 1234u);  // 16 octets
    CHECK(refused("/INBOX/;UID=12345", limits) == "URL too long");
    CHECK(refused(std::string(kMaxCatenateUrlLength + 1, '/')) == "URL too long");
    limits = {};
    limits.max_section_parts = 3;
    CHECK(ok("/INBOX/;UID=1/;SECTION=1.2.3", limits).section->part.size() == 3);
    CHECK(refused("/INBOX/;UID=1/;SECTION=1.2.3.4", limits).starts_with("invalid SECTION"));
    limits.max_header_field_names = 1;
    CHECK(ok("/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(A)", limits).section);
    CHECK(refused("/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(A%20B)", limits).starts_with("invalid SECTION"));
}

TEST_CASE("badurl_text: the URL as url-resp-text (RFC 4469 5, errata 2002)") {
    CHECK(badurl_text("/INBOX;UIDVALIDITY=1/;UID=2") == "/INBOX;UIDVALIDITY=1/;UID=2");
    CHECK(badurl_text("/a]b c\r\n\x80") == "/a%5Db%20c%0D%0A%80");
    CHECK(badurl_text("") == "\"\"");
    CHECK(badurl_text(std::string(10000, ']')).size() <= kMaxCatenateUrlLength + 2);
}
