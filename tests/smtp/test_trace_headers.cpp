// test_trace_headers.cpp: the pure pieces of smtpd: trace headers and the port policy
// (including the non-loopback plaintext case that a loopback test cannot reach).
#include <doctest/doctest.h>

#include "smtpd/smtp_policy.h"
#include "smtpd/trace_headers.h"

using namespace hikyaku::smtp;

TEST_CASE("Received: names the protocol, TLS and the authenticated user (RFC 3848, 5321 4.4)") {
    ReceivedInfo info;
    info.helo = "client.example";
    info.peer_address = "192.0.2.7";
    info.hostname = "mx.example.test";
    info.id = "abc123";
    info.when = std::chrono::system_clock::from_time_t(0);
    CHECK(received_header(info) ==
          "Received: from client.example ([192.0.2.7])\r\n\tby mx.example.test (hikyaku) with ESMTP\r\n"
          "\tid abc123;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n");
    info.tls_version = "TLSv1.3";
    info.tls_cipher = "TLS_AES_256_GCM_SHA384";
    info.authenticated = "alice@example.test";
    info.single_recipient = "bob@example.test";
    CHECK(received_header(info) ==
          "Received: from client.example ([192.0.2.7])\r\n\tby mx.example.test (hikyaku) with ESMTPSA\r\n"
          "\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384)\r\n\t(authenticated as alice@example.test)\r\n"
          "\tid abc123\r\n\tfor <bob@example.test>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n");
    info.smtputf8 = true;
    CHECK(received_header(info).find("with UTF8SMTPSA") != std::string::npos);
}

TEST_CASE("client strings never inject a header line") {
    ReceivedInfo info;
    info.helo = "evil\r\nX-Injected: yes";
    info.peer_address = "192.0.2.7";
    info.hostname = "mx";
    info.id = "1";
    std::string h = received_header(info);
    CHECK(h.find("X-Injected: yes\r\n") == std::string::npos);
    CHECK(h.find("evil??X-Injected:?yes") != std::string::npos);
    CHECK(return_path_header("a\r\nb@x") == "Return-Path: <a??b@x>\r\n");
    CHECK(return_path_header("") == "Return-Path: <>\r\n");
    CHECK(printable(std::string(300, 'a')).size() == 255);
}

TEST_CASE("has_header_field looks at the header block only, case-insensitively") {
    CHECK(has_header_field("Subject: x\r\nmessage-id: <a@b>\r\n\r\nbody", "Message-ID"));
    CHECK_FALSE(has_header_field("Subject: x\r\n\r\nMessage-ID: <in body>\r\n", "Message-ID"));
    CHECK_FALSE(has_header_field("Dated: x\r\n\r\n", "Date"));
    CHECK(has_header_field("Date: x\n\nbody", "Date"));
    CHECK_FALSE(has_header_field("", "Date"));
}

TEST_CASE("policy: AUTH only on submission ports, plaintext only where the auth service allows it") {
    // ClientFacts{role, tls, plaintext_allowed (TLS or loopback), authenticated}
    ClientFacts remote_plain{Role::submission, false, false, false};
    ClientFacts remote_tls{Role::submission, true, true, false};
    ClientFacts local_plain{Role::submission, false, true, false};
    ClientFacts inbound{Role::inbound, true, true, false};
    CHECK_FALSE(auth_offered(remote_plain));  // must STARTTLS first (538 if tried)
    CHECK(auth_allowed_on_port(remote_plain));
    CHECK(auth_offered(remote_tls));
    CHECK(auth_offered(local_plain));
    CHECK_FALSE(auth_offered(inbound));
    CHECK_FALSE(auth_allowed_on_port(inbound));
    CHECK(check_mail_allowed(remote_tls)->code == 530);
    CHECK_FALSE(check_mail_allowed(inbound).has_value());
    ClientFacts authed{Role::submission, true, true, true};
    CHECK_FALSE(check_mail_allowed(authed).has_value());
    CHECK_FALSE(check_sender(authed, "Alice@Example.Test", {"alice@example.test"}).has_value());
    CHECK(check_sender(authed, "bob@example.test", {"alice@example.test"})->code == 553);
    CHECK(check_sender(authed, "", {"alice@example.test"})->code == 553);  // no null sender on submission
    CHECK(relay_allowed(authed));
    CHECK_FALSE(relay_allowed(inbound));
    CHECK_FALSE(relay_allowed(remote_tls));  // submission, not yet authenticated
    CHECK(relay_refused(authed, "x@[10.0.0.1]").lines[0] ==
          "<x@[10.0.0.1]>: Relaying to address literals is not supported");
    CHECK(relay_refused(inbound, "x@y").code == 554);
}

TEST_CASE("SMTPUTF8 addresses keep their UTF-8 in trace headers; control octets never pass") {
    CHECK(return_path_header("jos\xc3\xa9@remote.example") == "Return-Path: <jos\xc3\xa9@remote.example>\r\n");
    CHECK(printable("jos\xc3\xa9") == "jos??");
    CHECK(printable("a\r\n\xc3\xa9", 255, true) == "a??\xc3\xa9");
}
