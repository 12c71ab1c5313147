// routing.h: where a remote recipient's mail goes (RFC 5321 5.1, RFC 7505), decided from
// DNS answers without doing any lookup, so every case is a unit test.
//
// With [relay] host set, every remote domain goes to that one smarthost. Otherwise the
// domain's MX records, by preference (equal preferences in random order, RFC 5321 5.1), are
// tried in turn; a domain with no MX record (NOERROR, no data) is its own mail exchanger
// (the "implicit MX": its A/AAAA records); a domain that does not exist (NXDOMAIN), or
// publishes the null MX ("0 .", RFC 7505 3), gets no mail: its recipients bounce at once
// (5.1.2, 5.1.10). A lookup that fails or times out defers.
// Must never: try a lower-preference MX before a higher one; deliver to a domain with a
// null MX; bounce on a temporary DNS failure.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "deliverd/dns_records.h"

namespace hikyaku::deliverd {

// One DNS answer as the resolver gives it.
struct DnsAnswer {
    enum class Status { data, no_data, no_domain, failed } status = Status::failed;
    std::vector<std::string> rdata;  // the records' RDATA octets
    bool secure = false;             // DNSSEC-validated (only with a trust anchor)
    std::string why;                 // failed: what went wrong, for the queue's last reply
};

struct MxDecision {
    enum class Kind {
        hosts,      // try `hosts` in order
        implicit,   // no MX: the domain itself (its A/AAAA records)
        null_mx,    // RFC 7505: bounce 5.1.10
        no_domain,  // NXDOMAIN: bounce 5.1.2
        temporary,  // defer with `why`
    } kind = Kind::temporary;
    std::vector<std::string> hosts;  // by preference
    std::string why;
};

// `random` breaks ties between equal preferences.
MxDecision decide_mx(const DnsAnswer& mx, std::string_view domain, std::mt19937& random);

// The addresses of one host from its A and AAAA answers (IPv4 first: loopback tests and most
// receivers have it). `temporary` when neither answered and one failed.
struct HostAddresses {
    std::vector<std::string> addresses;
    bool temporary = false;
    std::string why;
};
HostAddresses host_addresses(const DnsAnswer& a, const DnsAnswer& aaaa, std::string_view host);

// The domain part of an address, lower case ("" when there is no '@').
std::string domain_of(std::string_view address);

}  // namespace hikyaku::deliverd
