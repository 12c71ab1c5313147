// fuzz_smtp_client_session.cpp: the client side of an ESMTP session
// (common/client/smtp_client_session.h, used by deliverd and mailcli) driven by a server that
// says anything: its bytes are cut into replies by SmtpReplyParser and handed to the session
// in whatever order they come. The first byte picks the client's options (STARTTLS policy,
// AUTH, PIPELINING, CHUNKING, whether a TLS handshake succeeds), the second the envelope
// (recipients, size, 8-bit, SMTPUTF8); the rest is the server's bytes. Two transactions are
// attempted, then QUIT.
// Must never: crash; loop without end; send a message when no recipient is waiting for it;
// send AUTH in plaintext when TLS is required for it; send BODY=8BITMIME, SMTPUTF8 or a
// message over the SIZE limit to a server that did not offer them; leave a recipient of an
// ended transaction undecided.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/client/smtp_client_session.h"

using namespace hikyaku::client;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_decided(const SmtpClientSession& session) {
    if (!session.transaction()) return;
    for (const auto& r : session.transaction()->recipients) check(r.code != 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t opts = data[0], env = data[1];
    std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

    SmtpClientOptions options;
    options.helo = "client.example";
    options.starttls = static_cast<StartTlsPolicy>(opts % 3);
    if (opts & 0x04) {
        options.auth_user = "user";
        options.auth_password = "secret";
    }
    options.auth_needs_tls = !(opts & 0x08);
    options.use_pipelining = !(opts & 0x10);
    options.use_chunking = !(opts & 0x20);
    const bool handshake_ok = !(opts & 0x40);
    SmtpReplyLimits limits;
    limits.max_line = 64;
    limits.max_lines = 8;
    SmtpClientSession session(options, limits);

    SmtpEnvelope envelope;
    envelope.sender = (env & 0x80) ? "" : "a@example.org";
    for (int i = 0; i < 1 + (env & 0x03); ++i) envelope.recipients.push_back("r" + std::to_string(i) + "@example.net");
    envelope.size = (env & 0x04) ? 5000 : 50;
    envelope.eight_bit = env & 0x08;
    envelope.smtputf8 = env & 0x10;
    const std::string message = "Subject: x\r\n\r\n.body\r\n";

    int transactions = 0;
    // Every step consumes input, or moves the session on a bounded number of times.
    for (std::size_t steps = 0; steps < 100000; ++steps) {
        switch (session.step()) {
            case SmtpClientStep::send: {
                const std::string out = session.take_output();
                check(!out.empty() && out.ends_with("\r\n"));
                if (out.starts_with("AUTH")) check(session.tls() || !options.auth_needs_tls);
                if (out.starts_with("MAIL FROM:")) {
                    const auto& ext = session.extensions();
                    check(ext.eight_bit_mime || out.find("BODY=8BITMIME") == std::string::npos);
                    check(ext.smtputf8 || out.find(" SMTPUTF8") == std::string::npos);
                    check(!ext.size || ext.size_limit == 0 || envelope.size <= ext.size_limit);
                }
                session.sent();
                break;
            }
            case SmtpClientStep::send_message: {
                // Someone is waiting for it: an accepted recipient not yet decided.
                bool waiting = false;
                for (const auto& r : session.transaction()->recipients) waiting |= r.code == 0;
                check(waiting);
                (void)session.take_output();
                if (session.body_encoding() == BodyEncoding::dot_stuffed) (void)dot_stuff(message);
                session.sent();
                break;
            }
            case SmtpClientStep::read_reply: {
                SmtpReplyParser parser(limits);
                const std::size_t taken = parser.feed(server);
                check(taken <= server.size());
                server.remove_prefix(taken);
                if (parser.status() == SmtpReplyStatus::complete) session.on_reply(parser.reply());
                else session.fail({0, parser.done() ? parser.error_message() : "connection closed"});
                break;
            }
            case SmtpClientStep::start_tls: session.tls_started(handshake_ok, "handshake"); break;
            case SmtpClientStep::ready:
                if (transactions > 0) check_decided(session);
                if (transactions < 2) {
                    ++transactions;
                    session.begin(envelope);
                } else {
                    session.quit();
                }
                break;
            case SmtpClientStep::closed: check_decided(session); return 0;
        }
    }
    std::abort();  // the session never ended
}
