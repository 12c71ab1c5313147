// smtp_client.h: the client side of ESMTP submission (RFC 5321, RFC 6409), driving the suite's
// one SMTP client session (common/client/smtp_client_session.h): EHLO (HELO as a
// fallback), STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954, RFC 4616), SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), one transaction for all recipients, DATA with
// dot-stuffing (RFC 5321 4.5.2), QUIT. Replies are read by common/client/smtp_reply.h.
// Must never: send credentials before TLS when STARTTLS was asked for, continue after a
// refused STARTTLS, end DATA anywhere but at CRLF.CRLF, hide a refused recipient.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/client/smtp_client_session.h"
#include "common/client/smtp_reply.h"
#include "mailcli/server_connection.h"

namespace hikyaku::mailcli {

using client::SmtpReply;

// mailcli's bounds on a reply (common/client/smtp_reply.h documents them).
inline constexpr client::SmtpReplyLimits kSmtpReplyLimits{};

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
using client::dot_stuff;

// Connects, authenticates when settings.user is set, sends one message. Throws CliError.
SendResult smtp_send(const ServerSettings& settings, const SendRequest& request);

}  // namespace hikyaku::mailcli
