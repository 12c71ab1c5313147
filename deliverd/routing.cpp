// routing.cpp: MX decisions (see routing.h).
#include "deliverd/routing.h"

#include <algorithm>
#include <map>

namespace hikyaku::deliverd {

MxDecision decide_mx(const DnsAnswer& mx, std::string_view domain, std::mt19937& random) {
    MxDecision d;
    switch (mx.status) {
        case DnsAnswer::Status::failed:
            d.kind = MxDecision::Kind::temporary;
            d.why = "MX lookup of " + std::string(domain) + " failed: " + mx.why;
            return d;
        case DnsAnswer::Status::no_domain:
            d.kind = MxDecision::Kind::no_domain;
            d.why = "550 5.1.2 domain " + std::string(domain) + " does not exist (DNS: NXDOMAIN)";
            return d;
        case DnsAnswer::Status::no_data: d.kind = MxDecision::Kind::implicit; return d;
        case DnsAnswer::Status::data: break;
    }
    std::map<std::uint16_t, std::vector<std::string>> by_preference;
    bool null_mx = false;
    std::size_t valid = 0;
    for (const auto& rdata : mx.rdata) {
        auto record = parse_mx_rdata(rdata);
        if (!record) continue;  // a malformed record is skipped, as if it were not there
        ++valid;
        if (record->exchange.empty()) {
            null_mx = true;
            continue;
        }
        by_preference[record->preference].push_back(std::move(record->exchange));
    }
    // RFC 7505 3: a domain that publishes "0 ." accepts no mail, whatever else it lists.
    if (null_mx) {
        d.kind = MxDecision::Kind::null_mx;
        d.why = "556 5.1.10 domain " + std::string(domain) + " accepts no mail (null MX, RFC 7505)";
        return d;
    }
    if (valid == 0) {
        d.kind = MxDecision::Kind::temporary;
        d.why = "MX lookup of " + std::string(domain) + " gave no usable record";
        return d;
    }
    d.kind = MxDecision::Kind::hosts;
    for (auto& [preference, hosts] : by_preference) {
        std::shuffle(hosts.begin(), hosts.end(), random);
        for (auto& h : hosts)
            if (std::find(d.hosts.begin(), d.hosts.end(), h) == d.hosts.end()) d.hosts.push_back(std::move(h));
    }
    return d;
}

HostAddresses host_addresses(const DnsAnswer& a, const DnsAnswer& aaaa, std::string_view host) {
    HostAddresses out;
    for (const DnsAnswer* answer : {&a, &aaaa}) {
        if (answer->status != DnsAnswer::Status::data) continue;
        for (const auto& rdata : answer->rdata)
            if (auto address = parse_address_rdata(rdata)) out.addresses.push_back(std::move(*address));
    }
    if (out.addresses.empty()) {
        out.temporary = a.status == DnsAnswer::Status::failed || aaaa.status == DnsAnswer::Status::failed;
        out.why = "no address for " + std::string(host) +
                  (out.temporary ? " (DNS: " + (a.why.empty() ? aaaa.why : a.why) + ")" : " in DNS");
    }
    return out;
}

std::string domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return {};
    std::string d(address.substr(at + 1));
    for (char& c : d)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    return d;
}

}  // namespace hikyaku::deliverd
