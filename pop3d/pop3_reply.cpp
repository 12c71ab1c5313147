// pop3_reply.cpp: see pop3_reply.h. RFC 1939 3 and 7 (TOP), RFC 2449 4 and 8, RFC 3206, RFC 5034 4.
#include "pop3d/pop3_reply.h"

#include <cstring>

namespace hikyaku::pop3 {

namespace {

void append_text(std::string& out, std::string_view text, std::size_t room) {
    for (std::size_t i = 0; i < text.size() && i < room; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        out += (c >= 32 && c <= 126) ? static_cast<char>(c) : '?';
    }
}

}  // namespace

const char* to_string(ResponseCode c) {
    switch (c) {
        case ResponseCode::none: return "";
        case ResponseCode::in_use: return "IN-USE";
        case ResponseCode::login_delay: return "LOGIN-DELAY";
        case ResponseCode::sys_temp: return "SYS/TEMP";
        case ResponseCode::sys_perm: return "SYS/PERM";
        case ResponseCode::auth: return "AUTH";
    }
    return "";
}

std::string format_reply(const Reply& reply) {
    std::string out = reply.ok ? "+OK" : "-ERR";
    if (reply.code != ResponseCode::none) {
        out += " [";
        out += to_string(reply.code);
        out += ']';
    }
    if (!reply.text.empty()) {
        out += ' ';
        const std::size_t used = out.size() + 2;
        append_text(out, reply.text, used < kMaxResponseLineLength ? kMaxResponseLineLength - used : 0);
    }
    out += "\r\n";
    return out;
}

std::string format_continuation(std::string_view challenge) {
    std::string out = "+ ";
    append_text(out, challenge, kMaxResponseLineLength - 4);
    out += "\r\n";
    return out;
}

void DotStuffer::append(std::string& out, std::string_view chunk) {
    if (chunk.empty()) return;
    // The dots are found with memchr (vectorized) and each is checked for a line start, rather
    // than walking the body byte by byte: RETR spent most of its CPU here. Dots are rarer than
    // line ends (base64 attachments, the bulk of large mail, have none), so the body is copied
    // in long runs.
    const char* const begin = chunk.data();
    const char* const end = begin + chunk.size();
    const char* run = begin;  // start of the bytes not yet copied
    for (const char* p = begin;;) {
        const auto* dot = static_cast<const char*>(std::memchr(p, '.', static_cast<std::size_t>(end - p)));
        if (!dot) break;
        if (dot == begin ? at_line_start() : dot[-1] == '\n') {
            out.append(run, dot);
            out += '.';
            run = dot;  // the original dot is copied with the next run
        }
        p = dot + 1;
    }
    out.append(run, end);
    empty_ = false;
    before_last_ = chunk.size() >= 2 ? chunk[chunk.size() - 2] : last_;
    last_ = chunk.back();
}

void DotStuffer::finish(std::string& out) {
    if (!empty_ && !(before_last_ == '\r' && last_ == '\n')) out += "\r\n";
    out += ".\r\n";
    *this = DotStuffer();
}

std::string format_multiline(const Reply& status, std::string_view body) {
    std::string out = format_reply(status);
    out.reserve(out.size() + body.size() + body.size() / 64 + 5);
    DotStuffer stuffer;
    stuffer.append(out, body);
    stuffer.finish(out);
    return out;
}

std::string format_multiline(const Reply& status, const std::vector<std::string>& lines) {
    std::string out = format_reply(status);
    DotStuffer stuffer;
    for (const auto& line : lines) {
        stuffer.append(out, line);
        stuffer.append(out, "\r\n");
    }
    stuffer.finish(out);
    return out;
}

std::string_view top_excerpt(std::string_view message, std::uint64_t body_lines) {
    // The header ends at the first empty line (RFC 5322 2.1).
    std::size_t pos = 0;
    while (true) {
        const auto eol = message.find('\n', pos);
        if (eol == std::string_view::npos) return message;  // no body at all
        const auto line = message.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.empty() || line == "\r") break;
    }
    for (std::uint64_t n = 0; n < body_lines; ++n) {
        const auto eol = message.find('\n', pos);
        if (eol == std::string_view::npos) return message;
        pos = eol + 1;
    }
    return message.substr(0, pos);
}

}  // namespace hikyaku::pop3
