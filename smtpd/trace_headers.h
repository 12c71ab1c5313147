// trace_headers.h: the header fields smtpd adds to a message it accepts. Pure.
//
// RFC 5321 4.4 (Received: and Return-Path: trace fields), RFC 3848 and RFC 6531 3.7.3
// (the "with" protocol keywords ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP...), RFC 8314 4.3
// (TLS version and cipher in a comment), RFC 6409 8.2/8.3 (submission adds Date and
// Message-ID when missing), RFC 5322 3.3 (date-time).
// Never puts a client-controlled CR or LF into a header: HELO names and user names are
// cleaned to printable ASCII before they are written.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hikyaku::smtp {

struct ReceivedInfo {
    std::string helo;          // as the client announced itself
    std::string peer_address;  // IP
    std::string hostname;      // ours
    bool esmtp = true;
    bool smtputf8 = false;
    std::string tls_version;  // empty when not TLS
    std::string tls_cipher;
    std::string authenticated;                    // user, empty when not authenticated
    std::string id;                               // our id for this message
    std::optional<std::string> single_recipient;  // "for <x>" only with one recipient
    std::chrono::system_clock::time_point when;
};

// "Received: from ... ;date\r\n" folded at reasonable places.
std::string received_header(const ReceivedInfo& info);
// "Return-Path: <sender>\r\n" ("<>" for the null sender).
std::string return_path_header(std::string_view sender);
// RFC 5322 date-time in UTC: "Thu, 26 Nov 2026 15:30:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point when);
// True if the message's header block (up to the first empty line) has a field `name`.
bool has_header_field(std::string_view message, std::string_view name);
// Makes a printable, single-line version of a client-supplied string: control octets and
// comment delimiters become '?'; octets >= 0x80 are kept only with keep_utf8 (SMTPUTF8
// addresses, already validated as UTF-8 by the parser; RFC 6532 allows them in headers).
std::string printable(std::string_view s, std::size_t max_length = 255, bool keep_utf8 = false);

}  // namespace hikyaku::smtp
