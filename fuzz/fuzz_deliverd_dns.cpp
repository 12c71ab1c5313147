// fuzz_deliverd_dns: deliverd's parsers of DNS record data (deliverd/dns_records.h,
// deliverd/dane.h): MX, A/AAAA, names and TLSA, as a DNS server (any server on the path, for
// an unsigned zone) can send them; and the MX and DANE decisions over a set of such records.
//
// Must never: crash, read out of bounds, return a name with octets a host name cannot have or
// longer than 253 characters, return a TLSA digest of the wrong length or full data past its
// bound, or let a DANE decision authenticate with an unusable record.
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include "deliverd/dane.h"
#include "deliverd/dns_records.h"
#include "deliverd/routing.h"

using namespace hikyaku::deliverd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (auto mx = parse_mx_rdata(input)) {
        if (mx->exchange.size() > 253) std::abort();
        for (char c : mx->exchange)
            if (!(c == '.' || c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) std::abort();
    }
    (void)parse_address_rdata(input);
    std::size_t offset = 0;
    if (parse_dns_name(input, offset) && offset > input.size()) std::abort();
    // The input split at 0xFF octets as the records of one MX answer.
    DnsAnswer answer;
    answer.status = DnsAnswer::Status::data;
    std::size_t start = 0;
    while (start <= input.size() && answer.rdata.size() < 64) {
        std::size_t end = input.find('\xff', start);
        if (end == std::string_view::npos) end = input.size();
        answer.rdata.emplace_back(input.substr(start, end - start));
        start = end + 1;
    }
    std::mt19937 random(1);
    MxDecision d = decide_mx(answer, "fuzz.example", random);
    if (d.kind == MxDecision::Kind::hosts && d.hosts.empty()) std::abort();

    const TlsaLimits limits;
    if (auto tlsa = parse_tlsa_rdata(input)) {
        const std::size_t n = tlsa->data.size();
        if (n == 0 || n > limits.max_full_octets) std::abort();
        if (tlsa->matching_type == kMatchSha256 && n != limits.sha256_octets) std::abort();
        if (tlsa->matching_type == kMatchSha512 && n != limits.sha512_octets) std::abort();
    }
    // The same records as one validated TLSA answer.
    answer.secure = true;
    DaneDecision dane = decide_dane(answer, true, "mx.fuzz.example");
    if (dane.kind == DaneDecision::Kind::authenticate && dane.records.empty()) std::abort();
    if (dane.kind != DaneDecision::Kind::authenticate && !dane.records.empty()) std::abort();
    for (const auto& r : dane.records)
        if (!usable_for_smtp(r)) std::abort();
    if (dane.records.size() + dane.unusable > answer.rdata.size()) std::abort();
    return 0;
}
