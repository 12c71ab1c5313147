// delivery_agent.cpp: the queue runner of deliverd (see delivery_agent.h).
#include "deliverd/delivery_agent.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <spdlog/spdlog.h>

#include "deliverd/dane.h"
#include "deliverd/dsn.h"
#include "storage/message.h"

namespace hikyaku::deliverd {

using namespace storage;

namespace {

constexpr const char* kRelayDestination = "[relay]";

TimePoint now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

bool non_ascii(std::string_view s) { return has_eight_bit(s); }

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    return out;
}

}  // namespace

Result<AgentSettings> AgentSettings::from(const Config& config) {
    AgentSettings s;
    s.hostname = config.smtpd.hostname;
    s.retry.retry_min = config.delivery.retry_min;
    s.retry.retry_max = config.delivery.retry_max;
    s.retry.max_age = config.delivery.max_age;
    s.retry.delay_warning = config.delivery.delay_warning;
    s.concurrency_per_destination = config.delivery.concurrency_per_destination;
    s.timeouts.connect = config.delivery.connect_timeout;
    s.timeouts.command = config.delivery.command_timeout;
    s.timeouts.data = config.delivery.data_timeout;
    s.tls = config.delivery.tls;
    s.relay.host = config.relay.host;
    s.relay.port = config.relay.port;
    s.relay.tls = config.relay.tls;
    s.relay.user = config.relay.user;
    if (!config.relay.user.empty()) {
        std::ifstream in(config.relay.password_file);
        if (!in)
            return make_error(Errc::not_found,
                              "[relay] password_file " + config.relay.password_file + ": cannot read it");
        std::getline(in, s.relay.password);
        if (!s.relay.password.empty() && s.relay.password.back() == '\r') s.relay.password.pop_back();
        if (s.relay.password.empty())
            return make_error(Errc::invalid_argument,
                              "[relay] password_file " + config.relay.password_file + " is empty");
    }
    return s;
}

DeliveryAgent::DeliveryAgent(asio::any_io_executor executor, server::AsyncStore& store, Resolver& resolver,
                             AgentSettings settings)
    : executor_(executor),
      store_(store),
      resolver_(resolver),
      settings_(std::move(settings)),
      wake_timer_(executor),
      random_(std::random_device{}()) {}

std::shared_ptr<asio::ssl::context> DeliveryAgent::tls_context(TlsCheck check) {
    auto& slot = check == TlsCheck::dane ? dane_tls_ : check == TlsCheck::ca_store ? verified_tls_ : opportunistic_tls_;
    if (!slot) {
        net::ClientTlsOptions options;
        options.insecure = check == TlsCheck::none;
        options.dane = check == TlsCheck::dane;
        net::NetStatus loaded = net::load_client_tls_context(options, slot);
        if (!loaded) spdlog::error("TLS: {}", loaded.message);
    }
    return slot;
}

void DeliveryAgent::wake() {
    woken_ = true;
    wake_timer_.cancel();
}

void DeliveryAgent::stop() {
    stopping_ = true;
    wake();
}

// ---- the loop -----------------------------------------------------------------------------

asio::awaitable<void> DeliveryAgent::run(std::chrono::seconds grace) {
    while (!stopping_) {
        woken_ = false;
        const std::size_t asked = std::min(kFetchBatch, kMaxInFlight - std::min(kMaxInFlight, busy_.size()));
        const std::size_t fetched = asked > 0 ? co_await fetch() : 0;
        if (stopping_) break;
        // More may be due than one batch: fetch again while there is room.
        more_due_ = asked > 0 && fetched == asked;
        if (woken_ || (more_due_ && busy_.size() + kFetchBatch <= kMaxInFlight)) continue;
        // Sleep until the next entry is due, or until woken (a new entry, a try settled).
        auto until = std::chrono::steady_clock::now() + kSafetyTick;
        if (asked > 0 && fetched < asked) {
            auto next = co_await store_.read([&] { return store_->next_due(); });
            if (next && *next) {
                const auto wait = **next - now_seconds();
                // Due now means it is in flight: its settling wakes us.
                if (wait > std::chrono::seconds(0) && wait < kSafetyTick)
                    until = std::chrono::steady_clock::now() + wait;
            }
        }
        if (woken_) continue;
        wake_timer_.expires_at(until);
        boost::system::error_code ec;
        co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    // Let connections finish the message they are sending.
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (connections_ > 0 && std::chrono::steady_clock::now() < deadline) {
        wake_timer_.expires_after(std::chrono::milliseconds(50));
        boost::system::error_code ec;
        co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<std::size_t> DeliveryAgent::fetch() {
    const std::size_t limit = std::min(kFetchBatch, kMaxInFlight - std::min(kMaxInFlight, busy_.size()));
    std::vector<QueueId> busy(busy_.begin(), busy_.end());
    std::sort(busy.begin(), busy.end());
    const TimePoint now = now_seconds();
    auto due = co_await store_.read([&] { return store_->due_recipients(now, limit, busy); });
    if (!due) {
        spdlog::error("cannot read the queue: {}", due.error().message);
        co_return 0;
    }
    // Recipients of one message for one destination share a transaction.
    std::map<std::pair<std::string, MessageId>, std::size_t> open_jobs;  // -> index in jobs
    std::vector<std::string> resting;
    for (auto& q : *due) {
        busy_.insert(q.id);
        const std::string name = settings_.relay.host.empty() ? domain_of(q.recipient) : kRelayDestination;
        Destination& d = destinations_[name];
        const auto key = std::make_pair(name, q.message);
        auto found = open_jobs.find(key);
        if (found != open_jobs.end() && found->second < d.jobs.size() &&
            d.jobs[found->second].recipients.size() < kMaxRecipientsPerTransaction) {
            d.jobs[found->second].recipients.push_back(std::move(q));
            continue;
        }
        Job job;
        job.message = q.message;
        job.sender = q.sender;
        job.recipients.push_back(std::move(q));
        d.jobs.push_back(std::move(job));
        open_jobs[key] = d.jobs.size() - 1;
    }
    // A resting destination's recipients wait for it without a try.
    for (auto& [name, d] : destinations_) {
        if (d.jobs.empty() || !d.backoff.resting(now) || d.connections > 0) continue;
        Verdict verdict;
        verdict.tried = false;
        verdict.reply = d.last_error;
        co_await settle_all(d, verdict);
    }
    start_connections();
    co_return due->size();
}

void DeliveryAgent::start_connections() {
    for (auto& [name, d] : destinations_) {
        while (!stopping_ && d.jobs.size() > d.connections && d.connections < settings_.concurrency_per_destination &&
               connections_ < kMaxConnections) {
            ++d.connections;
            ++connections_;
            asio::co_spawn(executor_, serve_destination(name), asio::detached);
        }
    }
}

// ---- one connection -----------------------------------------------------------------------

asio::awaitable<void> DeliveryAgent::serve_destination(std::string name) {
    Destination& d = destinations_[name];
    try {
        while (!stopping_ && !d.jobs.empty()) {
            if (d.backoff.resting(now_seconds())) {
                Verdict verdict;
                verdict.tried = false;
                verdict.reply = d.last_error;
                co_await settle_all(d, verdict);
                break;
            }
            OutboundConnection connection(executor_, settings_.timeouts);
            const bool opened = co_await connect(name, d, connection);
            if (!opened) break;
            while (!stopping_ && !d.jobs.empty() && connection.usable()) {
                Job job = std::move(d.jobs.front());
                d.jobs.pop_front();
                co_await deliver_job(connection, job);
            }
            co_await connection.quit();
        }
    } catch (const std::exception& e) {
        spdlog::error("destination {}: {}", name, e.what());
    }
    --d.connections;
    --connections_;
    if (d.connections == 0 && d.jobs.empty() && !d.backoff.resting(now_seconds())) destinations_.erase(name);
    start_connections();
}

asio::awaitable<bool> DeliveryAgent::connect(const std::string& name, Destination& d, OutboundConnection& connection) {
    std::string failure;
    bool permanent = false;
    // (Not a conditional expression of two co_awaits: g++ 12 resumes it wrongly.)
    std::vector<ConnectionPlan> plans;
    if (name == kRelayDestination) plans = co_await plan_relay(failure, permanent);
    else plans = co_await plan_mx(name, failure, permanent);
    if (plans.empty()) {
        Verdict verdict;
        verdict.code = permanent ? 550 : 0;
        verdict.reply = failure;
        if (!permanent) {
            d.backoff.failed(settings_.retry, now_seconds());
            d.last_error = failure;
        }
        co_await settle_all(d, verdict);
        co_return false;
    }
    std::string last;
    for (const auto& plan : plans) {
        spdlog::debug("destination {}: connecting to {}[{}]:{}", name, plan.host, plan.address, plan.port);
        if (co_await connection.open(plan)) {
            d.backoff.succeeded();
            if (!plan.peer_check.empty())
                spdlog::info("destination {}: Verified TLS connection established to {}: {}", name, connection.peer(),
                             connection.tls_summary());
            else spdlog::debug("connected to {}{}", connection.peer(), connection.tls() ? " with TLS" : "");
            co_return true;
        }
        last = connection.failure();
        spdlog::info("destination {}: {}: {}", name, connection.peer(), last);
        // "may": a failed handshake is no reason not to deliver: again in plaintext.
        if (plan.session.starttls == client::StartTlsPolicy::if_offered && last.starts_with("TLS handshake failed")) {
            ConnectionPlan plaintext = plan;
            plaintext.session.starttls = client::StartTlsPolicy::never;
            if (co_await connection.open(plaintext)) {
                d.backoff.succeeded();
                co_return true;
            }
            last = connection.failure();
        }
    }
    d.backoff.failed(settings_.retry, now_seconds());
    d.last_error = last;
    Verdict verdict;
    verdict.reply = last;
    co_await settle_all(d, verdict);
    co_return false;
}

asio::awaitable<std::vector<ConnectionPlan>> DeliveryAgent::plan_relay(std::string& failure, bool& permanent) {
    permanent = false;
    const RelaySettings& relay = settings_.relay;
    std::vector<std::string> addresses;
    if (is_ip_literal(relay.host)) {
        addresses.push_back(relay.host);
    } else {
        DnsAnswer a = co_await resolver_.query(relay.host, kDnsTypeA);
        DnsAnswer aaaa = co_await resolver_.query(relay.host, kDnsTypeAaaa);
        HostAddresses found = host_addresses(a, aaaa, relay.host);
        if (found.addresses.empty()) {
            failure = "relay " + relay.host + ": " + found.why;
            co_return std::vector<ConnectionPlan>{};
        }
        addresses = std::move(found.addresses);
    }
    std::vector<ConnectionPlan> plans;
    for (auto& address : addresses) {
        ConnectionPlan plan;
        plan.host = relay.host;
        plan.address = address;
        plan.port = relay.port;
        plan.session.helo = settings_.hostname;
        plan.session.auth_user = relay.user;
        plan.session.auth_password = relay.password;
        plan.implicit_tls = relay.tls == RelayTls::tls;
        plan.session.starttls =
            relay.tls == RelayTls::starttls ? client::StartTlsPolicy::required : client::StartTlsPolicy::never;
        // A smarthost that gets our password must prove who it is.
        if (relay.tls != RelayTls::none) plan.tls = tls_context(TlsCheck::ca_store);
        plans.push_back(std::move(plan));
    }
    co_return plans;
}

asio::awaitable<std::vector<ConnectionPlan>> DeliveryAgent::plan_mx(const std::string& domain, std::string& failure,
                                                                    bool& permanent) {
    permanent = false;
    std::vector<ConnectionPlan> plans;
    DnsAnswer mx = co_await resolver_.query(domain, kDnsTypeMx);
    MxDecision decision = decide_mx(mx, domain, random_);
    std::vector<std::string> hosts;
    switch (decision.kind) {
        case MxDecision::Kind::hosts: hosts = std::move(decision.hosts); break;
        case MxDecision::Kind::implicit: hosts.push_back(domain); break;
        case MxDecision::Kind::null_mx:
        case MxDecision::Kind::no_domain:
            permanent = true;
            failure = decision.why;
            co_return plans;
        case MxDecision::Kind::temporary: failure = decision.why; co_return plans;
    }
    bool any_temporary = false;
    std::string why;
    for (const auto& host : hosts) {
        DnsAnswer a = co_await resolver_.query(host, kDnsTypeA);
        DnsAnswer aaaa = co_await resolver_.query(host, kDnsTypeAaaa);
        HostAddresses found = host_addresses(a, aaaa, host);
        spdlog::debug("destination {}: mail exchanger {} has {} address(es)", domain, host, found.addresses.size());
        if (found.addresses.empty()) {
            any_temporary |= found.temporary;
            why = found.why;
            continue;
        }
        client::StartTlsPolicy starttls = client::StartTlsPolicy::if_offered;
        TlsCheck check = TlsCheck::none;
        net::TlsPeerCheck peer_check;
        if (settings_.tls == DeliveryTls::encrypt) {
            starttls = client::StartTlsPolicy::required;
            check = TlsCheck::ca_store;
        }
        if (settings_.tls == DeliveryTls::dane) {
            // RFC 7672 2.2: TLSA records of _25._tcp.<host>, and only if DNSSEC vouches for them.
            DnsAnswer tlsa = co_await resolver_.query("_25._tcp." + host, kDnsTypeTlsa);
            DaneDecision dane = decide_dane(tlsa, resolver_.validating(), host);
            if (dane.kind == DaneDecision::Kind::defer) {
                why = dane.why;
                any_temporary = true;
                continue;
            }
            starttls = client::StartTlsPolicy::required;
            if (dane.kind == DaneDecision::Kind::encrypt) {
                spdlog::info("destination {}: {}", domain, dane.why);
            } else {
                check = TlsCheck::dane;
                for (auto& r : dane.records)
                    peer_check.tlsa.push_back({r.usage, r.selector, r.matching_type, std::move(r.data)});
                spdlog::debug("destination {}: {} usable TLSA record(s) for {} ({} unusable)", domain,
                              peer_check.tlsa.size(), host, dane.unusable);
            }
        }
        for (auto& address : found.addresses) {
            ConnectionPlan plan;
            plan.host = host;
            plan.address = address;
            plan.port = 25;
            plan.session.helo = settings_.hostname;
            plan.session.starttls = starttls;
            plan.tls = tls_context(check);
            plan.peer_check = peer_check;
            plans.push_back(std::move(plan));
        }
    }
    if (plans.empty()) {
        failure = why;
        // Every host named definitively has no address: nowhere to send (RFC 5321 5.1).
        if (!any_temporary) {
            permanent = true;
            failure = "550 5.4.4 no address for the mail exchangers of " + domain + ": " + why;
        }
    }
    co_return plans;
}

// ---- one message ----------------------------------------------------------------------------

asio::awaitable<void> DeliveryAgent::deliver_job(OutboundConnection& connection, Job& job) {
    const MessageId id = job.message;
    auto bytes = co_await store_.read([&] { return store_->read_queued_message(id); });
    std::vector<Verdict> verdicts(job.recipients.size());
    if (!bytes) {
        if (bytes.error().code == Errc::not_found) {
            // Deleted meanwhile (mailctl queue delete): nothing to do.
            for (const auto& r : job.recipients) busy_.erase(r.id);
            co_return;
        }
        for (auto& v : verdicts) v.reply = "cannot read the message from the store: " + bytes.error().message;
        co_return co_await settle(job, std::move(verdicts));
    }
    const std::string_view message = without_return_path(*bytes);
    const std::size_t received = count_received(message);
    if (received > kMaxReceivedHeaders) {
        for (auto& v : verdicts) {
            v.code = 554;
            v.reply = "554 5.4.6 mail loop: the message has " + std::to_string(received) + " Received header fields";
        }
        co_return co_await settle(job, std::move(verdicts));
    }
    client::SmtpEnvelope envelope;
    envelope.sender = job.sender;
    envelope.size = message.size();
    envelope.eight_bit = has_eight_bit(message);
    envelope.smtputf8 = non_ascii(job.sender);
    for (const auto& r : job.recipients) {
        envelope.recipients.push_back(r.recipient);
        envelope.smtputf8 |= non_ascii(r.recipient);
    }
    client::SmtpTransactionResult result = co_await connection.send(std::move(envelope), message);
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        if (i < result.recipients.size()) {
            verdicts[i].code = result.recipients[i].code;
            verdicts[i].reply = result.recipients[i].reply;
        } else {
            verdicts[i].reply = connection.failure();
        }
        verdicts[i].remote_mta = connection.peer();
        verdicts[i].tls = connection.tls_summary();
        // A 2xx counts only for a message that went out whole.
        if (verdicts[i].code >= 200 && verdicts[i].code < 300 && !result.message_sent) verdicts[i].code = 0;
    }
    co_await settle(job, std::move(verdicts));
}

asio::awaitable<void> DeliveryAgent::settle_all(Destination& d, Verdict verdict) {
    std::deque<Job> jobs;
    jobs.swap(d.jobs);
    for (const auto& job : jobs) co_await settle(job, std::vector<Verdict>(job.recipients.size(), verdict));
}

// The outcome of one job's try, and the notices it causes, as one store write. The busy
// marks go when the write is durable, so the entries are never fetched twice meanwhile.
asio::awaitable<void> DeliveryAgent::settle(const Job& job, std::vector<Verdict> verdicts) {
    struct Write {
        std::vector<QueueOutcome> outcomes;
        std::vector<Submission> notices;
        std::vector<std::string> notice_bytes;
        std::vector<QueueId> ids;
    };
    auto write = std::make_shared<Write>();
    const TimePoint now = now_seconds();
    std::vector<DsnRecipient> failed, delayed;
    TimePoint arrival = now;
    for (std::size_t i = 0; i < job.recipients.size(); ++i) {
        const QueuedRecipient& r = job.recipients[i];
        const Verdict& v = verdicts[i];
        write->ids.push_back(r.id);
        arrival = std::min(arrival, r.created);
        QueueOutcome o;
        o.id = r.id;
        const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - r.created).count();
        const std::string reply = v.reply.empty() ? "no reply" : printable(v.reply);
        if (v.code >= 200 && v.code < 300) {
            spdlog::info("queue={} to=<{}> relay={} delay={}s attempts={} status=sent ({}){}", r.id,
                         printable(r.recipient), v.remote_mta, age, r.attempts + 1, reply,
                         v.tls.empty() ? std::string() : " tls=(" + v.tls + ")");
        } else if (v.code >= 500 || expired(settings_.retry, r.created, now)) {
            spdlog::info("queue={} to=<{}> relay={} delay={}s attempts={} status=bounced ({})", r.id,
                         printable(r.recipient), v.remote_mta.empty() ? "none" : v.remote_mta, age, r.attempts + 1,
                         reply);
            DsnRecipient dsn;
            dsn.address = r.recipient;
            dsn.status = v.code >= 400 ? status_of_reply(v.code, v.reply) : "4.4.7";
            dsn.diagnostic = v.code >= 400 ? reply : reply + " (delivery time expired)";
            dsn.diagnostic_is_smtp = v.code >= 400;
            dsn.remote_mta = v.remote_mta;
            failed.push_back(std::move(dsn));
        } else {
            o.kind = QueueOutcome::Kind::deferred;
            o.count_attempt = v.tried;
            const std::uint32_t attempts = r.attempts + (v.tried ? 1 : 0);
            TimePoint next = now + retry_delay(settings_.retry, std::max<std::uint32_t>(attempts, 1));
            if (!v.tried) {
                auto found =
                    destinations_.find(settings_.relay.host.empty() ? domain_of(r.recipient) : kRelayDestination);
                if (found != destinations_.end() && found->second.backoff.resting(now))
                    next = std::max(found->second.backoff.until(), now + std::chrono::seconds(1));
            }
            o.next_attempt = next;
            o.last_reply = reply;
            spdlog::info("queue={} to=<{}> relay={} delay={}s attempts={} status=deferred ({})", r.id,
                         printable(r.recipient), v.remote_mta.empty() ? "none" : v.remote_mta, age, attempts, reply);
            if (delay_warning_due(settings_.retry, r.created, now, r.delay_warned)) {
                o.delay_warned = true;
                DsnRecipient dsn;
                dsn.address = r.recipient;
                dsn.failed = false;
                dsn.status = status_of_reply(v.code >= 400 ? v.code : 451, v.reply);
                if (dsn.status[0] != '4') dsn.status = "4.0.0";
                dsn.diagnostic = reply;
                dsn.diagnostic_is_smtp = v.code >= 400;
                dsn.remote_mta = v.remote_mta;
                delayed.push_back(std::move(dsn));
            }
        }
        write->outcomes.push_back(std::move(o));
    }
    // Notices to the sender: never to the null sender (a notice about a notice).
    if (!job.sender.empty() && (!failed.empty() || !delayed.empty())) {
        std::vector<UserId> local;
        bool is_local = false;
        const std::string sender_domain = domain_of(job.sender);
        auto local_domain = co_await store_.read([&] { return store_->is_local_domain(sender_domain); });
        if (local_domain && *local_domain) {
            is_local = true;
            const std::string sender = job.sender;
            auto users = co_await store_.read([&] { return store_->resolve_recipient(sender); });
            if (users)
                for (const auto& u : *users) add_unique_recipient(local, u.id);
        }
        const bool deliverable = !is_local || !local.empty();
        if (!deliverable)
            spdlog::warn("message={} notice dropped: sender <{}> is not a local user", job.message,
                         printable(job.sender));
        auto bytes = co_await store_.read([&] { return store_->read_queued_message(job.message); });
        const std::string headers = bytes ? std::string(header_block(without_return_path(*bytes))) : std::string();
        for (const auto* list : {&failed, &delayed}) {
            if (list->empty() || !deliverable) continue;
            DsnReport report;
            report.reporting_mta = settings_.hostname;
            report.to = job.sender;
            report.arrival = arrival;
            report.now = now;
            report.queue_id = std::to_string(job.recipients.front().id);
            report.recipients = *list;
            report.original_headers = headers;
            report.boundary_seed = std::to_string(job.message) + "." + std::to_string(job.recipients.front().id) + "." +
                                   std::to_string(now.time_since_epoch().count()) + (list == &failed ? ".f" : ".d");
            write->notice_bytes.push_back(build_dsn(report));
        }
        for (std::size_t i = 0; i < write->notice_bytes.size(); ++i) {
            Submission notice;
            notice.message = prepare_message(write->notice_bytes[i]);
            notice.local = local;
            if (!is_local) notice.outbound = OutboundEnvelope{"", {job.sender}};
            notice.internal_date = now;
            write->notices.push_back(std::move(notice));
        }
    }
    const Status status = co_await server::AsyncStore::submit<void>(
        [&](Completion<void> done) { store_->settle_async(write->outcomes, write->notices, std::move(done)); });
    if (!status)
        spdlog::error("message={} cannot record the outcome (it will be tried again): {}", job.message,
                      status.error().message);
    for (QueueId id : write->ids) busy_.erase(id);
    // Wake the loop when a deferral moved the next due time, or when there is room for a
    // whole batch of what is still due (not once per message: a fetch reads the busy ones).
    const bool deferred = std::any_of(write->outcomes.begin(), write->outcomes.end(),
                                      [](const QueueOutcome& o) { return o.kind == QueueOutcome::Kind::deferred; });
    if (deferred || (more_due_ && busy_.size() + kFetchBatch <= kMaxInFlight)) wake();
}

}  // namespace hikyaku::deliverd
