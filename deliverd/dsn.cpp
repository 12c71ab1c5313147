// dsn.cpp: message facts and delivery status notifications (see dsn.h).
#include "deliverd/dsn.h"
#include "common/text/ascii.h"

#include <cctype>
#include <ctime>

namespace hikyaku::deliverd {

namespace {

bool starts_with_field(std::string_view line, std::string_view name) {
    if (line.size() <= name.size() || line[name.size()] != ':') return false;
    return text::iequals(line.substr(0, name.size()), name);
}

// One line of a field value: control octets become spaces.
std::string one_line(std::string_view s, std::size_t max = 900) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= max) break;
        out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    }
    return out;
}

std::string rfc5322_date(storage::TimePoint when) {
    std::time_t t = static_cast<std::time_t>(when.time_since_epoch().count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

bool is_status(std::string_view s) {
    // class "." subject "." detail (RFC 3463 2): 2/4/5, 1-3 digits, 1-3 digits.
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
    std::size_t i = 2, digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) ++i, ++digits;
    if (digits == 0 || i >= s.size() || s[i] != '.') return false;
    ++i;
    digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) ++i, ++digits;
    return digits > 0 && i == s.size();
}

}  // namespace

std::string_view header_block(std::string_view message) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t end = message.find('\n', pos);
        if (end == std::string_view::npos) return message;
        std::string_view line = message.substr(pos, end - pos);
        if (line.empty() || line == "\r") return message.substr(0, end + 1);
        pos = end + 1;
    }
    return message;
}

std::size_t count_received(std::string_view message) {
    std::string_view headers = header_block(message);
    std::size_t count = 0, pos = 0;
    while (pos < headers.size()) {
        std::size_t end = headers.find('\n', pos);
        if (end == std::string_view::npos) end = headers.size();
        if (starts_with_field(headers.substr(pos, end - pos), "Received")) ++count;
        pos = end + 1;
    }
    return count;
}

std::string_view without_return_path(std::string_view message) {
    if (!starts_with_field(message.substr(0, std::min<std::size_t>(message.size(), 16)), "Return-Path")) return message;
    std::size_t pos = 0;
    for (;;) {  // the field and its folded lines
        std::size_t end = message.find('\n', pos);
        if (end == std::string_view::npos) return message;  // only a Return-Path: leave it
        pos = end + 1;
        if (pos >= message.size() || (message[pos] != ' ' && message[pos] != '\t')) break;
    }
    return message.substr(pos);
}

bool has_eight_bit(std::string_view bytes) {
    for (unsigned char c : bytes)
        if (c >= 0x80) return true;
    return false;
}

std::string status_of_reply(int code, std::string_view reply) {
    // "550 5.1.1 text": the second word.
    std::size_t sp = reply.find(' ');
    if (sp != std::string_view::npos) {
        std::string_view rest = reply.substr(sp + 1);
        std::string_view word = rest.substr(0, rest.find(' '));
        if (is_status(word) && word[0] == std::to_string(code / 100)[0]) return std::string(word);
    }
    if (code >= 500) return "5.0.0";
    if (code >= 400) return "4.0.0";
    return "2.0.0";
}

std::string build_dsn(const DsnReport& r) {
    bool any_failed = false;
    for (const auto& rcpt : r.recipients) any_failed |= rcpt.failed;
    const std::string boundary = "=_hikyaku_dsn_" + one_line(r.boundary_seed, 64);
    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + one_line(r.reporting_mta) + ">\r\n";
    m += "To: <" + one_line(r.to) + ">\r\n";
    m += any_failed ? "Subject: Undelivered Mail Returned to Sender\r\n"
                    : "Subject: Delayed Mail (still being retried)\r\n";
    m += "Date: " + rfc5322_date(r.now) + "\r\n";
    m += "Message-ID: <dsn." + one_line(r.boundary_seed, 64) + "@" + one_line(r.reporting_mta) + ">\r\n";
    m += "Auto-Submitted: auto-replied\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
    m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

    m += "--" + boundary + "\r\n";
    m += "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    m += "This is the mail system at host " + one_line(r.reporting_mta) + ".\r\n\r\n";
    if (any_failed) {
        m += "I'm sorry to have to inform you that your message could not\r\n"
             "be delivered to one or more recipients. Its headers are attached below.\r\n\r\n";
    } else {
        m += "Your message could not be delivered yet to one or more recipients.\r\n"
             "It will be retried until it is too old; you need not send it again.\r\n\r\n";
    }
    for (const auto& rcpt : r.recipients) {
        m += "<" + one_line(rcpt.address) + ">: " + (rcpt.failed ? "" : "(delayed) ") + one_line(rcpt.diagnostic) +
             "\r\n";
    }
    m += "\r\n--" + boundary + "\r\n";
    // RFC 3464 2.1: per-message fields, an empty line, then one block per recipient.
    m += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
    m += "Reporting-MTA: dns; " + one_line(r.reporting_mta) + "\r\n";
    if (!r.queue_id.empty()) m += "X-Hikyaku-Queue-ID: " + one_line(r.queue_id) + "\r\n";
    m += "Arrival-Date: " + rfc5322_date(r.arrival) + "\r\n";
    for (const auto& rcpt : r.recipients) {
        m += "\r\n";
        m += "Final-Recipient: rfc822; " + one_line(rcpt.address) + "\r\n";
        m += std::string("Action: ") + (rcpt.failed ? "failed" : "delayed") + "\r\n";
        m += "Status: " + one_line(rcpt.status, 16) + "\r\n";
        if (!rcpt.remote_mta.empty()) m += "Remote-MTA: dns; " + one_line(rcpt.remote_mta) + "\r\n";
        m += std::string("Diagnostic-Code: ") + (rcpt.diagnostic_is_smtp ? "smtp; " : "x-hikyaku; ") +
             one_line(rcpt.diagnostic) + "\r\n";
        m += "Last-Attempt-Date: " + rfc5322_date(r.now) + "\r\n";
    }
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n";
    std::string headers(r.original_headers);
    // The headers end with their empty line, which the part does not need.
    while (headers.ends_with("\r\n\r\n")) headers.resize(headers.size() - 2);
    if (!headers.empty() && !headers.ends_with("\r\n")) headers += "\r\n";
    m += headers;
    m += "\r\n--" + boundary + "--\r\n";
    return m;
}

}  // namespace hikyaku::deliverd
