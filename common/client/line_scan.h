// line_scan.h: the line framing of the client-side reply parsers (smtp_reply, pop3_response):
// finds the first line of bytes a server sent, and hands whole lines to a parser one by one.
// A line ends at LF; a CR before it is dropped, so CRLF and the bare LF some servers send both
// end a line.
// Must never: look past its input, take a partial line, or call a line good when its text is
// over the maximum.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace hikyaku::client {

enum class LineScan {
    line,        // `line` holds the text, `length` the octets up to and including the LF
    incomplete,  // no LF yet, and what there is could still become a line within the bound
    too_long,    // more than `max_length` octets of text before the LF (or before any LF)
};

inline LineScan scan_line(std::string_view input, std::size_t max_length, std::string_view& line, std::size_t& length) {
    const void* lf = input.empty() ? nullptr : std::memchr(input.data(), '\n', input.size());
    if (!lf) {
        // One CR may still belong to the line end that has not fully arrived.
        return input.size() > max_length + 1 ? LineScan::too_long : LineScan::incomplete;
    }
    length = static_cast<std::size_t>(static_cast<const char*>(lf) - input.data()) + 1;
    std::size_t end = length - 1;
    if (end > 0 && input[end - 1] == '\r') --end;
    if (end > max_length) return LineScan::too_long;
    line = input.substr(0, end);
    return LineScan::line;
}

// Hands each whole line at the front of `input` to `take` (which returns false once the
// parser is done), the maximum length asked of `max_length()` before each line, and returns
// the octets of the lines handed over. `too_long` is set when a line (or what has arrived of
// it) is over its maximum; that line is not taken.
template <class MaxLength, class Take>
std::size_t take_lines(std::string_view input, MaxLength max_length, Take take, bool& too_long) {
    std::size_t taken = 0;
    for (;;) {
        std::string_view line;
        std::size_t length = 0;
        const LineScan scan = scan_line(input.substr(taken), max_length(), line, length);
        if (scan == LineScan::incomplete) return taken;
        if (scan == LineScan::too_long) {
            too_long = true;
            return taken;
        }
        taken += length;
        if (!take(line)) return taken;
    }
}

}  // namespace hikyaku::client
