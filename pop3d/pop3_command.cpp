// pop3_command.cpp: see pop3_command.h. RFC 1939 3, 5-7; RFC 2449 4-5; RFC 2595 4; RFC 5034 4.
#include "pop3d/pop3_command.h"
#include "common/text/ascii.h"

#include <array>
#include <utility>
#include <vector>

namespace hikyaku::pop3 {

namespace {

using text::iequals;
constexpr char upper(char c) { return text::ascii_upper(c); }

constexpr std::array<std::pair<std::string_view, Verb>, 15> kVerbs{{
    {"USER", Verb::user},
    {"PASS", Verb::pass},
    {"APOP", Verb::apop},
    {"STAT", Verb::stat},
    {"LIST", Verb::list},
    {"RETR", Verb::retr},
    {"DELE", Verb::dele},
    {"NOOP", Verb::noop},
    {"RSET", Verb::rset},
    {"QUIT", Verb::quit},
    {"TOP", Verb::top},
    {"UIDL", Verb::uidl},
    {"CAPA", Verb::capa},
    {"STLS", Verb::stls},
    {"AUTH", Verb::auth},
}};

CommandError fail(CommandErrorKind kind, std::optional<Verb> verb, std::string detail) {
    return CommandError{kind, verb, std::move(detail)};
}

// Splits on runs of spaces (RFC 2449 says one SPACE; more are tolerated, as they are harmless).
std::vector<std::string_view> split_args(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        if (i == s.size()) break;
        const std::size_t start = i;
        while (i < s.size() && s[i] != ' ') ++i;
        out.push_back(s.substr(start, i - start));
    }
    return out;
}

// Decimal digits only; no sign, no "+", no spaces. Saturates instead of overflowing, so a huge
// value is reported as out of range, not as a wrapped small one.
std::variant<std::uint32_t, CommandErrorKind> parse_number(std::string_view s, bool allow_zero) {
    if (s.empty()) return CommandErrorKind::syntax_error;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return CommandErrorKind::syntax_error;
        if (v <= kMaxNumber) v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > kMaxNumber || (v == 0 && !allow_zero)) return CommandErrorKind::out_of_range;
    return static_cast<std::uint32_t>(v);
}

bool valid_mechanism_name(std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s) {
        const char u = upper(c);
        if (!((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' || u == '_')) return false;
    }
    return true;
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
        case CommandErrorKind::syntax_error: return "syntax_error";
        case CommandErrorKind::out_of_range: return "out_of_range";
        case CommandErrorKind::line_too_long: return "line_too_long";
        case CommandErrorKind::argument_too_long: return "argument_too_long";
        case CommandErrorKind::invalid_character: return "invalid_character";
        case CommandErrorKind::unsupported_mechanism: return "unsupported_mechanism";
    }
    return "?";
}

Reply to_reply(const CommandError& error) {
    auto text = [&](const char* fallback) { return error.detail.empty() ? std::string(fallback) : error.detail; };
    switch (error.kind) {
        case CommandErrorKind::unknown_command: return Reply::negative(text("Unknown command"));
        case CommandErrorKind::syntax_error: return Reply::negative(text("Syntax error"));
        case CommandErrorKind::out_of_range: return Reply::negative(text("Number out of range"));
        case CommandErrorKind::line_too_long: return Reply::negative(text("Line too long"));
        case CommandErrorKind::argument_too_long: return Reply::negative(text("Argument too long"));
        case CommandErrorKind::invalid_character: return Reply::negative(text("Invalid character in command"));
        case CommandErrorKind::unsupported_mechanism:
            return Reply::negative(text("Unrecognized authentication mechanism"));
    }
    return Reply::negative("Syntax error");
}

std::variant<Command, CommandError> parse_command(std::string_view line, const CommandLimits& limits) {
    if (line.size() + 2 > limits.max_line_length)
        return fail(CommandErrorKind::line_too_long, std::nullopt, "Line too long");
    for (char c : line)
        if (c == '\0' || c == '\r' || c == '\n')
            return fail(CommandErrorKind::invalid_character, std::nullopt, "Invalid character in command");

    const auto verb_end = line.find(' ');
    const auto keyword = line.substr(0, verb_end);
    std::optional<Verb> found;
    for (const auto& [name, v] : kVerbs)
        if (iequals(keyword, name)) found = v;
    if (!found) {
        // Tolerate trailing spaces after an argument-less keyword ("QUIT ").
        std::string_view k = line;
        while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.remove_suffix(1);
        for (const auto& [name, v] : kVerbs)
            if (iequals(k, name)) found = v;
        if (!found) return fail(CommandErrorKind::unknown_command, std::nullopt, "Unknown command");
    }
    const Verb verb = *found;
    Command cmd;
    cmd.verb = verb;
    const std::string_view rest = verb_end == std::string_view::npos ? std::string_view() : line.substr(verb_end + 1);

    if (verb == Verb::pass) {
        // RFC 1939 7: the password is the rest of the line; spaces (even trailing) are kept.
        if (rest.empty()) return fail(CommandErrorKind::syntax_error, verb, "Syntax: PASS password");
        cmd.argument = std::string(rest);
        return cmd;
    }

    std::string_view trimmed = rest;
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) trimmed.remove_suffix(1);
    const auto args = split_args(trimmed);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const bool exempt = verb == Verb::auth && i == 1;  // the initial response
        if (!exempt && args[i].size() > limits.max_argument_length)
            return fail(CommandErrorKind::argument_too_long, verb, "Argument too long");
    }
    auto usage = [&](const char* text) { return fail(CommandErrorKind::syntax_error, verb, text); };
    auto number = [&](std::string_view s, bool allow_zero, std::uint32_t& out) -> std::optional<CommandError> {
        auto n = parse_number(s, allow_zero);
        if (auto* k = std::get_if<CommandErrorKind>(&n))
            return fail(*k, verb, *k == CommandErrorKind::out_of_range ? "Number out of range" : "Invalid number");
        out = std::get<std::uint32_t>(n);
        return std::nullopt;
    };

    switch (verb) {
        case Verb::stat:
        case Verb::noop:
        case Verb::rset:
        case Verb::quit:
        case Verb::capa:
        case Verb::stls:
            if (!args.empty()) return usage("Command takes no arguments");
            return cmd;
        case Verb::user:
            if (args.size() != 1) return usage("Syntax: USER name");
            cmd.argument = std::string(args[0]);
            return cmd;
        case Verb::apop:
            if (args.size() != 2) return usage("Syntax: APOP name digest");
            cmd.argument = std::string(args[0]);
            cmd.digest = std::string(args[1]);
            return cmd;
        case Verb::list:
        case Verb::uidl:
            if (args.size() > 1) return usage(verb == Verb::list ? "Syntax: LIST [msg]" : "Syntax: UIDL [msg]");
            if (args.size() == 1) {
                std::uint32_t n = 0;
                if (auto e = number(args[0], false, n)) return *e;
                cmd.message = n;
            }
            return cmd;
        case Verb::retr:
        case Verb::dele:
            if (args.size() != 1) return usage(verb == Verb::retr ? "Syntax: RETR msg" : "Syntax: DELE msg");
            {
                std::uint32_t n = 0;
                if (auto e = number(args[0], false, n)) return *e;
                cmd.message = n;
            }
            return cmd;
        case Verb::top:
            if (args.size() != 2) return usage("Syntax: TOP msg lines");
            {
                std::uint32_t n = 0, m = 0;
                if (auto e = number(args[0], false, n)) return *e;
                if (auto e = number(args[1], true, m)) return *e;
                cmd.message = n;
                cmd.lines = m;
            }
            return cmd;
        case Verb::auth:
            if (args.size() > 2) return usage("Syntax: AUTH [mechanism [initial-response]]");
            if (!args.empty()) {
                if (!valid_mechanism_name(args[0])) return usage("Syntax: AUTH [mechanism [initial-response]]");
                cmd.mechanism = sasl::parse_mechanism(args[0]);
                if (!cmd.mechanism)
                    return fail(CommandErrorKind::unsupported_mechanism, verb, "Unrecognized authentication mechanism");
                if (args.size() == 2) cmd.initial_response = std::string(args[1]);
            }
            return cmd;
        case Verb::pass: break;  // handled above
    }
    return fail(CommandErrorKind::unknown_command, std::nullopt, "Unknown command");
}

}  // namespace hikyaku::pop3
