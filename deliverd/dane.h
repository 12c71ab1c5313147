// dane.h: DANE for SMTP (RFC 7672) without I/O: the TLSA records of an MX host
// (`_25._tcp.<host>`, RFC 6698 2.1) turned into values, and the decision of what the
// connection to that host must do, from the DNS answer alone, so every case is a unit test.
//
// TLSA RDATA (RFC 6698 2.1): certificate usage (1 octet), selector (1), matching type (1),
// certificate association data (the rest). The octets come from a DNS server, so they are
// untrusted input: a pure parser, bounded by TlsaLimits, fuzzed (fuzz/fuzz_deliverd_dns.cpp).
// The data of SHA2-256 is exactly 32 octets and of SHA2-512 exactly 64 (RFC 6698 2.1.3); a
// full certificate or key (matching type 0), or a matching type we do not know, at most
// max_full_octets. A record whose data does not fit its matching type is malformed, and a
// malformed record is unusable (RFC 7671 4).
//
// Usability (RFC 7672 3.1): only DANE-TA(2) and DANE-EE(3) serve SMTP; PKIX-TA(0) and
// PKIX-EE(1) are unusable for it (3.1.3), as is any usage, selector (Cert 0, SPKI 1) or
// matching type (Full 0, SHA2-256 1, SHA2-512 2) not defined.
//
// The decision (RFC 7672 2.2, with the local policy of [delivery] tls = "dane"):
//   - a validated ("secure") TLSA RRset with a usable record: STARTTLS is mandatory and the
//     certificate must match one of the usable records (authenticate);
//   - a validated RRset whose records are all unusable: RFC 7672 2.2 says the server still
//     promised TLS, so TLS is mandatory, but it is not authenticated (encrypt);
//   - anything else (no trust anchor, an answer that is not validated, a validated denial
//     that the host has TLSA records, a lookup failure, more records than max_records):
//     defer. RFC 7672 2.2 would fall back to opportunistic TLS (possibly plaintext) for an
//     insecure answer or a validated denial; "dane" is this suite's mandatory-DANE level
//     (tls = "may" is the opportunistic one), so it never sends where it could not either
//     authenticate the server or encrypt because the server's own records ask for it.
// Must never: read past its input, accept a digest of the wrong length, call a PKIX usage
// usable, or decide "encrypt" when a usable record may have been left unread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deliverd/routing.h"

namespace hikyaku::deliverd {

struct TlsaLimits {
    std::size_t max_records = 32;        // in one RRset; more: the answer is not used
    std::size_t max_full_octets = 8192;  // matching type 0 (a whole certificate or key) or unknown
    std::size_t sha256_octets = 32;      // matching type 1 (RFC 6698 2.1.3)
    std::size_t sha512_octets = 64;      // matching type 2
};

enum TlsaUsage : std::uint8_t { kPkixTa = 0, kPkixEe = 1, kDaneTa = 2, kDaneEe = 3 };
enum TlsaSelector : std::uint8_t { kSelectorCert = 0, kSelectorSpki = 1 };
enum TlsaMatching : std::uint8_t { kMatchFull = 0, kMatchSha256 = 1, kMatchSha512 = 2 };

struct TlsaRecord {
    std::uint8_t usage = 0;
    std::uint8_t selector = 0;
    std::uint8_t matching_type = 0;
    std::string data;  // the certificate association data, binary
    bool operator==(const TlsaRecord&) const = default;
};

// One TLSA record's RDATA, whole; nullopt when malformed (shorter than 4 octets, a digest of
// the wrong length, data over max_full_octets).
std::optional<TlsaRecord> parse_tlsa_rdata(std::string_view rdata, TlsaLimits limits = {});

// RFC 7672 3.1: DANE-TA(2) or DANE-EE(3), with a defined selector and matching type.
bool usable_for_smtp(const TlsaRecord& record);

// "3 1 1" (usage selector matching type), for logs.
std::string describe(const TlsaRecord& record);

struct DaneDecision {
    enum class Kind {
        authenticate,  // STARTTLS required; the certificate must match one of `records`
        encrypt,       // STARTTLS required; not authenticated (all records unusable)
        defer,         // do not connect to this host: `why`
    } kind = Kind::defer;
    std::vector<TlsaRecord> records;  // authenticate: the usable records, in answer order
    std::size_t unusable = 0;         // records left out (malformed or unusable)
    std::string why;
};

// `validating`: the resolver has a trust anchor (without one nothing is "secure").
DaneDecision decide_dane(const DnsAnswer& tlsa, bool validating, std::string_view host, TlsaLimits limits = {});

}  // namespace hikyaku::deliverd
