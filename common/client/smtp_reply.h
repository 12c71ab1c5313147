// smtp_reply.h: the client side's reading of SMTP replies (RFC 5321 4.2, 4.2.1): the bytes a
// server sent in, one whole reply (its code and the text of each line) out; and what an EHLO
// reply announces (RFC 5321 4.1.1.1, with the extensions of RFC 1870, 3207, 4954, 6152, 6531,
// 2920, 3030). Used by mailcli, the load generator and deliverd.
//
// SmtpReplyParser is incremental and holds no bytes: feed() gets everything that has arrived
// and not yet been consumed, takes whole lines only and says how many octets it took; the
// caller drops those and feeds the rest again once more has arrived. So the result does not
// depend on how the bytes were split into reads.
// Must never: look past its input, accept a line longer than limits.max_line or a reply of
// more than limits.max_lines lines, take a line with another code as part of the reply
// (RFC 5321 4.2.1: every line of a multi-line reply has the same code), or let a line that
// is not a reply line pass.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::client {

struct SmtpReplyLimits {
    std::size_t max_line = 4096;   // octets of one line before its CRLF; RFC 5321 4.5.3.1.5 says 512
    std::size_t max_lines = 1000;  // lines of one reply (an EHLO reply has a few dozen)
};

struct SmtpReply {
    int code = 0;
    std::vector<std::string> lines;  // the text after "NNN-" / "NNN " of each line
    std::string text() const;        // the lines joined by a space
    bool positive() const { return code >= 200 && code < 400; }
};

enum class SmtpReplyStatus {
    incomplete,      // feed more
    complete,        // reply() holds the reply
    not_a_reply,     // a line that is not "NNN", "NNN-text" or "NNN text" (bad_line() shows it)
    mixed_codes,     // a continuation line with another code (bad_line() shows it)
    line_too_long,   // a line over limits.max_line
    too_many_lines,  // a reply over limits.max_lines
};
const char* to_string(SmtpReplyStatus status);

class SmtpReplyParser {
public:
    explicit SmtpReplyParser(SmtpReplyLimits limits = {}) : limits_(limits) {}

    // Takes whole lines from the front of `input` until the reply is complete or wrong;
    // returns the octets taken. Once done(), takes nothing more.
    std::size_t feed(std::string_view input);
    bool done() const { return status_ != SmtpReplyStatus::incomplete; }
    SmtpReplyStatus status() const { return status_; }
    const SmtpReply& reply() const { return reply_; }
    // The start (at most 80 octets) of the line that made the reply wrong.
    const std::string& bad_line() const { return bad_line_; }
    // A one-line description of a failure, e.g. "not an SMTP reply: \"+OK ready\"".
    std::string error_message() const;
    // Ready for the next reply.
    void reset();

private:
    bool take_line(std::string_view line);  // false once done

    SmtpReplyLimits limits_;
    SmtpReplyStatus status_ = SmtpReplyStatus::incomplete;
    SmtpReply reply_;
    std::string bad_line_;
};

// One reply line: "NNN" then '-', ' ' or nothing (RFC 5321 4.2: Reply-code is
// %x32-35 %x30-35 %x30-39). False when malformed.
bool parse_reply_line(std::string_view line, int& code, bool& last, std::string_view& text);

struct SmtpExtensions {
    bool starttls = false, eight_bit_mime = false, smtputf8 = false, pipelining = false;
    bool auth_plain = false, auth_login = false;
    bool chunking = false;  // RFC 3030 BDAT
    bool size = false;
    std::size_t size_limit = 0;  // 0: none announced
};
// What the lines after the first of a 250 reply to EHLO announce (keywords in any case).
SmtpExtensions parse_ehlo(const SmtpReply& reply);

}  // namespace hikyaku::client
