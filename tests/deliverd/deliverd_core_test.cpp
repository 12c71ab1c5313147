// deliverd_core_test.cpp: the pure parts of deliverd: DNS record data (every vector whole,
// every truncation refused, the label and name bounds at and past), MX decisions (order,
// implicit MX, null MX, NXDOMAIN, failures), the retry schedule and destination backoff,
// message facts (Received count, Return-Path, 8-bit) and the RFC 3464 notices; TLSA record
// data (each length bound at and past, every truncation) and the DANE decisions of RFC 7672.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "deliverd/dane.h"
#include "deliverd/dns_records.h"
#include "deliverd/dsn.h"
#include "deliverd/retry.h"
#include "deliverd/routing.h"

using namespace hikyaku::deliverd;
using namespace std::string_literals;

namespace {

std::string wire_name(const std::vector<std::string>& labels) {
    std::string out;
    for (const auto& l : labels) {
        out += static_cast<char>(l.size());
        out += l;
    }
    out += '\0';
    return out;
}

std::string mx_rdata(std::uint16_t preference, const std::vector<std::string>& labels) {
    std::string out;
    out += static_cast<char>(preference >> 8);
    out += static_cast<char>(preference & 0xff);
    return out + wire_name(labels);
}

DnsAnswer answer(DnsAnswer::Status status, std::vector<std::string> rdata = {}) {
    DnsAnswer a;
    a.status = status;
    a.rdata = std::move(rdata);
    a.why = "timeout";
    return a;
}

std::string tlsa_rdata(int usage, int selector, int matching, const std::string& data) {
    std::string out;
    out += static_cast<char>(usage);
    out += static_cast<char>(selector);
    out += static_cast<char>(matching);
    return out + data;
}

DnsAnswer secure_tlsa(std::vector<std::string> rdata) {
    DnsAnswer a;
    a.status = DnsAnswer::Status::data;
    a.secure = true;
    a.rdata = std::move(rdata);
    return a;
}

hikyaku::storage::TimePoint at(long s) { return hikyaku::storage::TimePoint(std::chrono::seconds(s)); }

}  // namespace

TEST_CASE("MX record data: whole, every truncation refused, trailing bytes refused") {
    const std::string rdata = mx_rdata(10, {"MX1", "Example", "org"});
    auto mx = parse_mx_rdata(rdata);
    REQUIRE(mx.has_value());
    CHECK(mx->preference == 10);
    CHECK(mx->exchange == "mx1.example.org");
    for (std::size_t cut = 0; cut < rdata.size(); ++cut) {
        INFO("cut at ", cut);
        CHECK_FALSE(parse_mx_rdata(rdata.substr(0, cut)).has_value());
    }
    CHECK_FALSE(parse_mx_rdata(rdata + "x").has_value());
    // The null MX (RFC 7505): preference 0 and the root name.
    auto null_mx = parse_mx_rdata("\0\0\0"s);
    REQUIRE(null_mx.has_value());
    CHECK(null_mx->exchange.empty());
    // A compression pointer, an extended label type, a character no host name has.
    CHECK_FALSE(parse_mx_rdata("\0\x0a\xc0\x0c"s).has_value());
    CHECK_FALSE(parse_mx_rdata("\0\x0a\x41"s + std::string(65, 'a')).has_value());
    CHECK_FALSE(parse_mx_rdata(mx_rdata(1, {"bad host", "org"})).has_value());
    CHECK_FALSE(parse_mx_rdata(mx_rdata(1, {"a\nb", "org"})).has_value());
}

TEST_CASE("DNS names: a label of 63 octets and a name of 255, and one past each") {
    const std::string label63(63, 'a');
    std::size_t offset = 0;
    const std::string ok = wire_name({label63, "org"});
    CHECK(parse_dns_name(ok, offset).value() == label63 + ".org");
    CHECK(offset == ok.size());
    offset = 0;
    CHECK_FALSE(parse_dns_name(wire_name({std::string(64, 'a'), "org"}), offset).has_value());
    // 255 octets in wire form: 3 labels of 63 (64 each with the length) + one of 61 + the root.
    const std::vector<std::string> at_bound{label63, label63, label63, std::string(61, 'b')};
    offset = 0;
    CHECK(parse_dns_name(wire_name(at_bound), offset).has_value());
    CHECK(wire_name(at_bound).size() == 255);
    const std::vector<std::string> past{label63, label63, label63, std::string(62, 'b')};
    offset = 0;
    CHECK_FALSE(parse_dns_name(wire_name(past), offset).has_value());
}

TEST_CASE("A and AAAA record data") {
    CHECK(parse_address_rdata("\x7f\0\0\x03"s).value() == "127.0.0.3");
    CHECK(parse_address_rdata(std::string(15, '\0') + "\x01").value() == "::1");
    CHECK_FALSE(parse_address_rdata("\x7f\0\0"s).has_value());
    CHECK_FALSE(parse_address_rdata(std::string(5, '\0')).has_value());
    CHECK_FALSE(parse_address_rdata("").has_value());
}

TEST_CASE("MX decisions: preference order, implicit MX, null MX, NXDOMAIN, failures") {
    std::mt19937 random(7);
    auto d =
        decide_mx(answer(DnsAnswer::Status::data, {mx_rdata(20, {"b", "example"}), mx_rdata(10, {"a", "example"}),
                                                   mx_rdata(30, {"c", "example"}), mx_rdata(10, {"a", "example"})}),
                  "example", random);
    CHECK(d.kind == MxDecision::Kind::hosts);
    CHECK(d.hosts == std::vector<std::string>{"a.example", "b.example", "c.example"});
    // Equal preferences: each order shows up (random), the lower preference always first.
    bool x_first = false, y_first = false;
    for (int i = 0; i < 64; ++i) {
        auto tie = decide_mx(answer(DnsAnswer::Status::data,
                                    {mx_rdata(5, {"x", "t"}), mx_rdata(5, {"y", "t"}), mx_rdata(9, {"z", "t"})}),
                             "t", random);
        REQUIRE(tie.hosts.size() == 3);
        CHECK(tie.hosts[2] == "z.t");
        x_first |= tie.hosts[0] == "x.t";
        y_first |= tie.hosts[0] == "y.t";
    }
    CHECK((x_first && y_first));
    CHECK(decide_mx(answer(DnsAnswer::Status::no_data), "example", random).kind == MxDecision::Kind::implicit);
    auto nx = decide_mx(answer(DnsAnswer::Status::no_domain), "nowhere.example", random);
    CHECK(nx.kind == MxDecision::Kind::no_domain);
    CHECK(nx.why.starts_with("550 5.1.2"));
    auto null_mx = decide_mx(answer(DnsAnswer::Status::data, {"\0\0\0"s}), "nomail.example", random);
    CHECK(null_mx.kind == MxDecision::Kind::null_mx);
    CHECK(null_mx.why.starts_with("556 5.1.10"));
    auto failed = decide_mx(answer(DnsAnswer::Status::failed), "example", random);
    CHECK(failed.kind == MxDecision::Kind::temporary);
    CHECK(failed.why.find("timeout") != std::string::npos);
    CHECK(decide_mx(answer(DnsAnswer::Status::data, {"junk"}), "example", random).kind == MxDecision::Kind::temporary);
}

TEST_CASE("host addresses: IPv4 first; temporary only when a lookup failed") {
    auto both = host_addresses(answer(DnsAnswer::Status::data, {"\x7f\0\0\x02"s}),
                               answer(DnsAnswer::Status::data, {std::string(15, '\0') + "\x01"}), "mx");
    CHECK(both.addresses == std::vector<std::string>{"127.0.0.2", "::1"});
    auto none = host_addresses(answer(DnsAnswer::Status::no_data), answer(DnsAnswer::Status::no_domain), "mx");
    CHECK(none.addresses.empty());
    CHECK_FALSE(none.temporary);
    auto failed = host_addresses(answer(DnsAnswer::Status::failed), answer(DnsAnswer::Status::no_data), "mx");
    CHECK(failed.temporary);
    CHECK(domain_of("Alice@Example.ORG") == "example.org");
    CHECK(domain_of("nobody") == "");
}

TEST_CASE("retry schedule: doubling from retry_min, capped at retry_max; expiry; one warning") {
    RetryPolicy p;  // 5 min .. 4 h, 5 days, warning after 4 h
    CHECK(retry_delay(p, 1) == Seconds(300));
    CHECK(retry_delay(p, 2) == Seconds(600));
    CHECK(retry_delay(p, 6) == Seconds(9600));
    CHECK(retry_delay(p, 7) == Seconds(14400));
    CHECK(retry_delay(p, 1000) == Seconds(14400));
    CHECK_FALSE(expired(p, at(0), at(432000 - 1)));
    CHECK(expired(p, at(0), at(432000)));
    CHECK_FALSE(delay_warning_due(p, at(0), at(14399), false));
    CHECK(delay_warning_due(p, at(0), at(14400), false));
    CHECK_FALSE(delay_warning_due(p, at(0), at(14400), true));
    RetryPolicy never = p;
    never.delay_warning = Seconds(0);
    CHECK_FALSE(delay_warning_due(never, at(0), at(100000), false));

    DestinationBackoff d;
    CHECK_FALSE(d.resting(at(0)));
    d.failed(p, at(100));
    CHECK(d.resting(at(399)));
    CHECK_FALSE(d.resting(at(400)));
    d.failed(p, at(400));
    CHECK(d.until() == at(1000));
    d.succeeded();
    CHECK_FALSE(d.resting(at(401)));
}

TEST_CASE("message facts: header block, Received count, Return-Path removed, 8-bit") {
    const std::string m =
        "Return-Path: <a@b>\r\nReceived: from x\r\n\tby y\r\nreceived: again\r\nSubject: s\r\n\r\n"
        "Received: in the body\r\n";
    CHECK(count_received(m) == 2);
    CHECK(header_block(m).ends_with("Subject: s\r\n\r\n"));
    CHECK(without_return_path(m).starts_with("Received: from x\r\n"));
    CHECK(without_return_path("Return-Path: <a@b>\r\n\t<folded>\r\nX: y\r\n\r\n") == "X: y\r\n\r\n");
    CHECK(without_return_path("Subject: x\r\nReturn-Path: <a@b>\r\n\r\n").starts_with("Subject"));
    CHECK(has_eight_bit("caf\xc3\xa9"));
    CHECK_FALSE(has_eight_bit("cafe"));
    std::string loop;
    for (int i = 0; i < 101; ++i) loop += "Received: hop\r\n";
    CHECK(count_received(loop + "\r\nbody") == 101);
}

TEST_CASE("enhanced status codes from replies") {
    CHECK(status_of_reply(550, "550 5.1.1 <x>: no such user") == "5.1.1");
    CHECK(status_of_reply(452, "452 4.2.2 mailbox full") == "4.2.2");
    CHECK(status_of_reply(550, "550 no such user") == "5.0.0");
    CHECK(status_of_reply(451, "451 try later") == "4.0.0");
    CHECK(status_of_reply(550, "550 4.1.1 mismatched class") == "5.0.0");
    CHECK(status_of_reply(550, "550 5.1234.1 too many digits") == "5.0.0");
}

TEST_CASE("a delivery status notification (RFC 3464) with the original headers") {
    DsnReport r;
    r.reporting_mta = "mx.here.example";
    r.to = "alice@here.example";
    r.arrival = at(1700000000);
    r.now = at(1700000100);
    r.queue_id = "42";
    r.original_headers = "From: alice@here.example\r\nSubject: hello\r\n\r\n";
    r.boundary_seed = "7.42.1700000100.f";
    DsnRecipient failed;
    failed.address = "bob@there.example";
    failed.status = "5.1.1";
    failed.diagnostic = "550 5.1.1 <bob@there.example>: no\r\nsuch user";
    failed.remote_mta = "mx.there.example[127.0.0.3]:25";
    r.recipients = {failed};
    const std::string dsn = build_dsn(r);
    CHECK(dsn.find("Content-Type: multipart/report; report-type=delivery-status;") != std::string::npos);
    CHECK(dsn.find("Subject: Undelivered Mail Returned to Sender\r\n") != std::string::npos);
    CHECK(dsn.find("Auto-Submitted: auto-replied\r\n") != std::string::npos);
    CHECK(dsn.find("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.here.example\r\n") !=
          std::string::npos);
    CHECK(dsn.find("\r\n\r\nFinal-Recipient: rfc822; bob@there.example\r\nAction: failed\r\nStatus: 5.1.1\r\n") !=
          std::string::npos);
    // A CR LF inside a reply never breaks a field.
    CHECK(dsn.find("Diagnostic-Code: smtp; 550 5.1.1 <bob@there.example>: no  such user\r\n") != std::string::npos);
    CHECK(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@here.example\r\nSubject: hello\r\n\r\n--") !=
          std::string::npos);
    CHECK(dsn.ends_with("--=_hikyaku_dsn_7.42.1700000100.f--\r\n"));
    // Every line ends with CRLF, none is longer than RFC 5322's 998.
    std::size_t pos = 0;
    while (pos < dsn.size()) {
        const auto end = dsn.find("\r\n", pos);
        REQUIRE(end != std::string::npos);
        CHECK(end - pos <= 998);
        CHECK(dsn.substr(pos, end - pos).find('\n') == std::string::npos);
        pos = end + 2;
    }
    r.recipients[0].failed = false;
    r.recipients[0].status = "4.4.1";
    const std::string delay = build_dsn(r);
    CHECK(delay.find("Subject: Delayed Mail (still being retried)\r\n") != std::string::npos);
    CHECK(delay.find("Action: delayed\r\n") != std::string::npos);
}

TEST_CASE("TLSA record data: digest lengths exact, full data bounded, every truncation refused") {
    const std::string sha256(32, '\x11'), sha512(64, '\x22');
    const std::string rdata = tlsa_rdata(3, 1, 1, sha256);
    auto r = parse_tlsa_rdata(rdata);
    REQUIRE(r.has_value());
    CHECK(r->usage == 3);
    CHECK(r->selector == 1);
    CHECK(r->matching_type == 1);
    CHECK(r->data == sha256);
    CHECK(describe(*r) == "3 1 1");
    for (std::size_t cut = 0; cut < rdata.size(); ++cut) {
        INFO("cut at ", cut);
        CHECK_FALSE(parse_tlsa_rdata(rdata.substr(0, cut)).has_value());
    }
    // SHA2-256: exactly 32 octets; SHA2-512: exactly 64.
    CHECK_FALSE(parse_tlsa_rdata(rdata + "x").has_value());
    CHECK(parse_tlsa_rdata(tlsa_rdata(2, 0, 2, sha512)).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(2, 0, 2, sha512.substr(1))).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(2, 0, 2, sha512 + "x")).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(2, 0, 2, sha256)).has_value());
    // Full data (and unknown matching types): at least one octet, at most max_full_octets.
    const TlsaLimits limits;
    CHECK(parse_tlsa_rdata(tlsa_rdata(3, 0, 0, std::string(limits.max_full_octets, 'c'))).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(3, 0, 0, std::string(limits.max_full_octets + 1, 'c'))).has_value());
    CHECK(parse_tlsa_rdata(tlsa_rdata(3, 1, 7, std::string(limits.max_full_octets, 'c'))).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(3, 1, 7, std::string(limits.max_full_octets + 1, 'c'))).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(3, 0, 0, "")).has_value());
    TlsaLimits small;
    small.max_full_octets = 4;
    CHECK(parse_tlsa_rdata(tlsa_rdata(3, 0, 0, "abcd"), small).has_value());
    CHECK_FALSE(parse_tlsa_rdata(tlsa_rdata(3, 0, 0, "abcde"), small).has_value());
}

TEST_CASE("TLSA usability for SMTP (RFC 7672 3.1): DANE-TA and DANE-EE only, known parameters") {
    const std::string sha256(32, '\x11');
    for (int usage = 0; usage < 5; ++usage)
        for (int selector = 0; selector < 3; ++selector)
            for (int matching = 0; matching < 4; ++matching) {
                TlsaRecord r{static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                             static_cast<std::uint8_t>(matching), sha256};
                const bool expected = (usage == 2 || usage == 3) && selector <= 1 && matching <= 2;
                INFO(usage, " ", selector, " ", matching);
                CHECK(usable_for_smtp(r) == expected);
            }
}

TEST_CASE("DANE decisions (RFC 7672 2.2): authenticate, encrypt only, defer") {
    const std::string sha256(32, '\x11');
    const std::string ee = tlsa_rdata(3, 1, 1, sha256), ta = tlsa_rdata(2, 0, 1, sha256);
    const std::string pkix = tlsa_rdata(1, 1, 1, sha256), bad_length = tlsa_rdata(3, 1, 1, "short");

    auto d = decide_dane(secure_tlsa({pkix, ee, bad_length, ta}), true, "mx.example");
    CHECK(d.kind == DaneDecision::Kind::authenticate);
    REQUIRE(d.records.size() == 2);
    CHECK(describe(d.records[0]) == "3 1 1");
    CHECK(describe(d.records[1]) == "2 0 1");
    CHECK(d.unusable == 2);

    // Only unusable records: TLS still mandatory, not authenticated.
    d = decide_dane(secure_tlsa({pkix, bad_length, tlsa_rdata(0, 0, 1, sha256), tlsa_rdata(3, 2, 1, sha256)}), true,
                    "mx.example");
    CHECK(d.kind == DaneDecision::Kind::encrypt);
    CHECK(d.records.empty());
    CHECK(d.unusable == 4);
    CHECK(d.why.find("unusable") != std::string::npos);

    // No trust anchor, not validated, a validated denial, a failed lookup: defer.
    CHECK(decide_dane(secure_tlsa({ee}), false, "mx.example").kind == DaneDecision::Kind::defer);
    DnsAnswer insecure = secure_tlsa({ee});
    insecure.secure = false;
    d = decide_dane(insecure, true, "mx.example");
    CHECK(d.kind == DaneDecision::Kind::defer);
    CHECK(d.why.find("not DNSSEC-validated") != std::string::npos);
    DnsAnswer denial;
    denial.status = DnsAnswer::Status::no_data;
    denial.secure = true;
    CHECK(decide_dane(denial, true, "mx.example").kind == DaneDecision::Kind::defer);
    denial.status = DnsAnswer::Status::no_domain;
    CHECK(decide_dane(denial, true, "mx.example").kind == DaneDecision::Kind::defer);
    DnsAnswer failed = answer(DnsAnswer::Status::failed);
    failed.secure = true;
    d = decide_dane(failed, true, "mx.example");
    CHECK(d.kind == DaneDecision::Kind::defer);
    CHECK(d.why.find("timeout") != std::string::npos);

    // The record count bound: at max_records used; one past it, the whole answer refused
    // (never "all unusable" because a usable record went unread).
    const TlsaLimits limits;
    std::vector<std::string> many(limits.max_records - 1, pkix);
    many.push_back(ee);
    CHECK(decide_dane(secure_tlsa(many), true, "mx.example").kind == DaneDecision::Kind::authenticate);
    many.push_back(ee);
    d = decide_dane(secure_tlsa(many), true, "mx.example");
    CHECK(d.kind == DaneDecision::Kind::defer);
    CHECK(d.why.find("more than") != std::string::npos);
}
