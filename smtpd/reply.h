// reply.h: a typed SMTP reply (code, enhanced status code, text lines) and the one function
// that writes it, so every path formats (and logs) replies the same way (STYLE 6).
//
// RFC 5321 4.2 (reply syntax, multiline "250-"), 4.5.3.1.5 (512-octet reply lines),
// RFC 2034 / RFC 3463 / RFC 5248 (enhanced status codes: on every line of every reply except
// the greeting and the HELO/EHLO reply).
// format_reply never emits a CR, LF or other control byte from the text: a client-supplied
// string echoed in a reply can never inject a line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::smtp {

// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including the CRLF.
inline constexpr std::size_t kMaxReplyLineLength = 512;

// class.subject.detail (RFC 3463 2): class 2, 4 or 5; subject 0..999; detail 0..999.
struct EnhancedCode {
    std::uint16_t cls = 2;
    std::uint16_t subject = 0;
    std::uint16_t detail = 0;
    std::string to_string() const;
    friend bool operator==(const EnhancedCode&, const EnhancedCode&) = default;
};

struct Reply {
    int code = 250;                        // 3 digits, 2xx..5xx
    std::optional<EnhancedCode> enhanced;  // none for the greeting and the EHLO/HELO reply
    std::vector<std::string> lines;        // at least one line is written, possibly empty

    Reply() = default;
    Reply(int c, std::optional<EnhancedCode> e, std::string text) : code(c), enhanced(e), lines{std::move(text)} {}
    Reply(int c, std::optional<EnhancedCode> e, std::vector<std::string> text)
        : code(c), enhanced(e), lines(std::move(text)) {}

    bool positive() const { return code >= 200 && code < 400; }
    bool transient_failure() const { return code >= 400 && code < 500; }
    bool permanent_failure() const { return code >= 500; }
    // 421 closes the connection (RFC 5321 3.8); the session decides, this only says so.
    bool closes_connection() const { return code == 421; }
    friend bool operator==(const Reply&, const Reply&) = default;
};

// Writes the reply on the wire: "250-first\r\n250-second\r\n250 last\r\n", each line with the
// enhanced code when there is one ("250 2.1.0 Ok\r\n"). Bytes outside %d32-126 (and HTAB) in
// the text become '?'; a line that would exceed kMaxReplyLineLength is truncated.
std::string format_reply(const Reply& reply);

// A short one-line form for logs: "550 5.1.1 text" (multiline: lines joined with " | ").
std::string describe_reply(const Reply& reply);

}  // namespace hikyaku::smtp
