// smtp_command.cpp: see smtp_command.h. RFC 5321 4.1.1, 4.1.2, 4.5.3.1.4; RFC 1869; RFC 1870;
// RFC 3030; RFC 3461 4 (xtext, for AUTH=); RFC 4954; RFC 6152; RFC 6531.
#include "smtpd/smtp_command.h"
#include "common/text/ascii.h"

#include <array>
#include <limits>
#include <utility>

namespace hikyaku::smtp {

namespace {

using text::ParamError;
using text::PathError;

using text::iequals;
constexpr char upper(char c) { return text::ascii_upper(c); }

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

constexpr std::array<std::pair<std::string_view, Verb>, 14> kVerbs{{
    {"HELO", Verb::helo},
    {"EHLO", Verb::ehlo},
    {"MAIL", Verb::mail},
    {"RCPT", Verb::rcpt},
    {"DATA", Verb::data},
    {"BDAT", Verb::bdat},
    {"RSET", Verb::rset},
    {"NOOP", Verb::noop},
    {"QUIT", Verb::quit},
    {"VRFY", Verb::vrfy},
    {"EXPN", Verb::expn},
    {"HELP", Verb::help},
    {"STARTTLS", Verb::starttls},
    {"AUTH", Verb::auth},
}};

CommandError fail(CommandErrorKind kind, std::optional<Verb> verb, std::string detail) {
    return CommandError{kind, verb, std::move(detail)};
}

// 1*20DIGIT (RFC 1870 size-value); larger values saturate, so a policy check still sees
// "too big" without an overflow. Returns nullopt for anything that is not all digits.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        const unsigned d = static_cast<unsigned>(c - '0');
        v = (v > (max - d) / 10) ? max : v * 10 + d;
    }
    return v;
}

// RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2HEXDIG (upper-case hex).
std::optional<std::string> decode_xtext(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '+') {
            if (i + 2 >= s.size()) return std::nullopt;
            auto hex = [](char h) -> int {
                if (h >= '0' && h <= '9') return h - '0';
                if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                return -1;
            };
            const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

// SASL mechanism names: 1*20 of upper-case letters, digits, '-' and '_' (RFC 4422 3.1),
// accepted here in any case.
bool valid_mechanism_name(std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s) {
        const char u = upper(c);
        if (!((u >= 'A' && u <= 'Z') || is_digit(u) || u == '-' || u == '_')) return false;
    }
    return true;
}

CommandError path_error(Verb verb, PathError e) {
    const bool mail = verb == Verb::mail;
    switch (e) {
        case PathError::non_ascii_not_permitted:
            return fail(CommandErrorKind::non_ascii_address, verb, "Non-ASCII address requires SMTPUTF8");
        case PathError::path_too_long: return fail(CommandErrorKind::path_too_long, verb, "Path too long");
        case PathError::null_not_allowed:
            return fail(CommandErrorKind::bad_recipient_address, verb, "Null recipient not allowed");
        default: break;
    }
    return fail(
        mail ? CommandErrorKind::bad_sender_address : CommandErrorKind::bad_recipient_address, verb,
        std::string(mail ? "Bad sender address syntax: " : "Bad recipient address syntax: ") + text::to_string(e));
}

CommandError param_error(Verb verb, ParamError e) {
    if (e == ParamError::non_ascii)
        return fail(CommandErrorKind::non_ascii_address, verb, "Non-ASCII parameter requires SMTPUTF8");
    return fail(CommandErrorKind::bad_parameter_value, verb, std::string("Bad parameters: ") + text::to_string(e));
}

// "FROM:" / "TO:" then optional spaces then the path, then the parameters.
struct PathAndParams {
    text::Path path;
    std::string_view params;
};

std::variant<PathAndParams, CommandError> split_path(Verb verb, std::string_view args, std::string_view keyword,
                                                     const text::PathOptions& options) {
    const char* usage =
        verb == Verb::mail ? "Syntax: MAIL FROM:<address> [parameters]" : "Syntax: RCPT TO:<address> [parameters]";
    if (!istarts_with(args, keyword)) return fail(CommandErrorKind::syntax_error, verb, usage);
    args.remove_prefix(keyword.size());
    while (!args.empty() && args.front() == ' ') args.remove_prefix(1);  // Postfix tolerance
    if (args.empty() || args.front() != '<') return fail(CommandErrorKind::syntax_error, verb, usage);
    auto parsed = text::parse_path(args, options);
    if (auto* e = std::get_if<PathError>(&parsed)) return path_error(verb, *e);
    auto& p = std::get<text::ParsedPath>(parsed);
    std::string_view rest = args.substr(p.consumed);
    // Parameters are separated from the path by SP (RFC 5321 4.1.1.2).
    if (!rest.empty() && rest.front() != ' ') return fail(CommandErrorKind::syntax_error, verb, usage);
    return PathAndParams{std::move(p.path), rest};
}

std::variant<Command, CommandError> parse_mail(std::string_view args) {
    constexpr Verb verb = Verb::mail;
    text::PathOptions options;
    options.allow_null = true;
    options.smtputf8 = true;  // checked against the SMTPUTF8 parameter below
    auto split = split_path(verb, args, "FROM:", options);
    if (auto* e = std::get_if<CommandError>(&split)) return std::move(*e);
    auto& pp = std::get<PathAndParams>(split);

    auto parsed = text::parse_esmtp_params(pp.params, true);
    if (auto* e = std::get_if<ParamError>(&parsed)) return param_error(verb, *e);
    const auto& params = std::get<std::vector<text::EsmtpParam>>(parsed);

    MailCommand mail;
    for (const auto& p : params) {
        if (p.keyword == "SIZE") {
            auto n = p.value ? parse_decimal(*p.value) : std::nullopt;
            if (!n || p.value->size() > 20)
                return fail(CommandErrorKind::bad_parameter_value, verb, "Bad SIZE parameter");
            mail.size = *n;
        } else if (p.keyword == "BODY") {
            if (!p.value) return fail(CommandErrorKind::bad_parameter_value, verb, "Bad BODY parameter");
            if (iequals(*p.value, "7BIT")) mail.body = BodyType::seven_bit;
            else if (iequals(*p.value, "8BITMIME")) mail.body = BodyType::eight_bit_mime;
            else if (iequals(*p.value, "BINARYMIME")) mail.body = BodyType::binary_mime;
            else return fail(CommandErrorKind::bad_parameter_value, verb, "Bad BODY parameter");
        } else if (p.keyword == "SMTPUTF8") {
            if (p.value) return fail(CommandErrorKind::bad_parameter_value, verb, "SMTPUTF8 takes no value");
            mail.smtputf8 = true;
        } else if (p.keyword == "AUTH") {
            auto decoded = p.value ? decode_xtext(*p.value) : std::nullopt;
            if (!decoded) return fail(CommandErrorKind::bad_parameter_value, verb, "Bad AUTH parameter");
            mail.auth = std::move(*decoded);
        } else {
            return fail(CommandErrorKind::unrecognized_parameter, verb, "Unsupported parameter " + p.keyword);
        }
    }
    if (!mail.smtputf8) {
        // Without SMTPUTF8, neither the path nor a parameter value may carry 8-bit octets.
        if (pp.path.mailbox && pp.path.mailbox->non_ascii) return path_error(verb, PathError::non_ascii_not_permitted);
        for (const auto& p : params)
            if (p.value)
                for (unsigned char c : *p.value)
                    if (c >= 0x80) return param_error(verb, ParamError::non_ascii);
    }
    mail.reverse_path = std::move(pp.path);
    Command cmd;
    cmd.verb = verb;
    cmd.args = std::move(mail);
    return cmd;
}

std::variant<Command, CommandError> parse_rcpt(std::string_view args, const ParseContext& context) {
    constexpr Verb verb = Verb::rcpt;
    text::PathOptions options;
    options.allow_bare_postmaster = true;
    options.smtputf8 = context.smtputf8;
    auto split = split_path(verb, args, "TO:", options);
    if (auto* e = std::get_if<CommandError>(&split)) return std::move(*e);
    auto& pp = std::get<PathAndParams>(split);
    auto parsed = text::parse_esmtp_params(pp.params, context.smtputf8);
    if (auto* e = std::get_if<ParamError>(&parsed)) return param_error(verb, *e);
    const auto& params = std::get<std::vector<text::EsmtpParam>>(parsed);
    // No RCPT parameter is offered (DSN's NOTIFY/ORCPT are not advertised).
    if (!params.empty())
        return fail(CommandErrorKind::unrecognized_parameter, verb, "Unsupported parameter " + params.front().keyword);
    Command cmd;
    cmd.verb = verb;
    cmd.args = RcptCommand{std::move(pp.path)};
    return cmd;
}

std::variant<Command, CommandError> parse_helo(Verb verb, std::string_view args) {
    const char* usage = verb == Verb::ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname";
    if (args.empty() || args.find(' ') != std::string_view::npos || args.find('\t') != std::string_view::npos)
        return fail(CommandErrorKind::syntax_error, verb, usage);
    HeloCommand helo;
    helo.domain = std::string(args);
    if (args.front() == '[') {
        if (!text::parse_address_literal(args))
            return fail(CommandErrorKind::syntax_error, verb, "Invalid address literal");
        helo.address_literal = true;
    } else {
        // Lenient where it is harmless: real clients send underscores (Windows host names)
        // and a trailing dot. Anything else must still look like a domain (RFC 5321 4.1.4
        // forbids refusing a mismatching name, not a malformed one).
        std::string relaxed(args);
        for (char& c : relaxed)
            if (c == '_') c = 'a';
        if (relaxed.size() > 1 && relaxed.back() == '.') relaxed.pop_back();
        if (!text::is_valid_domain(relaxed, true))
            return fail(CommandErrorKind::syntax_error, verb, "Invalid domain name");
    }
    Command cmd;
    cmd.verb = verb;
    cmd.args = std::move(helo);
    return cmd;
}

std::variant<Command, CommandError> parse_bdat(std::string_view args) {
    constexpr Verb verb = Verb::bdat;
    const char* usage = "Syntax: BDAT chunk-size [LAST]";
    const auto space = args.find(' ');
    const auto size_text = args.substr(0, space);
    auto size = parse_decimal(size_text);
    if (!size) return fail(CommandErrorKind::syntax_error, verb, usage);
    BdatCommand bdat;
    bdat.size = *size;
    if (space != std::string_view::npos) {
        const auto rest = trim_spaces(args.substr(space));
        if (!iequals(rest, "LAST")) return fail(CommandErrorKind::syntax_error, verb, usage);
        bdat.last = true;
    }
    Command cmd;
    cmd.verb = verb;
    cmd.args = bdat;
    return cmd;
}

std::variant<Command, CommandError> parse_auth(std::string_view args) {
    constexpr Verb verb = Verb::auth;
    const char* usage = "Syntax: AUTH mechanism [initial-response]";
    const auto space = args.find(' ');
    const auto name = args.substr(0, space);
    if (!valid_mechanism_name(name)) return fail(CommandErrorKind::syntax_error, verb, usage);
    auto mech = sasl::parse_mechanism(name);
    if (!mech) return fail(CommandErrorKind::unrecognized_mechanism, verb, "Unrecognized authentication type");
    AuthCommand auth;
    auth.mechanism = *mech;
    if (space != std::string_view::npos) {
        const auto ir = trim_spaces(args.substr(space));
        if (ir.empty() || ir.find(' ') != std::string_view::npos || ir.find('\t') != std::string_view::npos)
            return fail(CommandErrorKind::syntax_error, verb, usage);
        auth.initial_response = std::string(ir);
    }
    Command cmd;
    cmd.verb = verb;
    cmd.args = std::move(auth);
    return cmd;
}

}  // namespace

const char* verb_name(Verb v) {
    for (const auto& [name, verb] : kVerbs)
        if (verb == v) return name.data();
    return "?";
}

const char* to_string(CommandErrorKind k) {
    switch (k) {
        case CommandErrorKind::unknown_command: return "unknown_command";
        case CommandErrorKind::line_too_long: return "line_too_long";
        case CommandErrorKind::invalid_character: return "invalid_character";
        case CommandErrorKind::syntax_error: return "syntax_error";
        case CommandErrorKind::bad_sender_address: return "bad_sender_address";
        case CommandErrorKind::bad_recipient_address: return "bad_recipient_address";
        case CommandErrorKind::path_too_long: return "path_too_long";
        case CommandErrorKind::non_ascii_address: return "non_ascii_address";
        case CommandErrorKind::bad_parameter_value: return "bad_parameter_value";
        case CommandErrorKind::unrecognized_parameter: return "unrecognized_parameter";
        case CommandErrorKind::unrecognized_mechanism: return "unrecognized_mechanism";
    }
    return "?";
}

Reply to_reply(const CommandError& error) {
    auto with_default = [&](const char* fallback) {
        return error.detail.empty() ? std::string(fallback) : error.detail;
    };
    switch (error.kind) {
        case CommandErrorKind::unknown_command:
            return Reply(500, EnhancedCode{5, 5, 1}, with_default("Command unrecognized"));
        case CommandErrorKind::line_too_long: return Reply(500, EnhancedCode{5, 5, 2}, with_default("Line too long"));
        case CommandErrorKind::invalid_character:
            return Reply(500, EnhancedCode{5, 5, 2}, with_default("Invalid character in command"));
        case CommandErrorKind::syntax_error:
            return Reply(501, EnhancedCode{5, 5, 4}, with_default("Syntax error in arguments"));
        case CommandErrorKind::bad_sender_address:
            return Reply(501, EnhancedCode{5, 1, 7}, with_default("Bad sender address syntax"));
        case CommandErrorKind::bad_recipient_address:
            return Reply(501, EnhancedCode{5, 1, 3}, with_default("Bad recipient address syntax"));
        case CommandErrorKind::path_too_long:
            return Reply(501, error.verb == Verb::mail ? EnhancedCode{5, 1, 7} : EnhancedCode{5, 1, 3},
                         with_default("Path too long"));
        case CommandErrorKind::non_ascii_address:
            return Reply(553, EnhancedCode{5, 6, 7}, with_default("Non-ASCII address requires SMTPUTF8"));
        case CommandErrorKind::bad_parameter_value:
            return Reply(501, EnhancedCode{5, 5, 4}, with_default("Bad parameter value"));
        case CommandErrorKind::unrecognized_parameter:
            return Reply(555, EnhancedCode{5, 5, 4}, with_default("Unsupported parameter"));
        case CommandErrorKind::unrecognized_mechanism:
            return Reply(504, EnhancedCode{5, 5, 4}, with_default("Unrecognized authentication type"));
    }
    return Reply(500, EnhancedCode{5, 5, 2}, "Syntax error");
}

std::variant<Command, CommandError> parse_command(std::string_view line, const ParseContext& context,
                                                  const CommandLimits& limits) {
    // The verb first: AUTH lines have their own, larger bound.
    const std::size_t raw_length = line.size();
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    const auto verb_end = line.find(' ');
    const auto verb_text = line.substr(0, verb_end);
    std::optional<Verb> verb;
    for (const auto& [name, v] : kVerbs)
        if (iequals(verb_text, name)) verb = v;

    const std::size_t limit = verb == Verb::auth ? limits.max_auth_line_length : limits.max_line_length;
    if (raw_length + 2 > limit) return fail(CommandErrorKind::line_too_long, verb, "Line too long");
    for (char c : line)
        if (c == '\0' || c == '\r' || c == '\n')
            return fail(CommandErrorKind::invalid_character, verb, "Invalid character in command");
    if (!verb) return fail(CommandErrorKind::unknown_command, std::nullopt, "Command unrecognized");

    // Arguments: after one or more spaces; trailing spaces and tabs are dropped.
    std::string_view args = verb_end == std::string_view::npos ? std::string_view() : line.substr(verb_end);
    args = trim_spaces(args);

    Command simple;
    simple.verb = *verb;
    switch (*verb) {
        case Verb::helo:
        case Verb::ehlo: return parse_helo(*verb, args);
        case Verb::mail: return parse_mail(args);
        case Verb::rcpt: return parse_rcpt(args, context);
        case Verb::bdat: return parse_bdat(args);
        case Verb::auth: return parse_auth(args);
        case Verb::data:
        case Verb::rset:
        case Verb::quit:
        case Verb::starttls:
            if (!args.empty())
                return fail(CommandErrorKind::syntax_error, verb,
                            std::string("Syntax: ") + verb_name(*verb) + " takes no arguments");
            return simple;
        case Verb::vrfy:
        case Verb::expn:
            if (args.empty())
                return fail(CommandErrorKind::syntax_error, verb,
                            std::string("Syntax: ") + verb_name(*verb) + " string");
            simple.argument = std::string(args);
            return simple;
        case Verb::noop:
        case Verb::help: simple.argument = std::string(args); return simple;
    }
    return fail(CommandErrorKind::unknown_command, std::nullopt, "Command unrecognized");
}

}  // namespace hikyaku::smtp
