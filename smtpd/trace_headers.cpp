// trace_headers.cpp: see trace_headers.h.
#include "smtpd/trace_headers.h"
#include "common/text/ascii.h"

#include <cctype>
#include <ctime>

namespace hikyaku::smtp {

std::string printable(std::string_view s, std::size_t max_length, bool keep_utf8) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= max_length) break;
        bool ok = (c >= 0x21 && c <= 0x7e && c != '(' && c != ')' && c != '\\') || (keep_utf8 && c >= 0x80);
        out += ok ? static_cast<char>(c) : '?';
    }
    return out;
}

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
    std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    gmtime_r(&t, &tm);
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string received_header(const ReceivedInfo& info) {
    // RFC 3848 / RFC 6531 3.7.3: base keyword, then S for TLS, A for authenticated.
    std::string with = info.smtputf8 ? "UTF8SMTP" : (info.esmtp ? "ESMTP" : "SMTP");
    if (info.esmtp || info.smtputf8) {
        if (!info.tls_version.empty()) with += "S";
        if (!info.authenticated.empty()) with += "A";
    }
    std::string h = "Received: from " + printable(info.helo.empty() ? "unknown" : info.helo) + " ([" +
                    printable(info.peer_address, 64) + "])\r\n\tby " + printable(info.hostname) + " (hikyaku) with " +
                    with;
    if (!info.tls_version.empty())
        h += "\r\n\t(version=" + printable(info.tls_version, 32) + " cipher=" + printable(info.tls_cipher, 64) + ")";
    if (!info.authenticated.empty()) h += "\r\n\t(authenticated as " + printable(info.authenticated) + ")";
    h += "\r\n\tid " + printable(info.id, 64);
    if (info.single_recipient) h += "\r\n\tfor <" + printable(*info.single_recipient, 255, true) + ">";
    h += ";\r\n\t" + rfc5322_date(info.when) + "\r\n";
    return h;
}

std::string return_path_header(std::string_view sender) {
    return "Return-Path: <" + printable(sender, 255, true) + ">\r\n";
}

bool has_header_field(std::string_view message, std::string_view name) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t end = message.find('\n', pos);
        std::string_view line = message.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) return false;  // end of the header block
        if (line.size() > name.size() && line[name.size()] == ':' && text::iequals(line.substr(0, name.size()), name))
            return true;
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return false;
}

}  // namespace hikyaku::smtp
