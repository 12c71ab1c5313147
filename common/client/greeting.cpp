// greeting.cpp: see greeting.h.
#include "common/client/greeting.h"

#include <string>

#include "common/client/pop3_response.h"
#include "common/client/smtp_reply.h"
#include "common/text/address.h"

namespace hikyaku::client {

const char* to_string(ServerKind kind) {
    switch (kind) {
        case ServerKind::smtp: return "SMTP";
        case ServerKind::pop3: return "POP3";
        case ServerKind::imap: return "IMAP";
        case ServerKind::tls: return "TLS";
        case ServerKind::unknown: break;
    }
    return "unknown";
}

ServerKind classify_greeting(std::string_view first_bytes) {
    if (first_bytes.size() >= 2) {
        const auto type = static_cast<unsigned char>(first_bytes[0]);
        const auto major = static_cast<unsigned char>(first_bytes[1]);
        if (type >= 20 && type <= 23 && major == 3) return ServerKind::tls;
    }
    std::string_view line = first_bytes.substr(0, first_bytes.find('\n'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    bool ok = false;
    if (parse_status_line(line, ok)) return ServerKind::pop3;
    int code = 0;
    bool last = false;
    std::string_view text;
    if (parse_reply_line(line, code, last, text)) return ServerKind::smtp;
    const std::string start = text::ascii_lowercase(line.substr(0, 10));
    for (const std::string_view status : {"* ok", "* preauth", "* bye"}) {
        if (start.starts_with(status) && (start.size() == status.size() || start[status.size()] == ' ')) {
            return ServerKind::imap;
        }
    }
    return ServerKind::unknown;
}

bool is_implicit_tls_port(std::uint16_t port) { return port == 465 || port == 993 || port == 995; }

}  // namespace hikyaku::client
