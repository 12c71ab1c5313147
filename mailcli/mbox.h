// mbox.h: reading an mbox file for `imap import --mbox` (RFC 4155: messages each after a
// "From " separator line; in the mboxrd form a body line ">From " (with any number of '>')
// was escaped by one '>', undone here), and line ends made CRLF as IMAP APPEND wants them
// (RFC 9051 6.3.12: a message is in RFC 5322 form).
// Pure. Must never: split a message at a "From " line that is not after an empty line (or
// at the start of the file), or change a message's bytes other than the escape and line ends.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::mailcli {

struct MboxMessage {
    std::string bytes;  // CRLF line ends, the separator line removed
    bool seen = false;  // a "Status:" header with R (as mutt and Thunderbird write it)
};

std::vector<MboxMessage> split_mbox(std::string_view mbox);

// Bare LFs made CRLF; CRLFs kept.
std::string to_crlf(std::string_view text);

}  // namespace hikyaku::mailcli
