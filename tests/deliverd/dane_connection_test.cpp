// dane_connection_test.cpp: deliverd's DANE check (RFC 7672) over real TLS on loopback: a
// scripted SMTP receiver (tests/client/scripted_server.h) with certificates made here, and
// the outbound connection (deliverd/outbound_connection.h) given the TLSA records computed
// here from those certificates, turned into a plan by decide_dane (deliverd/dane.h) from a
// validated answer, as the agent does (no DNS: nothing is DNSSEC-signed offline).
//
// Shows: DANE-EE 3 1 1 and 3 0 1 that match: delivered, the matching record reported, SNI
// sent; DANE-EE ignores names and an expired certificate (RFC 7672 3.1.1); a digest that
// matches nothing: the handshake fails, no MAIL is ever sent, the failure says why; only
// unusable records (PKIX-EE 1 1 1): TLS still mandatory, delivered unauthenticated (RFC 7672
// 2.2); DANE-TA 2 0 1 for the CA that issued the certificate: delivered when the certificate
// names the MX host, refused when it does not (RFC 7672 3.2.2).
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "deliverd/dane.h"
#include "deliverd/outbound_connection.h"
#include "tests/client/scripted_server.h"

using namespace hikyaku;
using namespace hikyaku::deliverd;
using test::Peer;
using test::ScriptedServer;

namespace {

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

struct Identity {
    Key key;
    Cert cert;
};

// A certificate for `common_name` (with `dns_name` as its subjectAltName unless empty),
// signed by `issuer` (self-signed when null); a CA when `ca`; valid from 2 hours ago for an
// hour from now, or expired an hour ago.
Identity make_identity(const std::string& common_name, const std::string& dns_name, const Identity* issuer, bool ca,
                       bool expired = false) {
    Identity id;
    id.key.reset(EVP_EC_gen("P-256"));
    REQUIRE(id.key);
    id.cert.reset(X509_new());
    X509* cert = id.cert.get();
    X509_set_version(cert, 2);
    static std::atomic<long> serial{1};
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -7200);
    X509_gmtime_adj(X509_getm_notAfter(cert), expired ? -3600 : 3600);
    X509_set_pubkey(cert, id.key.get());
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509* issuer_cert = issuer ? issuer->cert.get() : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer_cert, cert, nullptr, nullptr, 0);
    std::vector<std::pair<int, std::string>> extensions;
    if (ca) {
        extensions = {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign"}};
    } else {
        extensions = {{NID_basic_constraints, "CA:FALSE"}};
        if (!dns_name.empty()) extensions.push_back({NID_subject_alt_name, "DNS:" + dns_name});
    }
    extensions.push_back({NID_subject_key_identifier, "hash"});
    for (const auto& [nid, value] : extensions) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        REQUIRE(ext != nullptr);
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    REQUIRE(X509_sign(cert, issuer ? issuer->key.get() : id.key.get(), EVP_sha256()) > 0);
    return id;
}

std::string der_cert(X509* cert) {
    unsigned char* out = nullptr;
    const int n = i2d_X509(cert, &out);
    REQUIRE(n > 0);
    std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return der;
}

std::string der_spki(X509* cert) {
    unsigned char* out = nullptr;
    const int n = i2d_PUBKEY(X509_get0_pubkey(cert), &out);
    REQUIRE(n > 0);
    std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return der;
}

std::string digest(const std::string& bytes, const EVP_MD* md) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(EVP_Digest(bytes.data(), bytes.size(), out, &length, md, nullptr) == 1);
    return std::string(reinterpret_cast<char*>(out), length);
}

std::string tlsa_rdata(int usage, int selector, int matching, const std::string& data) {
    std::string out;
    out += static_cast<char>(usage);
    out += static_cast<char>(selector);
    out += static_cast<char>(matching);
    return out + data;
}

// The server's context: `leaf` and, when given, the CA that issued it in the chain (RFC 7672
// 3.2.1: the server sends its DANE-TA trust anchor).
struct ServerContext {
    SSL_CTX* ctx = nullptr;
    ServerContext(const Identity& leaf, const Identity* ca) {
        ctx = SSL_CTX_new(TLS_server_method());
        REQUIRE(SSL_CTX_use_certificate(ctx, leaf.cert.get()) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey(ctx, leaf.key.get()) == 1);
        if (ca) REQUIRE(SSL_CTX_add1_chain_cert(ctx, ca->cert.get()) == 1);
    }
    ~ServerContext() { SSL_CTX_free(ctx); }
};

// What the receiver saw.
struct Seen {
    std::mutex mutex;
    std::string sni;
    bool tls = false;
    bool mail = false;  // a MAIL command came (only ever after TLS)
    bool plaintext_mail = false;
    std::string message;
};

// One SMTP session: STARTTLS offered, then a transaction accepted after TLS.
ScriptedServer::Script receiver(SSL_CTX* ctx, Seen& seen) {
    return [ctx, &seen](Peer& p) {
        p.send("220 mx.dane.test ESMTP\r\n");
        if (p.line().rfind("EHLO", 0) != 0) return;
        p.send("250-mx.dane.test\r\n250 STARTTLS\r\n");
        const std::string command = p.line();
        if (command != "STARTTLS") {
            std::lock_guard lock(seen.mutex);
            seen.plaintext_mail = command.rfind("MAIL", 0) == 0;
            return;
        }
        p.send("220 2.0.0 go ahead\r\n");
        if (!p.start_tls(ctx)) return;
        {
            std::lock_guard lock(seen.mutex);
            seen.tls = true;
            seen.sni = p.sni();
        }
        if (p.line().rfind("EHLO", 0) != 0) return;
        p.send("250 mx.dane.test\r\n");
        for (int i = 0; i < 20; ++i) {
            const std::string line = p.line();
            if (line.empty()) return;
            if (line.rfind("MAIL", 0) == 0) {
                std::lock_guard lock(seen.mutex);
                seen.mail = true;
            }
            if (line == "DATA") {
                p.send("354 go on\r\n");
                std::string message;
                for (std::string l = p.line(); l != "." && message.size() < 10000; l = p.line()) message += l + "\n";
                {
                    std::lock_guard lock(seen.mutex);
                    seen.message = message;
                }
                p.send("250 2.0.0 queued\r\n");
            } else if (line == "QUIT") {
                p.send("221 2.0.0 bye\r\n");
                return;
            } else {
                p.send("250 2.1.0 ok\r\n");
            }
        }
    };
}

struct Outcome {
    bool opened = false;
    std::string failure;
    std::string tls;
    int code = 0;
};

asio::awaitable<void> deliver(asio::any_io_executor executor, ConnectionPlan plan, Outcome& out) {
    ConnectionTimeouts timeouts;
    timeouts.connect = timeouts.command = timeouts.data = std::chrono::seconds(5);
    OutboundConnection connection(executor, timeouts);
    out.opened = co_await connection.open(plan);
    if (!out.opened) {
        out.failure = connection.failure();
        co_return;
    }
    out.tls = connection.tls_summary();
    client::SmtpEnvelope envelope;
    envelope.sender = "a@sender.test";
    envelope.recipients = {"b@dane.test"};
    const std::string message = "Subject: dane\r\n\r\nhello\r\n";
    envelope.size = message.size();
    auto result = co_await connection.send(envelope, message);
    if (!result.recipients.empty()) out.code = result.recipients[0].code;
    co_await connection.quit();
}

// The plan the agent makes for a validated TLSA answer (delivery_agent.cpp plan_mx).
std::optional<ConnectionPlan> plan_for(std::uint16_t port, const std::string& host, std::vector<std::string> rdata) {
    DnsAnswer answer;
    answer.status = DnsAnswer::Status::data;
    answer.secure = true;
    answer.rdata = std::move(rdata);
    DaneDecision decision = decide_dane(answer, true, host);
    if (decision.kind == DaneDecision::Kind::defer) return std::nullopt;
    ConnectionPlan plan;
    plan.host = host;
    plan.address = "127.0.0.1";
    plan.port = port;
    plan.session.helo = "sender.test";
    plan.session.starttls = client::StartTlsPolicy::required;
    net::ClientTlsOptions options;
    options.insecure = decision.kind == DaneDecision::Kind::encrypt;
    options.dane = decision.kind == DaneDecision::Kind::authenticate;
    REQUIRE(net::load_client_tls_context(options, plan.tls).ok());
    for (auto& r : decision.records)
        plan.peer_check.tlsa.push_back({r.usage, r.selector, r.matching_type, std::move(r.data)});
    return plan;
}

Outcome run(const ConnectionPlan& plan) {
    asio::io_context io;
    Outcome out;
    asio::co_spawn(io, deliver(io.get_executor(), plan, out), asio::detached);
    io.run_for(std::chrono::seconds(30));
    return out;
}

struct Delivery {
    Outcome outcome;
    bool tls = false, mail = false, plaintext_mail = false;
    std::string sni, message;
};

Delivery attempt(const Identity& leaf, const Identity* ca, const std::string& host, std::vector<std::string> rdata) {
    ServerContext context(leaf, ca);
    Seen seen;
    Delivery d;
    {
        ScriptedServer server(receiver(context.ctx, seen));
        auto plan = plan_for(server.port(), host, std::move(rdata));
        REQUIRE(plan.has_value());
        d.outcome = run(*plan);
    }  // the server's threads are joined here
    d.tls = seen.tls;
    d.mail = seen.mail;
    d.plaintext_mail = seen.plaintext_mail;
    d.sni = seen.sni;
    d.message = seen.message;
    return d;
}

}  // namespace

TEST_CASE("DANE-EE: SPKI and full-certificate records that match deliver; the record is reported") {
    const Identity leaf = make_identity("mx.dane.test", "mx.dane.test", nullptr, false);
    const std::string spki_sha256 = digest(der_spki(leaf.cert.get()), EVP_sha256());

    Delivery d = attempt(leaf, nullptr, "mx.dane.test", {tlsa_rdata(3, 1, 1, spki_sha256)});
    CHECK(d.outcome.opened);
    CHECK(d.outcome.code == 250);
    CHECK(d.mail);
    CHECK(d.message.find("hello") != std::string::npos);
    CHECK(d.sni == "mx.dane.test");  // RFC 7672 8.1: SNI with the TLSA base domain
    CHECK(d.outcome.tls.find("DANE TLSA 3 1 1 matched at depth 0") != std::string::npos);

    d = attempt(leaf, nullptr, "mx.dane.test", {tlsa_rdata(3, 0, 1, digest(der_cert(leaf.cert.get()), EVP_sha256()))});
    CHECK(d.outcome.code == 250);
    CHECK(d.outcome.tls.find("DANE TLSA 3 0 1 matched at depth 0") != std::string::npos);

    // Full data (matching type 0) and SHA2-512, among records that do not match.
    d = attempt(leaf, nullptr, "mx.dane.test",
                {tlsa_rdata(3, 1, 1, std::string(32, '\x01')), tlsa_rdata(3, 1, 0, der_spki(leaf.cert.get())),
                 tlsa_rdata(3, 0, 2, digest(der_cert(leaf.cert.get()), EVP_sha512()))});
    CHECK(d.outcome.code == 250);
    CHECK(d.outcome.tls.find("matched at depth 0") != std::string::npos);
}

TEST_CASE("DANE-EE ignores the certificate's names and dates (RFC 7672 3.1.1)") {
    const Identity expired = make_identity("elsewhere.test", "elsewhere.test", nullptr, false, true);
    Delivery d = attempt(expired, nullptr, "mx.dane.test",
                         {tlsa_rdata(3, 1, 1, digest(der_spki(expired.cert.get()), EVP_sha256()))});
    CHECK(d.outcome.code == 250);
    CHECK(d.mail);
}

TEST_CASE("a certificate that matches no TLSA record: no TLS session, nothing sent, a reason") {
    const Identity leaf = make_identity("mx.dane.test", "mx.dane.test", nullptr, false);
    const Identity other = make_identity("mx.dane.test", "mx.dane.test", nullptr, false);
    Delivery d = attempt(leaf, nullptr, "mx.dane.test",
                         {tlsa_rdata(3, 1, 1, digest(der_spki(other.cert.get()), EVP_sha256())),
                          tlsa_rdata(3, 0, 1, digest(der_cert(other.cert.get()), EVP_sha256()))});
    CHECK_FALSE(d.outcome.opened);
    CHECK_FALSE(d.tls);
    CHECK_FALSE(d.mail);
    CHECK_FALSE(d.plaintext_mail);
    CHECK(d.outcome.code == 0);
    CHECK(d.outcome.failure.find("TLS handshake failed") != std::string::npos);
    CHECK(d.outcome.failure.find("DANE") != std::string::npos);
}

TEST_CASE("only unusable TLSA records (PKIX-EE): TLS still required, not authenticated (RFC 7672 2.2)") {
    const Identity leaf = make_identity("mx.dane.test", "mx.dane.test", nullptr, false);
    const std::string spki_sha256 = digest(der_spki(leaf.cert.get()), EVP_sha256());
    Delivery d = attempt(leaf, nullptr, "mx.dane.test",
                         {tlsa_rdata(1, 1, 1, spki_sha256), tlsa_rdata(0, 0, 1, std::string(32, '\x02'))});
    CHECK(d.outcome.code == 250);
    CHECK(d.tls);
    CHECK_FALSE(d.plaintext_mail);
    CHECK(d.outcome.tls.find("NOT verified") != std::string::npos);
    CHECK(d.outcome.tls.find("DANE") == std::string::npos);
}

TEST_CASE("DANE-TA: the issuing CA's record, with the MX host's name in the certificate or not") {
    const Identity ca = make_identity("DANE Test CA", "", nullptr, true);
    const Identity leaf = make_identity("mx.dane.test", "mx.dane.test", &ca, false);
    const std::string ca_sha256 = digest(der_cert(ca.cert.get()), EVP_sha256());

    Delivery d = attempt(leaf, &ca, "mx.dane.test", {tlsa_rdata(2, 0, 1, ca_sha256)});
    CHECK(d.outcome.code == 250);
    CHECK(d.outcome.tls.find("DANE TLSA 2 0 1 matched at depth 1") != std::string::npos);

    // The same chain for an MX host the certificate does not name: refused (RFC 7672 3.2.2).
    d = attempt(leaf, &ca, "mx2.dane.test", {tlsa_rdata(2, 0, 1, ca_sha256)});
    CHECK_FALSE(d.outcome.opened);
    CHECK_FALSE(d.mail);
    CHECK(d.outcome.failure.find("DANE") != std::string::npos);

    // A DANE-TA record for a CA that did not issue the certificate.
    const Identity other_ca = make_identity("Other CA", "", nullptr, true);
    d = attempt(leaf, &ca, "mx.dane.test", {tlsa_rdata(2, 1, 1, digest(der_spki(other_ca.cert.get()), EVP_sha256()))});
    CHECK_FALSE(d.outcome.opened);
    CHECK_FALSE(d.mail);
}
