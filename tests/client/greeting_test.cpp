// greeting_test.cpp: common/client/greeting: which protocol a first line belongs to, and the
// implicit-TLS ports.
#include <doctest/doctest.h>

#include <string>

#include "common/client/greeting.h"

using namespace hikyaku::client;
using namespace std::string_literals;

TEST_CASE("greetings of each protocol") {
    CHECK(classify_greeting("220 mx.example ESMTP Postfix\r\n") == ServerKind::smtp);
    CHECK(classify_greeting("220-mx.example ESMTP\r\n220 ready\r\n") == ServerKind::smtp);
    CHECK(classify_greeting("554 5.7.1 go away\r\n") == ServerKind::smtp);
    CHECK(classify_greeting("+OK Dovecot ready.\r\n") == ServerKind::pop3);
    CHECK(classify_greeting("-ERR too many connections\r\n") == ServerKind::pop3);
    CHECK(classify_greeting("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n") == ServerKind::imap);
    CHECK(classify_greeting("* PREAUTH ready\r\n") == ServerKind::imap);
    CHECK(classify_greeting("* bye\r\n") == ServerKind::imap);
    CHECK(classify_greeting("\x16\x03\x03\x00\x7a\x02"s) == ServerKind::tls);      // a ServerHello record
    CHECK(classify_greeting("\x15\x03\x01\x00\x02\x02\x46"s) == ServerKind::tls);  // an alert
    CHECK(classify_greeting("SSH-2.0-OpenSSH_9.2\r\n") == ServerKind::unknown);
    CHECK(classify_greeting("* OKAY\r\n") == ServerKind::unknown);
    CHECK(classify_greeting("") == ServerKind::unknown);
    CHECK(classify_greeting("\x00\xff HELLO?\r\n"s) == ServerKind::unknown);
    CHECK(std::string(to_string(ServerKind::smtp)) == "SMTP");
}

TEST_CASE("implicit-TLS ports (RFC 8314 7.3)") {
    CHECK(is_implicit_tls_port(465));
    CHECK(is_implicit_tls_port(993));
    CHECK(is_implicit_tls_port(995));
    CHECK_FALSE(is_implicit_tls_port(587));
    CHECK_FALSE(is_implicit_tls_port(110));
    CHECK_FALSE(is_implicit_tls_port(25));
}
