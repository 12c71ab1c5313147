// dns_records.h: the record data (RDATA) of the DNS answers deliverd routes by, turned into
// values: MX (RFC 1035 3.3.9: a 16-bit preference and a domain name), A (4 octets) and AAAA
// (RFC 3596: 16 octets). The octets come from a DNS server through libunbound, so they are
// untrusted input: a pure parser, bounded by DnsLimits, fuzzed (fuzz/fuzz_deliverd_dns.cpp).
//
// Names are in uncompressed wire form (libunbound hands RDATA out decompressed); a
// compression pointer or an extended label type is refused. A name is returned in lower
// case without its final dot; the root name "." is returned as "" (a null MX, RFC 7505).
// Must never: read past its input, accept a label over 63 octets or a name over 255, or
// return a name with octets a host name cannot have (RFC 1123 2.1: letters, digits,
// hyphen; and '_' that some zones use).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hikyaku::deliverd {

struct DnsLimits {
    std::size_t max_name_octets = 255;  // RFC 1035 2.3.4: a name in wire form
    std::size_t max_label_octets = 63;  // RFC 1035 2.3.4
};

struct MxRecord {
    std::uint16_t preference = 0;
    std::string exchange;  // lower case, no final dot; "" for the root (null MX)
    bool operator==(const MxRecord&) const = default;
};

// One name in wire form that fills `rdata` from `offset` to a zero label; `offset` moves
// past it. nullopt when malformed.
std::optional<std::string> parse_dns_name(std::string_view rdata, std::size_t& offset, DnsLimits limits = {});
// An MX record's RDATA, whole (nothing may follow the name).
std::optional<MxRecord> parse_mx_rdata(std::string_view rdata, DnsLimits limits = {});
// An A (4 octets) or AAAA (16 octets) record's RDATA as an address text ("192.0.2.1",
// "2001:db8::1"); nullopt for any other length.
std::optional<std::string> parse_address_rdata(std::string_view rdata);

}  // namespace hikyaku::deliverd
