// reply.cpp: see reply.h. RFC 5321 4.2, 4.5.3.1.5; RFC 2034; RFC 3463.
#include "smtpd/reply.h"

namespace hikyaku::smtp {

namespace {

void append_text(std::string& out, std::string_view text, std::size_t room) {
    // RFC 5321 4.2 textstring = 1*(%d09 / %d32-126).
    for (std::size_t i = 0; i < text.size() && i < room; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        out += (c == '\t' || (c >= 32 && c <= 126)) ? static_cast<char>(c) : '?';
    }
}

}  // namespace

std::string EnhancedCode::to_string() const {
    return std::to_string(cls) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

std::string format_reply(const Reply& reply) {
    std::string out;
    const std::string code = std::to_string(reply.code);
    const std::string enhanced = reply.enhanced ? reply.enhanced->to_string() : std::string();
    const std::size_t count = reply.lines.empty() ? 1 : reply.lines.size();
    for (std::size_t i = 0; i < count; ++i) {
        const std::string_view text = reply.lines.empty() ? std::string_view() : reply.lines[i];
        const bool last = i + 1 == count;
        const std::size_t start = out.size();
        out += code;
        if (!last) {
            out += '-';
        } else if (!enhanced.empty() || !text.empty()) {
            out += ' ';
        }
        if (!enhanced.empty()) {
            out += enhanced;
            if (!text.empty()) out += ' ';
        }
        const std::size_t used = out.size() - start + 2;  // + CRLF
        append_text(out, text, used < kMaxReplyLineLength ? kMaxReplyLineLength - used : 0);
        out += "\r\n";
    }
    return out;
}

std::string describe_reply(const Reply& reply) {
    std::string out = std::to_string(reply.code);
    if (reply.enhanced) out += ' ' + reply.enhanced->to_string();
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
        out += i == 0 ? " " : " | ";
        append_text(out, reply.lines[i], kMaxReplyLineLength);
    }
    return out;
}

}  // namespace hikyaku::smtp
