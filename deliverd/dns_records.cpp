// dns_records.cpp: MX, A and AAAA record data (see dns_records.h).
#include "deliverd/dns_records.h"

#include <arpa/inet.h>

namespace hikyaku::deliverd {

namespace {

bool host_octet(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::optional<std::string> parse_dns_name(std::string_view rdata, std::size_t& offset, DnsLimits limits) {
    std::string name;
    std::size_t octets = 0;  // of the name in wire form, with the length octets
    std::size_t at = offset;
    for (;;) {
        if (at >= rdata.size()) return std::nullopt;
        const auto length = static_cast<unsigned char>(rdata[at]);
        ++at;
        ++octets;
        if (length == 0) break;
        // 0xC0: a compression pointer; 0x40 and 0x80: extended label types (RFC 6891).
        if ((length & 0xC0) != 0 || length > limits.max_label_octets) return std::nullopt;
        if (rdata.size() - at < length) return std::nullopt;
        octets += length;
        if (octets > limits.max_name_octets) return std::nullopt;
        if (!name.empty()) name += '.';
        for (std::size_t i = 0; i < length; ++i) {
            const auto c = static_cast<unsigned char>(rdata[at + i]);
            if (!host_octet(c)) return std::nullopt;
            name += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        at += length;
    }
    if (octets > limits.max_name_octets) return std::nullopt;
    offset = at;
    return name;
}

std::optional<MxRecord> parse_mx_rdata(std::string_view rdata, DnsLimits limits) {
    if (rdata.size() < 3) return std::nullopt;
    MxRecord mx;
    mx.preference =
        static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) | static_cast<unsigned char>(rdata[1]));
    std::size_t offset = 2;
    auto name = parse_dns_name(rdata, offset, limits);
    if (!name || offset != rdata.size()) return std::nullopt;
    mx.exchange = std::move(*name);
    return mx;
}

std::optional<std::string> parse_address_rdata(std::string_view rdata) {
    char text[INET6_ADDRSTRLEN] = {};
    if (rdata.size() == 4) {
        if (!::inet_ntop(AF_INET, rdata.data(), text, sizeof text)) return std::nullopt;
        return std::string(text);
    }
    if (rdata.size() == 16) {
        if (!::inet_ntop(AF_INET6, rdata.data(), text, sizeof text)) return std::nullopt;
        return std::string(text);
    }
    return std::nullopt;
}

}  // namespace hikyaku::deliverd
