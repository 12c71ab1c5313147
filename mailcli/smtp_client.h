// smtp_client.h: the client side of ESMTP submission (RFC 5321, RFC 6409): EHLO (HELO as a
// fallback), STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954, RFC 4616), SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), one transaction for all recipients, DATA with
// dot-stuffing (RFC 5321 4.5.2), QUIT.
// Must never: send credentials before TLS when STARTTLS was asked for, continue after a
// refused STARTTLS, end DATA anywhere but at CRLF.CRLF, hide a refused recipient.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "mailcli/line_stream.h"

namespace hikyaku::mailcli {

inline constexpr std::size_t kMaxSmtpReplyLine = 4096;   // RFC 5321 4.5.3.1.5 says 512
inline constexpr std::size_t kMaxSmtpReplyLines = 1000;

struct SmtpReply {
    int code = 0;
    std::vector<std::string> lines;  // text after "NNN-" / "NNN "
    std::string text() const;        // lines joined by a space
};

// Parses one reply line: "NNN" followed by '-', ' ' or the end. False when malformed.
bool parse_reply_line(std::string_view line, int& code, bool& last, std::string& text);

struct SmtpExtensions {
    bool starttls = false, eight_bit_mime = false, smtputf8 = false, pipelining = false;
    bool auth_plain = false, auth_login = false;
    bool size = false;
    std::size_t size_limit = 0;  // 0: none announced
};
SmtpExtensions parse_ehlo(const SmtpReply& reply);

struct SendRequest {
    std::string helo_name;
    std::string mail_from;                // addr-spec
    std::vector<std::string> recipients;  // addr-specs (To, Cc and Bcc)
    std::string data;                     // the message, CRLF line ends
    bool eight_bit = false;               // data has 8-bit octets
};

struct RecipientFailure {
    std::string recipient;
    SmtpReply reply;
};

struct SendResult {
    std::vector<RecipientFailure> refused;
    std::size_t accepted = 0;
    SmtpReply final_reply;  // the reply to the end of DATA
};

// Dot-stuffs CRLF text and appends the final ".\r\n" (RFC 5321 4.5.2).
std::string dot_stuff(std::string_view data);

// Connects, authenticates when settings.user is set, sends one message. Throws CliError.
SendResult smtp_send(const ServerSettings& settings, const SendRequest& request);

}  // namespace hikyaku::mailcli
