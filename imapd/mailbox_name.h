// mailbox_name.h: mailbox names between the wire and the store, and LIST pattern matching.
//
// The store keeps names in UTF-8 with "/" as the hierarchy delimiter (storage/types.h). On
// the wire an IMAP4rev1 client uses modified UTF-7 (RFC 3501 5.1.3); a client that enabled
// IMAP4rev2 or UTF8=ACCEPT uses UTF-8 and "&" is an ordinary character (RFC 9051 5.1,
// RFC 6855 3). LIST and LSUB patterns use "*" (anything) and "%" (anything but the
// delimiter), RFC 9051 6.3.9; INBOX is case-insensitive (RFC 9051 5.1), in patterns too.
//
// Must never: accept a non-canonical modified UTF-7 form (printable ASCII in base64, two
// adjacent base64 runs, non-zero pad bits, a missing "-"), an unpaired or misordered
// surrogate, invalid or overlong UTF-8, or a control character (U+0000-U+001F, U+007F) in a
// decoded name; backtrack in a pattern match (it is a bit-parallel automaton: time linear in
// the name for a given pattern, whatever the wildcards).
// What the store refuses anyway ("..", "%" or "*" in a created name, empty segments, length)
// is left to storage::validate_mailbox_name; INBOX in any case is made "INBOX" by
// storage::normalize_mailbox_name.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/types.h"

namespace hikyaku::imap {

inline constexpr char kHierarchyDelimiter = storage::kMailboxDelimiter;
// Octets of a LIST pattern after the reference is prefixed.
inline constexpr std::size_t kMaxListPatternLength = 1024;

enum class NameEncoding : std::uint8_t {
    modified_utf7,  // IMAP4rev1 (RFC 3501 5.1.3)
    utf8,           // IMAP4rev2 (RFC 9051 5.1) or UTF8=ACCEPT (RFC 6855)
};

// RFC 3501 5.1.3, strict (see above). Errc::invalid_argument with a reason.
Result<std::string> decode_modified_utf7(std::string_view wire);
// UTF-8 to modified UTF-7; invalid UTF-8 sequences are encoded as U+FFFD.
std::string encode_modified_utf7(std::string_view utf8);

// A name (or LIST reference/pattern) as the client sent it, in the store's UTF-8.
Result<std::string> mailbox_from_wire(std::string_view wire, NameEncoding encoding);
// A store name as the client must see it.
std::string mailbox_to_wire(std::string_view name, NameEncoding encoding);

// A LIST/LSUB pattern (RFC 9051 6.3.9), in UTF-8, the reference already prefixed.
class ListPattern {
public:
    // The reference names a context the pattern is relative to; a pattern that starts with
    // the delimiter is absolute. Errc::limit_exceeded past kMaxListPatternLength.
    static Result<ListPattern> compile(std::string_view reference, std::string_view pattern);

    bool matches(std::string_view name) const;
    const std::string& text() const { return text_; }

private:
    using Bits = std::vector<std::uint64_t>;
    void shift_in(const Bits& from, Bits& to) const;  // to |= from << 1

    std::string text_;               // wildcard runs collapsed
    std::size_t states_ = 0;         // text_.size() + 1
    std::array<Bits, 256> literal_;  // bit i: text_[i] is this octet
    Bits star_, percent_;            // bit i: text_[i] is "*" / "%"
};

}  // namespace hikyaku::imap
