// smtp_client.cpp: one ESMTP submission session (see smtp_client.h).
// Must never: authenticate in the clear when STARTTLS was requested, print a password,
// send DATA when no recipient was accepted.
#include "mailcli/smtp_client.h"

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

// Reads one reply whole; the trace shows its lines. The greeting is where a server of
// another protocol shows itself ("this is a POP3 server, not SMTP").
SmtpReply read_reply(ServerConnection& s, bool greeting = false) {
    client::SmtpReplyParser parser(kSmtpReplyLimits);
    s.read_response(parser);
    const SmtpReply& reply = parser.reply();
    if (s.tracing()) {
        for (std::size_t i = 0; i < reply.lines.size(); ++i) {
            const bool last = parser.status() == client::SmtpReplyStatus::complete && i + 1 == reply.lines.size();
            s.trace_received(std::to_string(reply.code) + (last ? " " : "-") + reply.lines[i]);
        }
        if (!parser.bad_line().empty()) s.trace_received(parser.bad_line());
    }
    if (parser.status() == client::SmtpReplyStatus::complete) return reply;
    if (greeting && parser.status() == client::SmtpReplyStatus::not_a_reply) s.wrong_server(parser.bad_line());
    throw CliError(ExitCode::protocol, parser.error_message());
}

void quit(ServerConnection& s) {
    try {
        s.write_line("QUIT");
        (void)read_reply(s);
    } catch (const CliError&) {
        // The transaction is over; a server that drops the connection at QUIT is fine.
    }
}

// What a failed session means to the user: its exit code.
[[noreturn]] void session_failed(const client::SmtpFailure& failure) {
    const std::string& why = failure.text;
    ExitCode code = ExitCode::protocol;
    if (why.find("STARTTLS") != std::string::npos || why.starts_with("TLS")) code = ExitCode::tls;
    else if (why.starts_with("authentication") || why.find("AUTH") != std::string::npos) code = ExitCode::auth;
    if (why == "TLS is required and the server does not offer STARTTLS")
        throw CliError(code, "the server does not offer STARTTLS");
    throw CliError(code, why);
}

// Runs the session (common/client/smtp_client_session.h) over the connection until it is
// ready for a transaction or closed: the protocol is written once, for mailcli and deliverd.
// `greeting`: the first reply read is the server's greeting (where a server of another
// protocol shows itself).
void drive(ServerConnection& s, client::SmtpClientSession& session, std::string_view message, bool greeting = false) {
    using client::SmtpClientStep;
    for (;;) {
        switch (session.step()) {
            case SmtpClientStep::send: {
                const bool secret = session.output_is_secret();
                const std::string out = session.take_output();
                std::string_view rest(out);
                while (!rest.empty()) {  // one line each, so the trace shows each command
                    const auto end = rest.find("\r\n");
                    const std::string_view line = rest.substr(0, end);
                    s.write_line(line, !secret                          ? std::string_view()
                                       : line.starts_with("AUTH PLAIN") ? "AUTH PLAIN ****"
                                                                        : "****");
                    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
                }
                session.sent();
                break;
            }
            case SmtpClientStep::send_message: {
                const std::string prefix = session.take_output();
                if (!prefix.empty()) s.write_line(prefix.substr(0, prefix.size() - 2));
                if (session.body_encoding() == client::BodyEncoding::raw) s.write_data(message);
                else s.write_data(dot_stuff(message));
                session.sent();
                break;
            }
            case SmtpClientStep::read_reply:
                session.on_reply(read_reply(s, greeting));
                greeting = false;
                break;
            case SmtpClientStep::start_tls:
                s.start_tls();  // throws CliError(tls) when the handshake fails
                session.tls_started(true);
                break;
            case SmtpClientStep::ready:
            case SmtpClientStep::closed: return;
        }
    }
}

}  // namespace

SendResult smtp_send(const ServerSettings& settings, const SendRequest& request) {
    client::SmtpClientOptions options;
    options.helo = request.helo_name;
    options.starttls =
        settings.tls == TlsMode::starttls ? client::StartTlsPolicy::required : client::StartTlsPolicy::never;
    options.tls_active = settings.tls == TlsMode::tls;
    options.auth_needs_tls = false;  // the server decides (hikyaku allows it on loopback)
    if (!settings.user.empty()) {
        options.auth_user = settings.user;
        options.auth_password = settings.password ? settings.password() : std::string();
    }
    ServerConnection s(settings, client::ServerKind::smtp);
    s.await_greeting();
    client::SmtpClientSession session(options, kSmtpReplyLimits);
    drive(s, session, {}, /*greeting=*/true);
    if (session.step() != client::SmtpClientStep::ready) session_failed(*session.failure());

    client::SmtpEnvelope envelope;
    envelope.sender = request.mail_from;
    envelope.recipients = request.recipients;
    envelope.size = request.data.size();
    envelope.eight_bit = request.eight_bit;
    for (unsigned char c : request.mail_from) envelope.smtputf8 |= c >= 0x80;
    for (const auto& a : request.recipients)
        for (unsigned char c : a) envelope.smtputf8 |= c >= 0x80;
    session.begin(envelope);
    drive(s, session, request.data);
    if (session.step() != client::SmtpClientStep::ready) session_failed(*session.failure());

    const client::SmtpTransactionResult& t = *session.transaction();
    if (t.message_sent && (t.message_code < 200 || t.message_code >= 300)) {
        quit(s);
        throw CliError(ExitCode::protocol, "message refused: " + t.message_reply);
    }
    SendResult result;
    for (const auto& r : t.recipients) {
        if (r.accepted()) {
            ++result.accepted;
            continue;
        }
        SmtpReply reply;
        reply.code = r.code;
        reply.lines.push_back(r.reply.size() > 4 ? r.reply.substr(4) : std::string());
        result.refused.push_back({r.recipient, reply});
    }
    if (result.accepted == 0) {
        quit(s);
        std::string why;
        for (const auto& f : result.refused) {
            why += " <" + f.recipient + "> " + std::to_string(f.reply.code) + " " + f.reply.text() + ";";
        }
        if (!why.empty()) why.pop_back();
        throw CliError(ExitCode::protocol, "every recipient was refused:" + why);
    }
    result.final_reply.code = t.message_code;
    result.final_reply.lines.push_back(t.message_reply.size() > 4 ? t.message_reply.substr(4) : std::string());
    session.quit();
    try {
        drive(s, session, {});
    } catch (const CliError&) {
        // The message is sent; a server that drops the connection at QUIT is fine.
    }
    return result;
}

}  // namespace hikyaku::mailcli
