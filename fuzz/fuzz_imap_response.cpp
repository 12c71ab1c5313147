// fuzz_imap_response.cpp: the client side's IMAP response parser (common/client/
// imap_response, used by mailcli imap) on arbitrary bytes: responses one after another with
// their literals, and every reading of a complete response (capabilities, LIST, STATUS,
// SEARCH, ESEARCH, FETCH, VANISHED, APPENDUID, UID sets). The first input byte picks small
// limits (so the bounds are reached) and a split point; the rest is the server's bytes.
// Must never: crash, read out of bounds, take more octets than it was given, take anything
// once done, or give a different outcome when the same bytes arrive in two pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/client/imap_response.h"

using namespace hikyaku::client;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// Feeds `input` as a connection would: the first `cut` octets, then all; returns octets taken.
std::size_t feed(ImapResponseParser& parser, std::string_view input, std::size_t cut) {
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

void read_all(ImapResponse response) {
    (void)parse_capabilities(response);
    (void)code_number(response);
    (void)parse_list(response);
    (void)parse_status(response);
    (void)parse_search(response);
    if (auto e = parse_esearch(response)) (void)expand_uid_set(e->all, 1000);
    (void)parse_vanished(response);
    (void)parse_appenduid(response);
    (void)parse_fetch(response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned control = data[0];
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    ImapLimits limits;
    if (control & 1) limits = {24, 16, 96, 3, 12, 3};
    // Up to 8 responses in a row, each parsed whole and split at a point of its own.
    for (int i = 0; i < 8 && !input.empty(); ++i) {
        const std::size_t cut = (control * 7919u + static_cast<unsigned>(i) * 131u) % (input.size() + 1);
        ImapResponseParser whole(limits), split(limits);
        const std::size_t a = feed(whole, input, input.size());
        const std::size_t b = feed(split, input, cut);
        check(a == b && whole.status() == split.status() && whole.bad_line() == split.bad_line() &&
              whole.literal_octets() == split.literal_octets());
        check(whole.literal_octets() <= limits.max_response);
        (void)whole.error_message();
        if (whole.status() != ImapParseStatus::complete) break;
        check(whole.response() == split.response());
        read_all(whole.take_response());
        input.remove_prefix(a);
    }
    (void)expand_uid_set(input, 64);
    (void)parse_uid_ranges(input, 8);
    return 0;
}
