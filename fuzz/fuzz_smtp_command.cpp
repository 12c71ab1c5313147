// fuzz_smtp_command.cpp: fuzzes the SMTP command parser (and through MAIL/RCPT the RFC 5321
// path and ESMTP parameter parsers). Must never crash, and checks invariants:
//   - every error formats to exactly one well-formed reply line of at most 512 octets;
//   - a parsed mailbox's canonical form parses again to the same canonical form;
//   - the parse does not depend on anything but the line (same result twice).
// Input: first byte = flags (bit 0: transaction has SMTPUTF8; bit 1: tiny line limit), rest =
// lines separated by LF, each parsed on its own.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtpd/smtp_command.h"

using namespace hikyaku;
using namespace hikyaku::smtp;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void check_reply(const Reply& reply) {
    const std::string wire = format_reply(reply);
    require(wire.size() >= 5 && wire.size() <= kMaxReplyLineLength);
    require(wire.find("\r\n") == wire.size() - 2);
    require(wire.find('\n') == wire.size() - 1);
    require(wire[3] == ' ' || wire.size() == 5);
}

void check_mailbox(const text::Path& path) {
    if (!path.mailbox || path.mailbox->is_bare_postmaster()) return;
    const std::string canonical = path.mailbox->canonical();
    auto again = text::parse_mailbox(canonical, path.mailbox->non_ascii);
    require(std::holds_alternative<text::Mailbox>(again));
    require(std::get<text::Mailbox>(again).canonical() == canonical);
    require(path.mailbox->local_part.size() <= text::kMaxLocalPartLength);
    require(path.mailbox->domain.size() <= text::kMaxDomainLength);
}

void parse_one(std::string_view line, const ParseContext& context, const CommandLimits& limits) {
    auto result = parse_command(line, context, limits);
    if (auto* error = std::get_if<CommandError>(&result)) {
        check_reply(to_reply(*error));
        auto again = parse_command(line, context, limits);
        require(std::holds_alternative<CommandError>(again) && std::get<CommandError>(again).kind == error->kind);
        return;
    }
    const auto& command = std::get<Command>(result);
    require(line.size() + 2 <= (command.verb == Verb::auth ? limits.max_auth_line_length : limits.max_line_length));
    if (auto* mail = command.mail()) {
        check_mailbox(mail->reverse_path);
        if (mail->reverse_path.mailbox && mail->reverse_path.mailbox->non_ascii) require(mail->smtputf8);
    }
    if (auto* rcpt = command.rcpt()) {
        require(!rcpt->forward_path.is_null());
        check_mailbox(rcpt->forward_path);
        if (rcpt->forward_path.mailbox->non_ascii) require(context.smtputf8);
    }
    if (auto* helo = command.helo()) require(!helo->domain.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    ParseContext context;
    context.smtputf8 = (flags & 1) != 0;
    CommandLimits limits;
    if (flags & 2) {
        limits.max_line_length = 16;
        limits.max_auth_line_length = 32;
    }
    while (true) {
        const auto eol = input.find('\n');
        parse_one(input.substr(0, eol), context, limits);
        if (eol == std::string_view::npos) break;
        input.remove_prefix(eol + 1);
    }
    return 0;
}
