// pop3_reply_test.cpp: status lines with RFC 2449/3206 response codes, continuations,
// multi-line bodies with byte-stuffing (RFC 1939 3), streamed in any chunking with the same
// bytes, and TOP excerpts.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "pop3d/pop3_reply.h"

using namespace hikyaku::pop3;
using namespace std::string_literals;

TEST_CASE("status lines and response codes") {
    CHECK(format_reply(Reply::positive("2 320")) == "+OK 2 320\r\n");
    CHECK(format_reply(Reply::positive("")) == "+OK\r\n");
    CHECK(format_reply(Reply::negative("no such message")) == "-ERR no such message\r\n");
    CHECK(format_reply(Reply::negative("maildrop locked", ResponseCode::in_use)) ==
          "-ERR [IN-USE] maildrop locked\r\n");
    CHECK(format_reply(Reply::negative("wait", ResponseCode::login_delay)) == "-ERR [LOGIN-DELAY] wait\r\n");
    CHECK(format_reply(Reply::negative("try later", ResponseCode::sys_temp)) == "-ERR [SYS/TEMP] try later\r\n");
    CHECK(format_reply(Reply::negative("broken", ResponseCode::sys_perm)) == "-ERR [SYS/PERM] broken\r\n");
    CHECK(format_reply(Reply::negative("use STLS", ResponseCode::auth)) == "-ERR [AUTH] use STLS\r\n");
    CHECK(format_reply(Reply::negative("", ResponseCode::in_use)) == "-ERR [IN-USE]\r\n");
}

TEST_CASE("status text cannot inject lines and is bounded") {
    CHECK(format_reply(Reply::positive("a\r\n+OK b\0c"s)) == "+OK a??+OK b?c\r\n");
    const std::string exact(512 - 2 - 4, 'x');  // "+OK " is 4 octets
    CHECK(format_reply(Reply::positive(exact)).size() == 512);
    const auto over = format_reply(Reply::positive(exact + "yy"));
    CHECK(over.size() == 512);
    CHECK(over.substr(over.size() - 3) == "x\r\n");
}

TEST_CASE("continuations") {
    CHECK(format_continuation("") == "+ \r\n");
    CHECK(format_continuation("VXNlcm5hbWU6") == "+ VXNlcm5hbWU6\r\n");
}

TEST_CASE("byte-stuffing of whole bodies") {
    const auto status = Reply::positive("message follows");
    CHECK(format_multiline(status, "a\r\n.b\r\n..\r\n.\r\nc\r\n") ==
          "+OK message follows\r\na\r\n..b\r\n...\r\n..\r\nc\r\n.\r\n");
    CHECK(format_multiline(status, ".start\r\n") == "+OK message follows\r\n..start\r\n.\r\n");
    CHECK(format_multiline(status, "") == "+OK message follows\r\n.\r\n");
    // A missing final CRLF is supplied before the terminator.
    CHECK(format_multiline(status, "no newline") == "+OK message follows\r\nno newline\r\n.\r\n");
    CHECK(format_multiline(status, "x\r\n.") == "+OK message follows\r\nx\r\n..\r\n.\r\n");
    // A dot after a bare LF is stuffed too: no terminator can be smuggled.
    CHECK(format_multiline(status, "x\n.\r\n") == "+OK message follows\r\nx\n..\r\n.\r\n");
    // A dot not at line start is untouched.
    CHECK(format_multiline(status, "a.b\r\n") == "+OK message follows\r\na.b\r\n.\r\n");
    CHECK(format_multiline(Reply::positive(""), std::vector<std::string>{"1 100", ".odd", "2 200"}) ==
          "+OK\r\n1 100\r\n..odd\r\n2 200\r\n.\r\n");
    CHECK(format_multiline(Reply::positive(""), std::vector<std::string>{}) == "+OK\r\n.\r\n");
}

TEST_CASE("streamed stuffing equals whole-body stuffing for every split and chunk size") {
    const std::string bodies[] = {
        "a\r\n.b\r\n..\r\n.\r\nc\r\n", ".", "..", "x\r\n.", "\r\n.\r\n", "abc", "\r", "\r\n", ".\r\n.\r\n.\r\n",
        "line\r\n\r\n.\r\nend",
    };
    for (const auto& body : bodies) {
        CAPTURE(body);
        std::string whole;
        DotStuffer s;
        s.append(whole, body);
        s.finish(whole);
        for (std::size_t cut = 0; cut <= body.size(); ++cut) {
            std::string out;
            DotStuffer t;
            t.append(out, std::string_view(body).substr(0, cut));
            t.append(out, std::string_view(body).substr(cut));
            t.finish(out);
            CHECK(out == whole);
        }
        for (std::size_t size : {1, 2, 3, 7, 64}) {
            std::string out;
            DotStuffer t;
            for (std::size_t i = 0; i < body.size(); i += size) t.append(out, std::string_view(body).substr(i, size));
            t.finish(out);
            CHECK(out == whole);
        }
        // The result always ends with CRLF "." CRLF and has no unstuffed dot line.
        CHECK(whole.size() >= 3);
        CHECK(whole.substr(whole.size() - 3) == ".\r\n");
        REQUIRE(whole.size() >= 5);
        CHECK(whole.find("\r\n.\r\n") == whole.size() - 5);
        CHECK(whole.compare(0, 3, ".\r\n") != 0);
    }
    // A finished stuffer starts afresh.
    std::string out;
    DotStuffer s;
    s.append(out, "x");
    s.finish(out);
    s.append(out, ".y\r\n");
    s.finish(out);
    CHECK(out == "x\r\n.\r\n..y\r\n.\r\n");
}

// The stuffing rule stated byte by byte (RFC 1939 3: a line that starts with "." gets one
// more; a line starts after every LF), to check the vectorized stuffer against.
std::string stuffed_reference(std::string_view body) {
    std::string out;
    bool line_start = true;
    for (char c : body) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = c == '\n';
    }
    if (!body.empty() && !body.ends_with("\r\n")) out += "\r\n";
    return out + ".\r\n";
}

TEST_CASE("stuffing matches the byte-by-byte rule on random bodies cut at random places") {
    std::mt19937 random(20261126);
    const char alphabet[] = {'.', '.', '\r', '\n', '\n', 'a'};
    for (int round = 0; round < 2000; ++round) {
        std::string body(random() % 200, ' ');
        for (char& c : body) c = alphabet[random() % sizeof alphabet];
        std::string out;
        DotStuffer s;
        for (std::size_t at = 0; at < body.size();) {
            const std::size_t n = std::min<std::size_t>(body.size() - at, random() % 40);
            s.append(out, std::string_view(body).substr(at, n));
            at += n;
        }
        s.finish(out);
        CAPTURE(body);
        REQUIRE(out == stuffed_reference(body));
    }
}

TEST_CASE("TOP excerpts") {
    const std::string msg = "Subject: s\r\nFrom: f\r\n\r\nl1\r\nl2\r\nl3\r\n";
    CHECK(top_excerpt(msg, 0) == "Subject: s\r\nFrom: f\r\n\r\n");
    CHECK(top_excerpt(msg, 1) == "Subject: s\r\nFrom: f\r\n\r\nl1\r\n");
    CHECK(top_excerpt(msg, 3) == msg);
    CHECK(top_excerpt(msg, 4) == msg);
    CHECK(top_excerpt(msg, 0xFFFFFFFFu) == msg);
    const std::string no_final = "H: v\r\n\r\nl1\r\nl2";
    CHECK(top_excerpt(no_final, 1) == "H: v\r\n\r\nl1\r\n");
    CHECK(top_excerpt(no_final, 2) == no_final);
    CHECK(top_excerpt("H: v\r\n", 5) == "H: v\r\n");  // no body at all
    CHECK(top_excerpt("", 5) == "");
    CHECK(top_excerpt("\r\nbody\r\n", 0) == "\r\n");  // empty header
}
