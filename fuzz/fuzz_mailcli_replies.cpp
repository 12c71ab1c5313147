// fuzz_mailcli_replies.cpp: the client side's parsers of server replies (common/client, used
// by mailcli and the load generator) on arbitrary bytes: SMTP replies and EHLO keywords, POP3
// status lines and multi-line bodies (kept and counted) with the listing parsers, greeting
// classification. The first input byte picks small limits (so the bounds are reached) and
// a split point; the rest is the server's bytes.
// Must never: crash, read out of bounds, take more octets than it was given, take anything
// once done, or give a different outcome when the same bytes arrive in two pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/client/greeting.h"
#include "common/client/pop3_response.h"
#include "common/client/smtp_reply.h"

using namespace hikyaku::client;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// Feeds `input` as a connection would: the first `cut` octets, then all; returns octets taken.
template <class Parser>
std::size_t feed(Parser& parser, std::string_view input, std::size_t cut) {
    std::string buffer(input.substr(0, cut));
    std::size_t taken = parser.feed(buffer);
    check(taken <= buffer.size());
    buffer.erase(0, taken);
    if (!parser.done()) {
        buffer.append(input.substr(cut));
        const std::size_t more = parser.feed(buffer);
        check(more <= buffer.size());
        taken += more;
    }
    if (parser.done()) check(parser.feed(input) == 0);
    return taken;
}

void smtp(std::string_view input, std::size_t cut, const SmtpReplyLimits& limits) {
    SmtpReplyParser whole(limits), split(limits);
    const std::size_t a = feed(whole, input, input.size());
    const std::size_t b = feed(split, input, cut);
    check(a == b && whole.status() == split.status() && whole.reply().lines == split.reply().lines &&
          whole.reply().code == split.reply().code && whole.bad_line() == split.bad_line());
    check(whole.reply().lines.size() <= limits.max_lines);
    for (const auto& line : whole.reply().lines) check(line.size() <= limits.max_line);
    if (whole.status() == SmtpReplyStatus::complete) {
        check(whole.reply().code >= 200 && whole.reply().code <= 559);
        (void)parse_ehlo(whole.reply());
    }
    (void)whole.error_message();
}

void pop3(std::string_view input, std::size_t cut, const Pop3Limits& limits, Pop3Body mode) {
    Pop3ResponseParser whole(mode, limits), split(mode, limits);
    const std::size_t a = feed(whole, input, input.size());
    const std::size_t b = feed(split, input, cut);
    check(a == b && whole.status() == split.status() && whole.status_text() == split.status_text() &&
          whole.body() == split.body() && whole.body_octets() == split.body_octets() &&
          whole.body_lines() == split.body_lines());
    check(whole.body_octets() <= limits.max_body);
    if (mode == Pop3Body::keep) check(whole.body().size() == whole.body_octets());
    else check(whole.body().empty());
    check(whole.status_text().size() <= limits.max_status_line);
    for (std::string_view line : body_lines(whole.body())) {
        (void)parse_scan_line(line);
        (void)parse_uid_line(line);
    }
    (void)parse_drop_listing(whole.status_text());
    (void)whole.error_message();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned control = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = input.empty() ? 0 : (control * 7919u) % (input.size() + 1);
    const bool small = control & 1;
    SmtpReplyLimits smtp_limits;
    Pop3Limits pop3_limits;
    if (small) {
        smtp_limits = {16, 4};
        pop3_limits = {16, 24, 64};
    }
    smtp(input, cut, smtp_limits);
    pop3(input, cut, pop3_limits, Pop3Body::none);
    pop3(input, cut, pop3_limits, Pop3Body::keep);
    pop3(input, cut, pop3_limits, Pop3Body::count);
    (void)classify_greeting(input);
    return 0;
}
