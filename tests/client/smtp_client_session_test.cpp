// smtp_client_session_test.cpp: common/client/smtp_client_session, the client side of ESMTP
// as a pure state machine, driven against scripted servers: every script's bytes arrive
// whole, split at every byte offset and in fixed chunks, with the same commands sent and the
// same outcome (STYLE 14); pipelined and one command at a time; STARTTLS (required, offered,
// refused); AUTH PLAIN and LOGIN; SIZE, 8BITMIME and SMTPUTF8 refusals made before MAIL;
// CHUNKING; a recipient refused among accepted ones; MAIL, DATA and final refusals; a
// connection that breaks mid-transaction; several transactions on one session.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/client/smtp_client_session.h"
#include "tests/client/grind.h"

using namespace hikyaku::client;

namespace {

struct Run {
    std::string sent;                  // every byte the client wrote; "<TLS>" for a handshake
    std::vector<std::string> results;  // "recipient code" per transaction recipient
    std::string failure;
    bool tls = false;
    bool closed = false;
    bool operator==(const Run&) const = default;
};

struct Script {
    std::string server;                   // every reply the server sends, in order
    std::vector<SmtpEnvelope> envelopes;  // transactions to run
    std::string message = "Subject: t\r\n\r\n.dot\r\nbody\r\n";
    bool tls_ok = true;
    bool quit = true;
};

// Runs the session against `script`, the server's bytes arriving in the pieces `cuts` make.
Run drive(SmtpClientOptions options, const Script& script, const std::vector<std::size_t>& cuts) {
    SmtpClientSession session(options);
    Run run;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(script.server.size());
    std::size_t arrived = 0, next_end = 0;
    std::string buffer;
    std::size_t transaction = 0;
    for (int guard = 0; guard < 10000; ++guard) {
        switch (session.step()) {
            case SmtpClientStep::send:
                run.sent += session.output_is_secret() ? "<SECRET>\r\n" : session.take_output();
                (void)session.take_output();
                session.sent();
                break;
            case SmtpClientStep::send_message:
                run.sent += session.take_output();
                run.sent += session.body_encoding() == BodyEncoding::raw ? script.message : dot_stuff(script.message);
                session.sent();
                break;
            case SmtpClientStep::start_tls:
                run.sent += "<TLS>";
                session.tls_started(script.tls_ok, "handshake failure");
                break;
            case SmtpClientStep::read_reply: {
                SmtpReplyParser parser;
                for (;;) {
                    buffer.erase(0, parser.feed(buffer));
                    if (parser.done() || next_end >= ends.size()) break;
                    const std::size_t end = std::max(arrived, std::min(ends[next_end++], script.server.size()));
                    buffer += script.server.substr(arrived, end - arrived);
                    arrived = end;
                }
                if (parser.status() == SmtpReplyStatus::complete) session.on_reply(parser.reply());
                else session.fail({0, "the server closed the connection"});
                break;
            }
            case SmtpClientStep::ready:
                if (session.transaction()) {
                    for (const auto& r : session.transaction()->recipients)
                        run.results.push_back(r.recipient + " " + std::to_string(r.code) +
                                              (session.transaction()->message_sent ? " sent" : ""));
                }
                if (transaction < script.envelopes.size()) {
                    session.begin(script.envelopes[transaction++]);
                } else if (script.quit) {
                    session.quit();
                } else {
                    return run;
                }
                break;
            case SmtpClientStep::closed:
                if (session.transaction() && session.failure()) {
                    for (const auto& r : session.transaction()->recipients)
                        run.results.push_back(r.recipient + " " + std::to_string(r.code));
                }
                run.failure = session.failure() ? session.failure()->text : "";
                run.tls = session.tls();
                run.closed = true;
                return run;
        }
    }
    FAIL("the session did not finish");
    return run;
}

Run grind(SmtpClientOptions options, const Script& script) {
    return hikyaku::test::same_every_way(script.server.size(),
                                         [&](const auto& cuts) { return drive(options, script, cuts); });
}

SmtpClientOptions plain() {
    SmtpClientOptions o;
    o.helo = "out.example";
    o.starttls = StartTlsPolicy::never;
    return o;
}

SmtpEnvelope envelope(std::vector<std::string> recipients, std::size_t size = 30) {
    SmtpEnvelope e;
    e.sender = "a@here.example";
    e.recipients = std::move(recipients);
    e.size = size;
    return e;
}

const char* kEhloPipelining = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
const char* kMessageDotStuffed = "Subject: t\r\n\r\n..dot\r\nbody\r\n.\r\n";

}  // namespace

TEST_CASE("pipelined: MAIL, every RCPT and DATA in one write; one refused recipient") {
    Script s;
    s.server = std::string("220 mx.example ESMTP\r\n") + kEhloPipelining +
               "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n"
               "250 2.0.0 queued\r\n221 bye\r\n";
    s.envelopes = {envelope({"b@there.example", "x@there.example", "c@there.example"})};
    Run r = grind(plain(), s);
    CHECK(r.sent == std::string("EHLO out.example\r\n"
                                "MAIL FROM:<a@here.example> SIZE=30\r\nRCPT TO:<b@there.example>\r\n"
                                "RCPT TO:<x@there.example>\r\nRCPT TO:<c@there.example>\r\nDATA\r\n") +
                        kMessageDotStuffed + "QUIT\r\n");
    CHECK(r.results ==
          std::vector<std::string>{"b@there.example 250 sent", "x@there.example 550 sent", "c@there.example 250 sent"});
    CHECK(r.failure.empty());
    CHECK(r.closed);
}

TEST_CASE("one command at a time without PIPELINING; the HELO fallback") {
    Script s;
    s.server = "220 old.example\r\n500 what\r\n250 old.example\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n";
    s.envelopes = {envelope({"b@there.example"})};
    Run r = grind(plain(), s);
    CHECK(r.sent == std::string("EHLO out.example\r\nHELO out.example\r\nMAIL FROM:<a@here.example>\r\n"
                                "RCPT TO:<b@there.example>\r\nDATA\r\n") +
                        kMessageDotStuffed + "QUIT\r\n");
    CHECK(r.results == std::vector<std::string>{"b@there.example 250 sent"});
}

TEST_CASE("without PIPELINING a refused MAIL stops the transaction; the next one goes on") {
    Script s;
    s.server = "220 mx\r\n250 mx\r\n451 4.3.0 try later\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n";
    s.envelopes = {envelope({"b@there.example", "c@there.example"}), envelope({"d@there.example"})};
    Run r = grind(plain(), s);
    CHECK(r.results ==
          std::vector<std::string>{"b@there.example 451", "c@there.example 451", "d@there.example 250 sent"});
}

TEST_CASE("every recipient refused: no message is sent, RSET closes the transaction") {
    Script s;
    s.server = std::string("220 mx\r\n") + kEhloPipelining +
               "250 ok\r\n550 no\r\n554 5.5.1 no valid recipients\r\n250 reset\r\n221 bye\r\n";
    s.envelopes = {envelope({"b@there.example"})};
    Run r = grind(plain(), s);
    CHECK(r.sent.find("RSET\r\n") != std::string::npos);
    CHECK(r.sent.find("body") == std::string::npos);
    CHECK(r.results == std::vector<std::string>{"b@there.example 550"});
}

TEST_CASE("DATA refused and the final reply refused decide the accepted recipients") {
    Script s;
    s.server = std::string("220 mx\r\n") + kEhloPipelining +
               "250 ok\r\n250 ok\r\n451 4.3.0 no DATA now\r\n250 reset\r\n" +
               "250 ok\r\n250 ok\r\n354 go\r\n554 5.7.1 spam\r\n221 bye\r\n";
    s.envelopes = {envelope({"b@there.example"}), envelope({"c@there.example"})};
    Run r = grind(plain(), s);
    CHECK(r.results == std::vector<std::string>{"b@there.example 451", "c@there.example 554 sent"});
}

TEST_CASE("SIZE, 8BITMIME and SMTPUTF8 refusals are made before MAIL; BODY and SMTPUTF8 sent when offered") {
    Script s;
    s.server = std::string("220 mx\r\n") + "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n221 bye\r\n";
    SmtpEnvelope big = envelope({"b@there.example"}, 101);
    SmtpEnvelope eight = envelope({"c@there.example"}, 100);
    eight.eight_bit = true;
    SmtpEnvelope utf8 = envelope({"d@there.example"});
    utf8.smtputf8 = true;
    s.envelopes = {big, eight, utf8};
    Run r = grind(plain(), s);
    CHECK(r.sent == "EHLO out.example\r\nQUIT\r\n");
    CHECK(r.results == std::vector<std::string>{"b@there.example 552", "c@there.example 554", "d@there.example 553"});

    // At the limit it goes; 8-bit to an 8BITMIME server says so.
    s.server = std::string("220 mx\r\n") +
               "250-mx\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 100\r\n" +
               "250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n";
    eight.smtputf8 = true;
    s.envelopes = {eight};
    r = grind(plain(), s);
    CHECK(r.sent.find("MAIL FROM:<a@here.example> SIZE=100 BODY=8BITMIME SMTPUTF8\r\n") != std::string::npos);
    CHECK(r.results == std::vector<std::string>{"c@there.example 250 sent"});
}

TEST_CASE("CHUNKING: BDAT n LAST with the message as it is") {
    Script s;
    s.server =
        "220 mx\r\n250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n250 ok\r\n250 ok\r\n250 2.0.0 got it\r\n221 bye\r\n";
    s.envelopes = {envelope({"b@there.example"}, s.message.size())};
    Run r = grind(plain(), s);
    CHECK(r.sent == "EHLO out.example\r\nMAIL FROM:<a@here.example>\r\nRCPT TO:<b@there.example>\r\nBDAT " +
                        std::to_string(s.message.size()) + " LAST\r\n" + s.message + "QUIT\r\n");
    CHECK(r.results == std::vector<std::string>{"b@there.example 250 sent"});
}

TEST_CASE("STARTTLS: EHLO again after the handshake; required and not offered fails; refused may go on") {
    SmtpClientOptions o = plain();
    o.starttls = StartTlsPolicy::if_offered;
    Script s;
    s.server = "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n250-mx\r\n250 PIPELINING\r\n221 bye\r\n";
    Run r = grind(o, s);
    CHECK(r.sent == "EHLO out.example\r\nSTARTTLS\r\n<TLS>EHLO out.example\r\nQUIT\r\n");
    CHECK(r.tls);

    s.server = "220 mx\r\n250 mx\r\n221 bye\r\n";  // not offered: plaintext when opportunistic
    r = grind(o, s);
    CHECK(r.sent == "EHLO out.example\r\nQUIT\r\n");
    CHECK_FALSE(r.tls);

    s.server = "220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n221 bye\r\n";
    r = grind(o, s);
    CHECK(r.sent == "EHLO out.example\r\nSTARTTLS\r\nQUIT\r\n");

    o.starttls = StartTlsPolicy::required;
    s.server = "220 mx\r\n250 mx\r\n";
    r = grind(o, s);
    CHECK(r.closed);
    CHECK(r.failure == "TLS is required and the server does not offer STARTTLS");
    CHECK(r.sent == "EHLO out.example\r\n");

    s.server = "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n";
    s.tls_ok = false;
    r = grind(o, s);
    CHECK(r.failure == "TLS handshake failed: handshake failure");
}

TEST_CASE("AUTH PLAIN and LOGIN after TLS; refused AUTH ends the session; no AUTH in plaintext") {
    SmtpClientOptions o = plain();
    o.starttls = StartTlsPolicy::required;
    o.auth_user = "me";
    o.auth_password = "secret";
    Script s;
    s.server = "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250-mx\r\n250 AUTH PLAIN LOGIN\r\n235 ok\r\n221 bye\r\n";
    Run r = grind(o, s);
    CHECK(r.sent == "EHLO out.example\r\nSTARTTLS\r\n<TLS>EHLO out.example\r\n<SECRET>\r\nQUIT\r\n");

    s.server =
        "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250-mx\r\n250 AUTH LOGIN\r\n334 VXNlcm5hbWU6\r\n"
        "334 UGFzc3dvcmQ6\r\n235 ok\r\n221 bye\r\n";
    r = grind(o, s);
    CHECK(r.sent ==
          "EHLO out.example\r\nSTARTTLS\r\n<TLS>EHLO out.example\r\nAUTH LOGIN\r\nbWU=\r\n<SECRET>\r\nQUIT\r\n");

    s.server = "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250-mx\r\n250 AUTH PLAIN\r\n535 5.7.8 no\r\n";
    r = grind(o, s);
    CHECK(r.failure == "authentication failed: 535 5.7.8 no");

    o.starttls = StartTlsPolicy::never;
    s.server = "220 mx\r\n250-mx\r\n250 AUTH PLAIN\r\n";
    r = grind(o, s);
    CHECK(r.failure == "authentication needs TLS, and TLS is not active");

    // mailcli's --tls none to a server that allows it (loopback): the user's explicit choice.
    o.auth_needs_tls = false;
    s.server = "220 mx\r\n250-mx\r\n250 AUTH PLAIN\r\n235 ok\r\n221 bye\r\n";
    r = grind(o, s);
    CHECK(r.sent == "EHLO out.example\r\n<SECRET>\r\nQUIT\r\n");
    CHECK(r.failure.empty());
}

TEST_CASE("a greeting that is not 220, and a connection that breaks mid-transaction") {
    Script s;
    s.server = "554 5.7.1 go away\r\n";
    Run r = grind(plain(), s);
    CHECK(r.failure == "greeting: 554 5.7.1 go away");

    s.server = std::string("220 mx\r\n") + kEhloPipelining + "250 ok\r\n250 ok\r\n";  // then silence
    s.envelopes = {envelope({"b@there.example"})};
    r = grind(plain(), s);
    CHECK(r.closed);
    CHECK(r.results == std::vector<std::string>{"b@there.example 421"});
}

TEST_CASE("dot_stuff") {
    CHECK(dot_stuff("a\r\n.b\r\n") == "a\r\n..b\r\n.\r\n");
    CHECK(dot_stuff(".\r\n") == "..\r\n.\r\n");
    CHECK(dot_stuff("no end") == "no end\r\n.\r\n");
    CHECK(dot_stuff("") == ".\r\n");
}
