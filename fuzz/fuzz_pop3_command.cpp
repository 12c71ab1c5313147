// fuzz_pop3_command.cpp: fuzzes the POP3 command parser and the multi-line writer. Must never
// crash, and checks:
//   - every error formats to exactly one "-ERR" line of at most 512 octets;
//   - a parsed message number is within 1..kMaxNumber, arguments within their bounds;
//   - byte-stuffing the input as a body yields exactly one terminator, at the end, and
//     unstuffing it gives the body back; stuffing in chunks gives the same bytes;
//   - a TOP excerpt is a prefix of the message.
// Input: lines separated by LF, each parsed on its own; the whole input is also used as a body.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pop3d/pop3_command.h"
#include "pop3d/pop3_reply.h"

using namespace hikyaku::pop3;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void parse_one(std::string_view line) {
    auto result = parse_command(line);
    if (auto* error = std::get_if<CommandError>(&result)) {
        const auto wire = format_reply(to_reply(*error));
        require(wire.compare(0, 5, "-ERR ") == 0 || wire == "-ERR\r\n");
        require(wire.size() <= kMaxResponseLineLength);
        require(wire.find('\n') == wire.size() - 1 && wire[wire.size() - 2] == '\r');
        return;
    }
    const auto& c = std::get<Command>(result);
    require(line.size() + 2 <= kMaxCommandLineLength);
    if (c.message) require(*c.message >= 1);
    if (c.verb != Verb::pass) require(c.argument.size() <= kMaxArgumentLength);
    if (c.verb == Verb::retr || c.verb == Verb::dele || c.verb == Verb::top) require(c.message.has_value());
}

void check_body(std::string_view body, std::size_t chunk) {
    std::string whole;
    DotStuffer s;
    s.append(whole, body);
    s.finish(whole);
    std::string pieces;
    DotStuffer t;
    for (std::size_t i = 0; i < body.size(); i += chunk) t.append(pieces, body.substr(i, chunk));
    t.finish(pieces);
    require(pieces == whole);
    // Exactly one terminator line, at the end.
    require(whole.size() >= 3 && whole.compare(whole.size() - 3, 3, ".\r\n") == 0);
    const auto first = whole.size() == 3 ? 0 : whole.find("\r\n.\r\n");
    require(whole.size() == 3 || first == whole.size() - 5);
    require(whole.size() == 3 || whole.compare(0, 3, ".\r\n") != 0);
    // Unstuffing restores the body (plus the CRLF supplied when it lacked one).
    std::string restored;
    bool line_start = true;
    const std::string_view stuffed = std::string_view(whole).substr(0, whole.size() - 3);
    for (std::size_t i = 0; i < stuffed.size(); ++i) {
        const char c = stuffed[i];
        if (line_start && c == '.') {
            require(i + 1 < stuffed.size() && stuffed[i + 1] == '.');
            ++i;
        }
        restored += stuffed[i];
        line_start = stuffed[i] == '\n';
    }
    std::string expected(body);
    if (!expected.empty() && !(expected.size() >= 2 && expected.compare(expected.size() - 2, 2, "\r\n") == 0))
        expected += "\r\n";
    require(restored == expected);
    for (std::uint64_t n : {0u, 1u, 5u}) {
        const auto top = top_excerpt(body, n);
        require(body.substr(0, top.size()) == top);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view rest = input;
    while (true) {
        const auto eol = rest.find('\n');
        parse_one(rest.substr(0, eol));
        if (eol == std::string_view::npos) break;
        rest.remove_prefix(eol + 1);
    }
    check_body(input, 1 + (size % 13));
    return 0;
}
