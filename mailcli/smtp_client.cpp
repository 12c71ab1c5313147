// smtp_client.cpp: one ESMTP submission session (see smtp_client.h).
// Must never: authenticate in the clear when STARTTLS was requested, print a password,
// send DATA when no recipient was accepted.
#include "mailcli/smtp_client.h"

#include <cctype>

#include "common/text/base64.h"
#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

SmtpReply read_reply(LineStream& s) {
    SmtpReply reply;
    for (std::size_t n = 0; n < kMaxSmtpReplyLines; ++n) {
        std::string line = s.read_line(kMaxSmtpReplyLine);
        int code = 0;
        bool last = false;
        std::string text;
        if (!parse_reply_line(line, code, last, text)) {
            throw CliError(ExitCode::protocol, "not an SMTP reply: \"" + line.substr(0, 80) + "\"");
        }
        if (n > 0 && code != reply.code) {
            throw CliError(ExitCode::protocol, "reply lines with different codes");
        }
        reply.code = code;
        reply.lines.push_back(std::move(text));
        if (last) return reply;
    }
    throw CliError(ExitCode::protocol, "a reply of more than " +
                                           std::to_string(kMaxSmtpReplyLines) + " lines");
}

SmtpReply command(LineStream& s, std::string_view line, std::string_view trace_as = {}) {
    s.write_line(line, trace_as);
    return read_reply(s);
}

[[noreturn]] void fail(ExitCode code, std::string_view what, const SmtpReply& r) {
    throw CliError(code, std::string(what) + ": " + std::to_string(r.code) + " " + r.text());
}

void quit(LineStream& s) {
    try {
        s.write_line("QUIT");
        (void)read_reply(s);
    } catch (const CliError&) {
        // The transaction is over; a server that drops the connection at QUIT is fine.
    }
}

void authenticate(LineStream& s, const ServerSettings& settings, const SmtpExtensions& ext) {
    if (!ext.auth_plain && !ext.auth_login) {
        throw CliError(ExitCode::auth,
                       s.tls_active() ? "the server offers no AUTH PLAIN or LOGIN"
                                      : "the server offers no AUTH PLAIN or LOGIN without TLS "
                                        "(try --tls starttls or --tls tls)");
    }
    const std::string password = settings.password ? settings.password() : std::string();
    SmtpReply r;
    if (ext.auth_plain) {
        std::string message;
        message += '\0';
        message += settings.user;
        message += '\0';
        message += password;
        r = command(s, "AUTH PLAIN " + text::base64_encode(message), "AUTH PLAIN ****");
    } else {
        r = command(s, "AUTH LOGIN");
        if (r.code == 334) r = command(s, text::base64_encode(settings.user));
        if (r.code == 334) r = command(s, text::base64_encode(password), "****");
    }
    if (r.code != 235) fail(ExitCode::auth, "authentication failed", r);
}

}  // namespace

std::string SmtpReply::text() const {
    std::string out;
    for (const auto& l : lines) {
        if (!out.empty()) out += ' ';
        out += l;
    }
    return out;
}

bool parse_reply_line(std::string_view line, int& code, bool& last, std::string& text) {
    if (line.size() < 3) return false;
    for (int i = 0; i < 3; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(line[i]))) return false;
    }
    if (line[0] < '2' || line[0] > '5') return false;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() == 3) {
        last = true;
        text.clear();
        return true;
    }
    if (line[3] != ' ' && line[3] != '-') return false;
    last = line[3] == ' ';
    text = std::string(line.substr(4));
    return true;
}

SmtpExtensions parse_ehlo(const SmtpReply& reply) {
    SmtpExtensions ext;
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        std::string line = upper(reply.lines[i]);
        std::string keyword = line.substr(0, line.find(' '));
        std::string rest = line.size() > keyword.size() ? line.substr(keyword.size() + 1) : "";
        if (keyword == "STARTTLS") ext.starttls = true;
        else if (keyword == "8BITMIME") ext.eight_bit_mime = true;
        else if (keyword == "SMTPUTF8") ext.smtputf8 = true;
        else if (keyword == "PIPELINING") ext.pipelining = true;
        else if (keyword == "SIZE") {
            ext.size = true;
            std::size_t v = 0;
            bool ok = !rest.empty() && rest.size() < 19;
            for (char c : rest) {
                if (!std::isdigit(static_cast<unsigned char>(c))) ok = false;
                else v = v * 10 + static_cast<std::size_t>(c - '0');
            }
            ext.size_limit = ok ? v : 0;
        } else if (keyword == "AUTH" || keyword.starts_with("AUTH=")) {
            std::string mechs = keyword == "AUTH" ? rest : keyword.substr(5) + " " + rest;
            std::size_t pos = 0;
            while (pos < mechs.size()) {
                std::size_t sp = mechs.find(' ', pos);
                if (sp == std::string::npos) sp = mechs.size();
                std::string m = mechs.substr(pos, sp - pos);
                if (m == "PLAIN") ext.auth_plain = true;
                if (m == "LOGIN") ext.auth_login = true;
                pos = sp + 1;
            }
        }
    }
    return ext;
}

std::string dot_stuff(std::string_view data) {
    std::string out;
    out.reserve(data.size() + data.size() / 64 + 8);
    bool line_start = true;
    for (char c : data) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = c == '\n';
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    out += ".\r\n";
    return out;
}

SendResult smtp_send(const ServerSettings& settings, const SendRequest& request) {
    LineStream s(settings.host, settings.port, settings.timeout, settings.trace);
    if (settings.tls == TlsMode::tls) s.start_tls(settings.host, settings.tls_options);

    SmtpReply r = read_reply(s);
    if (r.code != 220) fail(ExitCode::protocol, "the server refused the connection", r);

    auto hello = [&]() {
        SmtpReply ehlo = command(s, "EHLO " + request.helo_name);
        if (ehlo.code == 250) return parse_ehlo(ehlo);
        SmtpReply helo = command(s, "HELO " + request.helo_name);
        if (helo.code != 250) fail(ExitCode::protocol, "HELO refused", helo);
        return SmtpExtensions{};
    };
    SmtpExtensions ext = hello();
    if (settings.tls == TlsMode::starttls) {
        if (!ext.starttls) throw CliError(ExitCode::tls, "the server does not offer STARTTLS");
        r = command(s, "STARTTLS");
        if (r.code != 220) fail(ExitCode::tls, "STARTTLS refused", r);
        s.start_tls(settings.host, settings.tls_options);
        ext = hello();  // RFC 3207 4.2: forget what was learnt before TLS
    }
    if (!settings.user.empty()) authenticate(s, settings, ext);

    bool needs_utf8 = false;
    for (unsigned char c : request.mail_from) needs_utf8 |= c >= 0x80;
    for (const auto& a : request.recipients) {
        for (unsigned char c : a) needs_utf8 |= c >= 0x80;
    }
    if (needs_utf8 && !ext.smtputf8) {
        throw CliError(ExitCode::protocol,
                       "an address is not ASCII and the server does not offer SMTPUTF8");
    }
    const std::string payload = dot_stuff(request.data);
    if (ext.size_limit != 0 && request.data.size() > ext.size_limit) {
        quit(s);
        throw CliError(ExitCode::protocol,
                       "the message (" + std::to_string(request.data.size()) +
                           " bytes) exceeds the server's SIZE limit of " +
                           std::to_string(ext.size_limit) + " bytes");
    }
    std::string mail = "MAIL FROM:<" + request.mail_from + ">";
    if (ext.size) mail += " SIZE=" + std::to_string(request.data.size());
    if (request.eight_bit && ext.eight_bit_mime) mail += " BODY=8BITMIME";
    if (needs_utf8) mail += " SMTPUTF8";
    r = command(s, mail);
    if (r.code != 250) fail(ExitCode::protocol, "sender refused", r);

    SendResult result;
    for (const auto& rcpt : request.recipients) {
        r = command(s, "RCPT TO:<" + rcpt + ">");
        if (r.code == 250 || r.code == 251) {
            ++result.accepted;
        } else {
            result.refused.push_back({rcpt, r});
        }
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
    r = command(s, "DATA");
    if (r.code != 354) fail(ExitCode::protocol, "DATA refused", r);
    s.write_raw(payload);
    r = read_reply(s);
    if (r.code != 250) fail(ExitCode::protocol, "message refused", r);
    result.final_reply = r;
    quit(s);
    return result;
}

}  // namespace hikyaku::mailcli
