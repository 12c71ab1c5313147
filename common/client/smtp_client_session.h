// smtp_client_session.h: the client side of an ESMTP session as a pure state machine, for
// every program of the suite that sends mail (deliverd's deliveries, mailcli's submissions):
// it says what to send next and takes the replies that came back; the caller does the I/O
// (bytes, TLS) and reads replies with common/client/smtp_reply.h. So the protocol is written
// once, and tested without a socket.
//
// RFC 5321 3.1-3.3, 4.1.1 (greeting, EHLO with a HELO fallback, MAIL, RCPT, DATA, RSET,
// QUIT), 4.5.2 (dot-stuffing), 3.3 (a transaction for several recipients; the refusal of one
// RCPT leaves the others), RFC 2920 (PIPELINING: MAIL, every RCPT and DATA in one write, the
// replies read in order), RFC 3207 (STARTTLS; everything learnt before TLS is forgotten and
// EHLO sent again), RFC 4954 and 4616 (AUTH PLAIN, LOGIN), RFC 1870 (SIZE: a message larger
// than the server's limit is refused before MAIL), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8),
// RFC 3030 (CHUNKING: BDAT n LAST instead of DATA when offered).
//
// A session: greeting, EHLO, maybe STARTTLS and EHLO again, maybe AUTH, then any number of
// transactions (begin()), then quit(). Each transaction ends with one reply per recipient:
// the RCPT refusal, or the reply that decided the whole transaction (MAIL, DATA, or the one
// after the message). A failure of the session itself (no greeting, TLS required and not
// offered, AUTH refused, a reply out of place) ends it with failure().
// Must never: send AUTH before TLS when TLS is required, keep extensions learnt before
// STARTTLS, send a message when no recipient was accepted, send BODY=8BITMIME or SMTPUTF8
// to a server that did not offer them, or send a message larger than the server's SIZE.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/client/smtp_reply.h"

namespace hikyaku::client {

enum class StartTlsPolicy {
    never,       // plaintext (or implicit TLS already running)
    if_offered,  // opportunistic: STARTTLS when the server offers it
    required,    // the session fails when the server does not offer it
};

struct SmtpClientOptions {
    std::string helo;  // our host name for EHLO/HELO
    StartTlsPolicy starttls = StartTlsPolicy::if_offered;
    bool tls_active = false;  // implicit TLS (RFC 8314) already wraps the connection
    std::string auth_user;    // AUTH after TLS when set; the session fails without it
    std::string auth_password;
    bool auth_needs_tls = true;  // false: a user's explicit choice (mailcli --tls none to a
                                 // server that allows it, e.g. on loopback)
    bool use_pipelining = true;  // when offered
    bool use_chunking = true;    // BDAT when offered
};

// One message's envelope and what the message needs of the server.
struct SmtpEnvelope {
    std::string sender;                   // empty: the null reverse-path "<>"
    std::vector<std::string> recipients;  // at least one
    std::size_t size = 0;                 // octets of the message (CRLF lines)
    bool eight_bit = false;               // octets >= 0x80 in the message
    bool smtputf8 = false;                // an address is not ASCII
};

// What the caller does next.
enum class SmtpClientStep {
    send,          // write take_output(), then sent()
    send_message,  // write take_output() (a BDAT line or nothing), then the message as
                   // body_encoding() says, then sent()
    read_reply,    // read one whole reply, then on_reply()
    start_tls,     // run the TLS handshake, then tls_started()
    ready,         // the session is open and idle: begin() a transaction or quit()
    closed,        // finished (after QUIT, or failed: see failure())
};

enum class BodyEncoding {
    dot_stuffed,  // DATA: dot-stuffed, then ".\r\n" (dot_stuff() below does both)
    raw,          // BDAT: the octets as they are
};

// A reply made on our side for a refusal the server never had to give (size, 8-bit).
struct SmtpFailure {
    int code = 0;      // the reply code (ours when the server sent none: 4xx temporary)
    std::string text;  // "421 4.4.2 ..." as one line, or a description
    bool permanent() const { return code >= 500; }
};

struct RecipientResult {
    std::string recipient;
    int code = 0;       // the deciding reply's code
    std::string reply;  // the deciding reply as one line ("550 5.1.1 <x>: no such user")
    bool accepted() const { return code >= 200 && code < 300; }
    bool permanent() const { return code >= 500; }
};

struct SmtpTransactionResult {
    std::vector<RecipientResult> recipients;  // in the envelope's order
    bool message_sent = false;                // the whole message went out (a duplicate is possible if the
                                              // connection died before its reply: RFC 1047)
    int message_code = 0;                     // the reply to the message, when one came
    std::string message_reply;                // as one line
};

class SmtpClientSession {
public:
    explicit SmtpClientSession(SmtpClientOptions options, SmtpReplyLimits limits = {});

    SmtpClientStep step() const { return step_; }
    // The bytes to write for `send` and `send_message`; empties the output.
    std::string take_output();
    // The output has been written.
    void sent();
    // One whole reply (read with SmtpReplyParser). A parser failure is a session failure:
    // call fail() with its message instead.
    void on_reply(const SmtpReply& reply);
    // After the handshake asked for by `start_tls`: ok or not.
    void tls_started(bool ok, std::string_view why = {});
    // The connection failed (closed, timed out, a reply that did not parse): the session is
    // closed; a transaction in progress gets `failure` for each recipient not yet decided.
    void fail(SmtpFailure failure);

    // In `ready`: one transaction. In `ready` again afterwards, with transaction() set.
    void begin(SmtpEnvelope envelope);
    // In `ready`: say QUIT (its reply is read and then the session is closed).
    void quit();

    // The reply awaited is the one to the end of a message (it may take longer:
    // RFC 5321 4.5.3.2.6).
    bool awaiting_message_reply() const;
    // The output holds a secret (an AUTH response): trace a masked form.
    bool output_is_secret() const;
    BodyEncoding body_encoding() const { return chunking_ ? BodyEncoding::raw : BodyEncoding::dot_stuffed; }
    const SmtpExtensions& extensions() const { return extensions_; }
    bool tls() const { return tls_; }
    const std::string& greeting() const { return greeting_; }
    // The last transaction's outcome (in `ready`, or in `closed` after fail()).
    const std::optional<SmtpTransactionResult>& transaction() const { return transaction_; }
    // Why the session ended, when it did not end with QUIT.
    const std::optional<SmtpFailure>& failure() const { return failure_; }

private:
    enum class Phase {
        greeting,
        ehlo,
        helo,
        starttls,
        auth_plain,
        auth_login_user,
        auth_login_password,
        auth_login_done,
        mail,
        rcpt,
        data,
        message,
        rset,
        quit,
        idle,
        done
    };
    struct Expected {
        Phase phase;
        std::size_t recipient = 0;  // for rcpt
    };

    void expect(Phase phase, std::size_t recipient = 0) { expected_.push_back({phase, recipient}); }
    void command(std::string_view line, Phase phase, std::size_t recipient = 0);
    void after_hello();
    void ready_or_auth();
    void close_with(SmtpFailure failure);
    void decide_undecided(int code, const std::string& reply);
    void finish_transaction();
    void send_mail_commands();
    bool pipelining() const;
    void after_transaction_replies();
    void on_greeting(const SmtpReply& r);
    void on_transaction_reply(const Expected& e, const SmtpReply& r);
    static std::string one_line(const SmtpReply& r);

    SmtpClientOptions options_;
    SmtpReplyLimits limits_;
    SmtpClientStep step_ = SmtpClientStep::read_reply;
    std::string output_;
    std::vector<Expected> expected_;  // replies still to read, in order
    std::size_t next_expected_ = 0;
    bool tls_ = false;
    bool esmtp_ = false;
    SmtpExtensions extensions_;
    std::string greeting_;

    // The transaction in progress.
    std::optional<SmtpEnvelope> envelope_;
    std::optional<SmtpTransactionResult> transaction_;
    bool chunking_ = false;
    bool mail_accepted_ = false;
    bool data_accepted_ = false;
    std::size_t accepted_ = 0;
    std::size_t rcpt_sent_ = 0;  // without pipelining, RCPTs go one by one

    std::optional<SmtpFailure> failure_;
};

// Dot-stuffs CRLF text and appends the final ".\r\n" (RFC 5321 4.5.2); a last line without
// its CRLF gets one.
std::string dot_stuff(std::string_view message);

}  // namespace hikyaku::client
