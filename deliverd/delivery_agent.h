// delivery_agent.h: deliverd, the outbound delivery agent: it sends what smtpd queued for
// other domains (storage/queue.h), on its own process with its own privileges, sharing only
// the store, the way Postfix's qmgr and smtp and OpenSMTPD's scheduler and mta do.
//
// The design, in the order mail goes through it:
//  1. Wake-up. The agent subscribes to the store's change feed; every write that queues
//     something (a submission, a bounce, `mailctl queue retry`) announces "queued", and the
//     agent looks for due entries at once. Otherwise it sleeps until the earliest next try
//     (no polling per entry; a 60 s safety tick).
//  2. Scheduling. Due entries (earliest first, at most kMaxInFlight at a time, never one
//     already in flight) are grouped by destination (the recipient's domain; everything is
//     one destination "[relay]" with a smarthost) and, within it, by message: one
//     transaction carries every recipient of a message in that domain (up to
//     kMaxRecipientsPerTransaction). Each destination gets up to
//     [delivery] concurrency_per_destination connections, kMaxConnections in all.
//  3. Routing (routing.h, resolver.h): the smarthost, or the domain's MX hosts by preference
//     (implicit MX, null MX, NXDOMAIN), each host's A/AAAA addresses tried in turn; DNS
//     through libunbound, asynchronous, with a deadline and a cache.
//  4. Sending (outbound_connection.h over common/client/smtp_client_session.h): EHLO with
//     [smtpd] hostname, STARTTLS as [delivery] tls says ("may": when offered, not verified,
//     and in plaintext again if the handshake fails, as Postfix does; "encrypt": required
//     and verified against the system CA store and the MX host name; "dane": TLSA records
//     validated by DNSSEC decide, see below),
//     PIPELINING, SIZE, 8BITMIME/SMTPUTF8 (refused with a bounce when the receiver lacks
//     them: no downgrade), CHUNKING. A connection carries one message after another while
//     its destination has work (connection reuse). The message goes out as stored, less
//     the Return-Path field smtpd put at its top.
//  5. Outcomes (retry.h, dsn.h): 2xx: done. 5xx: done, and a bounce (RFC 3464) to the
//     sender. 4xx, no connection, a timeout: deferred with exponential backoff, bounced
//     after max_age, a delay warning once after delay_warning. A destination whose hosts
//     all refused connections rests (backoff of its own) and its other recipients wait
//     without a try. Never a notice to the null sender. A message with more than 100
//     Received fields is bounced as a loop (5.4.6). Each outcome and its notice are one
//     store write (QueueRole::settle_async), so a bounce is never lost; a bounce for a
//     local sender goes to their INBOX, for a remote one into the queue with "<>".
//  6. Crash safety. Nothing is held only in memory: a recipient leaves the queue only in
//     the write that records its outcome, after the receiver's reply. SIGKILL at any moment
//     loses nothing; a recipient is sent at most twice, the second time only when the
//     connection died after the end of the message and before the reply (RFC 1047). One
//     agent per store (a lock file beside it).
//
// DANE ([delivery] tls = "dane", RFC 7672): needs DNSSEC (a trust anchor at
// /usr/share/dns/root.key, package dns-root-data, and a validating path to the zone). For
// each MX host the agent looks up the TLSA records of _25._tcp.<host> and decides
// (deliverd/dane.h, RFC 7672 2.2):
//   - validated records, at least one usable (DANE-TA(2) or DANE-EE(3), RFC 7672 3.1):
//     STARTTLS is mandatory and OpenSSL's DANE check (SSL_dane_enable with the MX host as
//     base domain, SSL_dane_tlsa_add per usable record) must match the server's chain: a
//     DANE-EE(3) match ignores names and dates (3.1.1), a DANE-TA(2) match needs the MX
//     host name in the certificate (3.2.2). A certificate that matches no record ends the
//     connection before MAIL: the host is skipped, and when no host is left the recipients
//     are deferred with the reason (never sent in clear, never sent unverified). The
//     delivery line names the record that matched ("DANE TLSA 3 1 1 matched at depth 0");
//   - validated records, all unusable (PKIX usages, unknown parameters, malformed): the
//     server promised TLS, so STARTTLS is mandatory but not authenticated (RFC 7672 2.2);
//   - no validated records (no trust anchor, an insecure answer, a validated denial, a
//     failed lookup): the host is not used; with no host left the recipients are deferred,
//     then bounced at max_age. RFC 7672 2.2 would send such hosts opportunistic TLS; "dane"
//     is the suite's mandatory-DANE level (Postfix's "dane-only"), "may" the opportunistic one.
// The DNSSEC status of the MX and address answers is not checked yet (RFC 7672 2.2.1, 2.2.2):
// the TLSA answer alone decides.
//
// Must never: take a recipient out of the queue before its outcome is durable; send to a
// destination over its concurrency; block the event loop on the store or on DNS; send a
// notice about a notice.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/config.h"
#include "common/server/async_store.h"
#include "deliverd/outbound_connection.h"
#include "deliverd/resolver.h"
#include "deliverd/retry.h"

namespace hikyaku::deliverd {

inline constexpr std::size_t kMaxInFlight = 10000;                // queued recipients being worked on
inline constexpr std::size_t kFetchBatch = 2000;                  // due entries read at once
inline constexpr std::size_t kMaxRecipientsPerTransaction = 100;  // RFC 5321 4.5.3.1.8
inline constexpr unsigned kMaxConnections = 200;                  // outbound connections in all
inline constexpr std::chrono::seconds kSafetyTick{60};            // the longest sleep

struct RelaySettings {
    std::string host;  // empty: MX routing
    std::uint16_t port = 25;
    RelayTls tls = RelayTls::starttls;
    std::string user;
    std::string password;  // read from [relay] password_file
};

struct AgentSettings {
    std::string hostname;  // EHLO, Reporting-MTA, MAILER-DAEMON@
    RetryPolicy retry;
    unsigned concurrency_per_destination = 20;
    ConnectionTimeouts timeouts;
    DeliveryTls tls = DeliveryTls::may;
    RelaySettings relay;

    // From the configuration; reads the relay password file.
    static Result<AgentSettings> from(const Config& config);
};

class DeliveryAgent {
public:
    DeliveryAgent(asio::any_io_executor executor, server::AsyncStore& store, Resolver& resolver,
                  AgentSettings settings);

    // Until stop(); then waits (up to `grace`) for the connections to finish their message.
    asio::awaitable<void> run(std::chrono::seconds grace);
    // Both on the agent's executor.
    void wake();
    void stop();

    // Counters for logs and tests.
    std::size_t in_flight() const { return busy_.size(); }

private:
    struct Job {
        storage::MessageId message = 0;
        std::string sender;
        std::vector<storage::QueuedRecipient> recipients;
    };
    struct Destination {
        std::deque<Job> jobs;
        unsigned connections = 0;
        DestinationBackoff backoff;
        std::string last_error;
    };
    // One recipient's verdict after a try (or without one).
    struct Verdict {
        int code = 0;       // the deciding reply code; 0 = no reply (local trouble)
        std::string reply;  // one line
        std::string remote_mta;
        std::string tls;    // how the connection was secured ("TLSv1.3, DANE TLSA 3 1 1 ...")
        bool tried = true;  // false: not tried (destination resting)
    };

    asio::awaitable<std::size_t> fetch();
    void start_connections();
    asio::awaitable<void> serve_destination(std::string name);
    asio::awaitable<bool> connect(const std::string& name, Destination& d, OutboundConnection& connection);
    asio::awaitable<std::vector<ConnectionPlan>> plan_relay(std::string& failure, bool& permanent);
    asio::awaitable<std::vector<ConnectionPlan>> plan_mx(const std::string& domain, std::string& failure,
                                                         bool& permanent);
    asio::awaitable<void> deliver_job(OutboundConnection& connection, Job& job);
    // Every job of `d` gets the same verdict.
    asio::awaitable<void> settle_all(Destination& d, Verdict verdict);
    asio::awaitable<void> settle(const Job& job, std::vector<Verdict> verdicts);
    enum class TlsCheck { none, ca_store, dane };
    std::shared_ptr<asio::ssl::context> tls_context(TlsCheck check);

    asio::any_io_executor executor_;
    server::AsyncStore& store_;
    Resolver& resolver_;
    AgentSettings settings_;
    std::map<std::string, Destination> destinations_;
    std::unordered_set<storage::QueueId> busy_;
    unsigned connections_ = 0;
    asio::steady_timer wake_timer_;
    bool woken_ = false;
    bool stopping_ = false;
    bool more_due_ = false;  // the last fetch was full: more may be due
    std::mt19937 random_;
    std::shared_ptr<asio::ssl::context> opportunistic_tls_;  // verifies nothing ("may")
    std::shared_ptr<asio::ssl::context> verified_tls_;       // the system CA store
    std::shared_ptr<asio::ssl::context> dane_tls_;           // no CA store: TLSA records only
};

}  // namespace hikyaku::deliverd
