// greeting.h: which protocol a server speaks, judged from the first bytes it sent (its
// greeting), so a client pointed at the wrong port can say so ("this is an SMTP server, not
// POP3") instead of reporting a refusal; and the ports where TLS starts at once (RFC 8314
// 3.3, 7.3: submissions 465, imaps 993, pop3s 995).
// Must never: guess from more than the first line, or call a greeting of the expected
// protocol anything else.
#pragma once

#include <cstdint>
#include <string_view>

namespace hikyaku::client {

enum class ServerKind {
    unknown,
    smtp,  // "220 ...", "220-...", or another reply code (RFC 5321 4.2, 4.3.1)
    pop3,  // "+OK ..." or "-ERR ..." (RFC 1939 4)
    imap,  // "* OK", "* PREAUTH" or "* BYE" (RFC 9051 7.1)
    tls,   // a TLS record (content type 20 to 23, version 3.x): a TLS server (RFC 8446 5.1)
};
const char* to_string(ServerKind kind);  // "SMTP", "POP3", "IMAP", "TLS", "unknown"

// `first_bytes`: what the server sent first (at least its first line when it has one).
ServerKind classify_greeting(std::string_view first_bytes);

bool is_implicit_tls_port(std::uint16_t port);

}  // namespace hikyaku::client
