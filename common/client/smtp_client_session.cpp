// smtp_client_session.cpp: the client side of an ESMTP session (see smtp_client_session.h).
#include "common/client/smtp_client_session.h"

#include "common/text/base64.h"

namespace hikyaku::client {

SmtpClientSession::SmtpClientSession(SmtpClientOptions options, SmtpReplyLimits limits)
    : options_(std::move(options)), limits_(limits), tls_(options_.tls_active) {
    expect(Phase::greeting);
}

std::string SmtpClientSession::take_output() {
    std::string out;
    out.swap(output_);
    return out;
}

void SmtpClientSession::sent() {
    if (step_ != SmtpClientStep::send && step_ != SmtpClientStep::send_message) return;
    step_ = next_expected_ < expected_.size() ? SmtpClientStep::read_reply : SmtpClientStep::ready;
}

std::string SmtpClientSession::one_line(const SmtpReply& r) {
    std::string line = std::to_string(r.code);
    const std::string text = r.text();
    if (!text.empty()) line += " " + text;
    return line;
}

void SmtpClientSession::command(std::string_view line, Phase phase, std::size_t recipient) {
    output_.append(line);
    output_ += "\r\n";
    expect(phase, recipient);
    step_ = SmtpClientStep::send;
}

void SmtpClientSession::close_with(SmtpFailure failure) {
    if (envelope_ && transaction_) {
        decide_undecided(failure.code, failure.text);
        envelope_.reset();
    }
    failure_ = std::move(failure);
    output_.clear();
    expected_.clear();
    next_expected_ = 0;
    step_ = SmtpClientStep::closed;
}

void SmtpClientSession::fail(SmtpFailure failure) {
    if (step_ == SmtpClientStep::closed) return;
    if (failure.code == 0) failure.code = 421;  // a broken connection is temporary
    close_with(std::move(failure));
}

void SmtpClientSession::decide_undecided(int code, const std::string& reply) {
    if (!transaction_) return;
    for (auto& r : transaction_->recipients) {
        if (r.code == 0) {
            r.code = code;
            r.reply = reply;
        }
    }
}

void SmtpClientSession::on_reply(const SmtpReply& reply) {
    if (step_ != SmtpClientStep::read_reply || next_expected_ >= expected_.size()) return;
    const Expected e = expected_[next_expected_++];
    if (next_expected_ == expected_.size()) {
        expected_.clear();
        next_expected_ = 0;
    }
    step_ = SmtpClientStep::read_reply;
    switch (e.phase) {
        case Phase::greeting: on_greeting(reply); break;
        case Phase::ehlo:
            if (reply.code == 250) {
                esmtp_ = true;
                extensions_ = parse_ehlo(reply);
                after_hello();
            } else if (reply.code >= 500) {
                command("HELO " + options_.helo, Phase::helo);  // RFC 5321 4.1.4: an old server
            } else {
                close_with({reply.code, one_line(reply)});
            }
            break;
        case Phase::helo:
            if (reply.code != 250) return close_with({reply.code, one_line(reply)});
            esmtp_ = false;
            extensions_ = {};
            after_hello();
            break;
        case Phase::starttls:
            if (reply.code == 220) {
                step_ = SmtpClientStep::start_tls;
            } else if (options_.starttls == StartTlsPolicy::required) {
                close_with({reply.code < 400 ? 421 : reply.code, "STARTTLS refused: " + one_line(reply)});
            } else {
                ready_or_auth();  // opportunistic: go on in plaintext (RFC 3207 4.1)
            }
            break;
        case Phase::auth_plain:
        case Phase::auth_login_done:
            if (reply.code != 235)
                return close_with({reply.code < 400 ? 454 : reply.code, "authentication failed: " + one_line(reply)});
            step_ = SmtpClientStep::ready;
            break;
        case Phase::auth_login_user:
            if (reply.code != 334)
                return close_with({reply.code < 400 ? 454 : reply.code, "authentication failed: " + one_line(reply)});
            command(text::base64_encode(options_.auth_user), Phase::auth_login_password);
            break;
        case Phase::auth_login_password:
            if (reply.code != 334)
                return close_with({reply.code < 400 ? 454 : reply.code, "authentication failed: " + one_line(reply)});
            command(text::base64_encode(options_.auth_password), Phase::auth_login_done);
            break;
        case Phase::mail:
        case Phase::rcpt:
        case Phase::data:
        case Phase::message:
        case Phase::rset: on_transaction_reply(e, reply); break;
        case Phase::quit: step_ = SmtpClientStep::closed; break;
        case Phase::idle:
        case Phase::done: break;
    }
}

void SmtpClientSession::on_greeting(const SmtpReply& r) {
    if (r.code != 220) return close_with({r.code < 400 ? 421 : r.code, "greeting: " + one_line(r)});
    greeting_ = r.text();
    command("EHLO " + options_.helo, Phase::ehlo);
}

void SmtpClientSession::after_hello() {
    if (!tls_ && options_.starttls != StartTlsPolicy::never) {
        if (extensions_.starttls) return command("STARTTLS", Phase::starttls);
        if (options_.starttls == StartTlsPolicy::required)
            return close_with({421, "TLS is required and the server does not offer STARTTLS"});
    }
    ready_or_auth();
}

void SmtpClientSession::tls_started(bool ok, std::string_view why) {
    if (step_ != SmtpClientStep::start_tls) return;
    if (!ok) return close_with({421, "TLS handshake failed: " + std::string(why)});
    tls_ = true;
    extensions_ = {};  // RFC 3207 4.2: forget what the server said before TLS
    command("EHLO " + options_.helo, Phase::ehlo);
}

void SmtpClientSession::ready_or_auth() {
    if (options_.auth_user.empty()) {
        step_ = SmtpClientStep::ready;
        return;
    }
    if (!tls_ && options_.auth_needs_tls) return close_with({421, "authentication needs TLS, and TLS is not active"});
    if (extensions_.auth_plain) {
        std::string message;
        message += '\0';
        message += options_.auth_user;
        message += '\0';
        message += options_.auth_password;
        return command("AUTH PLAIN " + text::base64_encode(message), Phase::auth_plain);
    }
    if (extensions_.auth_login) return command("AUTH LOGIN", Phase::auth_login_user);
    close_with({421, "the server offers no AUTH PLAIN or LOGIN"});
}

// ---- transactions ----------------------------------------------------------------------

void SmtpClientSession::begin(SmtpEnvelope envelope) {
    if (step_ != SmtpClientStep::ready) return;
    transaction_.emplace();
    for (const auto& r : envelope.recipients) transaction_->recipients.push_back({r, 0, {}});
    mail_accepted_ = data_accepted_ = false;
    accepted_ = rcpt_sent_ = 0;
    chunking_ = options_.use_chunking && extensions_.chunking && esmtp_;
    auto refuse_all = [&](int code, std::string text) { decide_undecided(code, std::to_string(code) + " " + text); };
    if (envelope.recipients.empty()) return;
    // Refusals the server must not be asked for (RFC 1870 6.1, RFC 6152 3, RFC 6531 3.4).
    if (extensions_.size && extensions_.size_limit > 0 && envelope.size > extensions_.size_limit)
        return refuse_all(552, "5.3.4 message of " + std::to_string(envelope.size) +
                                   " octets exceeds the receiving server's SIZE limit of " +
                                   std::to_string(extensions_.size_limit));
    if (envelope.smtputf8 && !extensions_.smtputf8)
        return refuse_all(553, "5.6.7 an address is not ASCII and the receiving server does not offer SMTPUTF8");
    if (envelope.eight_bit && !envelope.smtputf8 && !extensions_.eight_bit_mime)
        return refuse_all(554, "5.6.3 8-bit message and the receiving server does not offer 8BITMIME");
    envelope_ = std::move(envelope);
    send_mail_commands();
}

void SmtpClientSession::send_mail_commands() {
    const SmtpEnvelope& env = *envelope_;
    std::string mail = "MAIL FROM:<" + env.sender + ">";
    if (extensions_.size) mail += " SIZE=" + std::to_string(env.size);
    if (env.eight_bit && extensions_.eight_bit_mime) mail += " BODY=8BITMIME";
    if (env.smtputf8) mail += " SMTPUTF8";
    command(mail, Phase::mail);
    if (!pipelining()) return;
    for (std::size_t i = 0; i < env.recipients.size(); ++i)
        command("RCPT TO:<" + env.recipients[i] + ">", Phase::rcpt, i);
    rcpt_sent_ = env.recipients.size();
    if (!chunking_) command("DATA", Phase::data);
}

bool SmtpClientSession::pipelining() const { return options_.use_pipelining && extensions_.pipelining && esmtp_; }

void SmtpClientSession::on_transaction_reply(const Expected& e, const SmtpReply& r) {
    auto& recipients = transaction_->recipients;
    const bool pipelined = pipelining();
    switch (e.phase) {
        case Phase::mail:
            if (r.code >= 200 && r.code < 300) mail_accepted_ = true;
            else decide_undecided(r.code, one_line(r));
            if (pipelined) break;
            if (!mail_accepted_) return finish_transaction();
            command("RCPT TO:<" + envelope_->recipients[0] + ">", Phase::rcpt, 0);
            rcpt_sent_ = 1;
            return;
        case Phase::rcpt:
            if (r.code >= 200 && r.code < 300) {
                if (recipients[e.recipient].code == 0) ++accepted_;
            } else if (recipients[e.recipient].code == 0) {
                recipients[e.recipient].code = r.code;
                recipients[e.recipient].reply = one_line(r);
            }
            if (pipelined) break;
            if (rcpt_sent_ < recipients.size()) {
                command("RCPT TO:<" + envelope_->recipients[rcpt_sent_] + ">", Phase::rcpt, rcpt_sent_);
                ++rcpt_sent_;
                return;
            }
            if (accepted_ > 0 && !chunking_) return command("DATA", Phase::data);
            return after_transaction_replies();
        case Phase::data:
            data_accepted_ = r.code == 354;
            if (!data_accepted_) decide_undecided(r.code, one_line(r));
            return after_transaction_replies();
        case Phase::message:
            decide_undecided(r.code, one_line(r));
            transaction_->message_sent = true;
            transaction_->message_code = r.code;
            transaction_->message_reply = one_line(r);
            return finish_transaction();
        case Phase::rset: return finish_transaction();
        default: return;
    }
    // Pipelined: act once the batch's last reply is in.
    if (step_ == SmtpClientStep::read_reply && next_expected_ == 0 && expected_.empty()) after_transaction_replies();
}

void SmtpClientSession::after_transaction_replies() {
    if (!mail_accepted_) return finish_transaction();
    if (chunking_) {
        if (accepted_ == 0) return command("RSET", Phase::rset);
        output_ = "BDAT " + std::to_string(envelope_->size) + " LAST\r\n";
        expect(Phase::message);
        step_ = SmtpClientStep::send_message;
        return;
    }
    if (!data_accepted_) return command("RSET", Phase::rset);
    if (accepted_ == 0) {
        // 354 with no recipient (a pipelined DATA the server let through): end the empty
        // message; every recipient is decided already.
        return command(".", Phase::rset);
    }
    expect(Phase::message);
    step_ = SmtpClientStep::send_message;
}

void SmtpClientSession::finish_transaction() {
    decide_undecided(451, "451 4.3.0 no reply decided this recipient");
    envelope_.reset();
    expected_.clear();
    next_expected_ = 0;
    step_ = SmtpClientStep::ready;
}

void SmtpClientSession::quit() {
    if (step_ != SmtpClientStep::ready) return;
    command("QUIT", Phase::quit);
}

bool SmtpClientSession::awaiting_message_reply() const {
    return next_expected_ < expected_.size() && expected_[next_expected_].phase == Phase::message;
}

bool SmtpClientSession::output_is_secret() const {
    // The command just queued is the last expected reply's: AUTH PLAIN, or LOGIN's password.
    return !expected_.empty() &&
           (expected_.back().phase == Phase::auth_plain || expected_.back().phase == Phase::auth_login_done);
}

std::string dot_stuff(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 64 + 8);
    bool line_start = true;
    for (char c : message) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = c == '\n';
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    out += ".\r\n";
    return out;
}

}  // namespace hikyaku::client
