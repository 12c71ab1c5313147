// reply_test.cpp: one formatter for every reply: single and multiline, enhanced codes
// (RFC 2034), no injection of CR/LF from echoed text, the 512-octet line bound.
#include <doctest/doctest.h>

#include <string>

#include "smtpd/reply.h"

using namespace hikyaku::smtp;
using namespace std::string_literals;

TEST_CASE("single line with and without enhanced code") {
    CHECK(format_reply(Reply(250, EnhancedCode{2, 1, 0}, "Ok")) == "250 2.1.0 Ok\r\n");
    CHECK(format_reply(Reply(220, std::nullopt, "mx.example ESMTP")) == "220 mx.example ESMTP\r\n");
    CHECK(format_reply(Reply(354, std::nullopt, "End data with <CR><LF>.<CR><LF>")) ==
          "354 End data with <CR><LF>.<CR><LF>\r\n");
    CHECK(format_reply(Reply(250, std::nullopt, "")) == "250\r\n");
    CHECK(format_reply(Reply(250, EnhancedCode{2, 0, 0}, "")) == "250 2.0.0\r\n");
    Reply none;
    none.code = 221;
    CHECK(format_reply(none) == "221\r\n");
    CHECK(EnhancedCode{5, 7, 1}.to_string() == "5.7.1");
    CHECK(EnhancedCode{4, 5, 3}.to_string() == "4.5.3");
}

TEST_CASE("multiline: hyphen on all but the last line") {
    Reply ehlo(250, std::nullopt, std::vector<std::string>{"mx.example", "PIPELINING", "SIZE 10240000", "8BITMIME"});
    CHECK(format_reply(ehlo) == "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n");
    Reply help(214, EnhancedCode{2, 0, 0}, std::vector<std::string>{"a", "b"});
    CHECK(format_reply(help) == "214-2.0.0 a\r\n214 2.0.0 b\r\n");
    Reply blank(250, std::nullopt, std::vector<std::string>{"", ""});
    CHECK(format_reply(blank) == "250-\r\n250\r\n");
}

TEST_CASE("control characters in text never reach the wire") {
    const auto out = format_reply(Reply(250, EnhancedCode{2, 0, 0}, "hi\r\n250 fake\0x\x7f\xc3\xa4\tend"s));
    CHECK(out == std::string("250 2.0.0 hi??250 fake?x???\tend\r\n"));
    CHECK(describe_reply(Reply(550, EnhancedCode{5, 1, 1}, "no\r\nsuch")) == "550 5.1.1 no??such");
    CHECK(describe_reply(Reply(250, std::nullopt, std::vector<std::string>{"a", "b"})) == "250 a | b");
}

TEST_CASE("each line at most 512 octets including CRLF") {
    const std::string exact(512 - 2 - 10, 'x');  // "250 2.0.0 " is 10 octets
    auto out = format_reply(Reply(250, EnhancedCode{2, 0, 0}, exact));
    CHECK(out.size() == 512);
    CHECK(out == "250 2.0.0 " + exact + "\r\n");
    auto over = format_reply(Reply(250, EnhancedCode{2, 0, 0}, exact + "yz"));
    CHECK(over.size() == 512);
    CHECK(over == "250 2.0.0 " + exact + "\r\n");
    Reply multi(250, std::nullopt, std::vector<std::string>{std::string(600, 'a'), std::string(600, 'b')});
    auto m = format_reply(multi);
    CHECK(m.size() == 1024);
    CHECK(m.substr(0, 4) == "250-");
    CHECK(m.substr(510, 6) == "\r\n250 ");
}

TEST_CASE("reply classes") {
    CHECK(Reply(250, std::nullopt, "").positive());
    CHECK(Reply(354, std::nullopt, "").positive());
    CHECK(Reply(451, std::nullopt, "").transient_failure());
    CHECK(Reply(554, std::nullopt, "").permanent_failure());
    CHECK(Reply(421, std::nullopt, "").closes_connection());
    CHECK_FALSE(Reply(450, std::nullopt, "").closes_connection());
}
