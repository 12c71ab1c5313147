// deliverd_core_test.cpp: the pure parts of deliverd: DNS record data (every vector whole,
// every truncation refused, the label and name bounds at and past), MX decisions (order,
// implicit MX, null MX, NXDOMAIN, failures), the retry schedule and destination backoff,
// message facts (Received count, Return-Path, 8-bit) and the RFC 3464 notices.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

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
