// dane.cpp: TLSA record data and the DANE decision (see dane.h).
#include "deliverd/dane.h"

namespace hikyaku::deliverd {

std::optional<TlsaRecord> parse_tlsa_rdata(std::string_view rdata, TlsaLimits limits) {
    // Three octets of parameters and at least one of data (RFC 6698 2.1: no empty data).
    if (rdata.size() < 4) return std::nullopt;
    TlsaRecord record;
    record.usage = static_cast<std::uint8_t>(rdata[0]);
    record.selector = static_cast<std::uint8_t>(rdata[1]);
    record.matching_type = static_cast<std::uint8_t>(rdata[2]);
    const std::string_view data = rdata.substr(3);
    switch (record.matching_type) {
        case kMatchSha256:
            if (data.size() != limits.sha256_octets) return std::nullopt;
            break;
        case kMatchSha512:
            if (data.size() != limits.sha512_octets) return std::nullopt;
            break;
        default:
            if (data.size() > limits.max_full_octets) return std::nullopt;
            break;
    }
    record.data.assign(data);
    return record;
}

bool usable_for_smtp(const TlsaRecord& record) {
    const bool usage = record.usage == kDaneTa || record.usage == kDaneEe;
    const bool selector = record.selector == kSelectorCert || record.selector == kSelectorSpki;
    const bool matching = record.matching_type == kMatchFull || record.matching_type == kMatchSha256 ||
                          record.matching_type == kMatchSha512;
    return usage && selector && matching;
}

std::string describe(const TlsaRecord& record) {
    return std::to_string(record.usage) + " " + std::to_string(record.selector) + " " +
           std::to_string(record.matching_type);
}

DaneDecision decide_dane(const DnsAnswer& tlsa, bool validating, std::string_view host, TlsaLimits limits) {
    DaneDecision d;
    const std::string name(host);
    const std::string fails_closed = " (not sent: tls = \"dane\" fails closed)";
    if (!validating) {
        d.why = "dane: no DNSSEC trust anchor, so no TLSA record of " + name + " can be validated" + fails_closed;
        return d;
    }
    // RFC 7672 2.2: a failed lookup is not a denial; the host must not be used.
    if (tlsa.status == DnsAnswer::Status::failed) {
        d.why = "dane: the TLSA lookup for " + name + " failed: " + tlsa.why + fails_closed;
        return d;
    }
    if (!tlsa.secure) {
        d.why = "dane: the TLSA answer for " + name + " is not DNSSEC-validated" + fails_closed;
        return d;
    }
    if (tlsa.status != DnsAnswer::Status::data || tlsa.rdata.empty()) {
        d.why = "dane: " + name + " has no TLSA records (DNSSEC-validated denial)" + fails_closed;
        return d;
    }
    // Records past the bound are never read, so they could hold the only usable one: the
    // answer as a whole is refused rather than taken as "all unusable" (dane.h).
    if (tlsa.rdata.size() > limits.max_records) {
        d.why = "dane: " + name + " has " + std::to_string(tlsa.rdata.size()) + " TLSA records, more than " +
                std::to_string(limits.max_records) + fails_closed;
        return d;
    }
    for (const auto& rdata : tlsa.rdata) {
        auto record = parse_tlsa_rdata(rdata, limits);
        if (record && usable_for_smtp(*record)) d.records.push_back(std::move(*record));
        else ++d.unusable;
    }
    if (!d.records.empty()) {
        d.kind = DaneDecision::Kind::authenticate;
        return d;
    }
    // RFC 7672 2.2: a secure, non-empty RRset with only unusable records: TLS is still
    // mandatory (the records promise it), authentication is not required.
    d.kind = DaneDecision::Kind::encrypt;
    d.why = "dane: all " + std::to_string(d.unusable) + " TLSA record(s) of " + name +
            " are unusable for SMTP (RFC 7672 3.1): TLS required, not authenticated";
    return d;
}

}  // namespace hikyaku::deliverd
