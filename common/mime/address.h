// address.h: RFC 5322 address lists (From, To, Cc, ...) as IMAP ENVELOPE address structures.
//
// Implements RFC 5322 3.4 (mailbox, name-addr, angle-addr, group, display names as phrases
// of atoms and quoted strings), 3.2.2 (CFWS: comments and folding anywhere between tokens),
// 4.4 (obsolete syntax: routes "@a,@b:", obs-phrase with '.', obs-local-part, empty list
// members) and RFC 3501 7.4.2 (the address structure: group start as (NIL NIL name NIL),
// group end as (NIL NIL NIL NIL)). Lenient as Dovecot's message-address.c: a missing local
// part or domain is filled with MISSING_MAILBOX / MISSING_DOMAIN; an addr-spec without
// display name takes its last comment as the name ("a@b (Real Name)"); display names stay
// raw (encoded words are not decoded: RFC 3501 ENVELOPE carries the header's text).
// Must never: loop without consuming input, keep more than max_addresses entries, decode
// or re-encode text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hikyaku::mime {

// One RFC 3501 address structure. For a group start, mailbox holds the group's display name
// and host is empty; for a group end all four are empty.
struct Address {
    std::optional<std::string> name;
    std::optional<std::string> route;    // obsolete source route, "@a,@b"
    std::optional<std::string> mailbox;  // local part, quoted strings unquoted
    std::optional<std::string> host;     // domain, domain literals with their brackets

    bool is_group_start() const { return mailbox && !host; }
    bool is_group_end() const { return !name && !route && !mailbox && !host; }
    bool operator==(const Address&) const = default;
};

struct AddressList {
    std::vector<Address> addresses;
    bool truncated = false;  // more than max_addresses were present
};

// Parses a header value (folded or not). An empty or unparsable value gives an empty list.
AddressList parse_address_list(std::string_view value, std::size_t max_addresses = 2000);

}  // namespace hikyaku::mime
