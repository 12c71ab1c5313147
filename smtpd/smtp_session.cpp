// smtp_session.cpp: the SMTP server state machine (see smtp_session.h).
//
// RFC 5321 3 and 4 (the protocol, replies and their order), 4.1.4 (EHLO resets a
// transaction), 4.5.3.2 (timeouts), 2.3.8 (CRLF only); RFC 2920 (PIPELINING: replies are
// flushed when the client's input is drained), RFC 3030 (BDAT), RFC 3207 (STARTTLS and the
// state reset after it), RFC 4954 (AUTH), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531
// (SMTPUTF8), RFC 3463 (enhanced codes).
#include "smtpd/smtp_session.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "common/log.h"
#include "common/text/sasl.h"
#include "smtpd/data_reader.h"
#include "smtpd/smtp_command.h"
#include "smtpd/trace_headers.h"

namespace hikyaku::smtp {

namespace asio = boost::asio;

SessionSettings SessionSettings::from(const Config& config, Role role) {
    SessionSettings s;
    s.role = role;
    s.hostname = config.smtpd.hostname;
    s.max_recipients = config.smtpd.max_recipients;
    s.max_errors = config.smtpd.max_errors;
    s.max_line_length = config.smtpd.max_line_length;
    s.bare_linefeed = config.smtpd.bare_linefeed;
    s.command_timeout = config.smtpd.command_timeout;
    s.data_timeout = config.smtpd.data_timeout;
    s.max_message_size = config.storage.max_message_size;
    return s;
}

namespace {

std::atomic<uint64_t> next_message_number{1};

Reply bare_line_ending_refusal();

// The states of RFC 5321's command sequence (4.1.4): a client must greet before MAIL,
// MAIL opens a transaction, at least one accepted RCPT allows DATA or BDAT.
enum class State : unsigned { fresh = 1, greeted = 2, mail = 4, rcpt = 8 };
constexpr unsigned any_state = 1 | 2 | 4 | 8;
constexpr unsigned after_greeting = 2 | 4 | 8;

class Session;
using Handler = asio::awaitable<void> (Session::*)(const Command&);

struct DispatchEntry {
    Verb verb;
    unsigned allowed;  // mask of State values
    Handler handler;
};

class Session {
public:
    Session(std::shared_ptr<net::Connection> conn, const SessionSettings& settings, storage::Store& store,
            net::BlockingPool& pool)
        : conn_(std::move(conn)), s_(settings), store_(store), pool_(pool) {}

    asio::awaitable<void> run();

    // One handler per command (STYLE 5).
    asio::awaitable<void> on_helo(const Command& c);
    asio::awaitable<void> on_mail(const Command& c);
    asio::awaitable<void> on_rcpt(const Command& c);
    asio::awaitable<void> on_data(const Command& c);
    asio::awaitable<void> on_bdat(const Command& c);
    asio::awaitable<void> on_rset(const Command& c);
    asio::awaitable<void> on_noop(const Command& c);
    asio::awaitable<void> on_quit(const Command& c);
    asio::awaitable<void> on_vrfy(const Command& c);
    asio::awaitable<void> on_expn(const Command& c);
    asio::awaitable<void> on_help(const Command& c);
    asio::awaitable<void> on_starttls(const Command& c);
    asio::awaitable<void> on_auth(const Command& c);

private:
    static const DispatchEntry* find_entry(Verb verb);
    void reply(const Reply& r);
    asio::awaitable<bool> flush() { return conn_->flush(); }
    Reply wrong_sequence(Verb verb) const;
    void reset_transaction();
    ClientFacts facts() const {
        return {s_.role, conn_->is_tls(), conn_->peer_is_loopback(), user_.has_value()};
    }
    // Reads a SASL response line; nullopt when the session must end.
    asio::awaitable<std::optional<std::string>> read_sasl_line();
    asio::awaitable<void> deliver(std::string& message);
    DataLimits content_limits() const;
    // The refusal for content that was read whole but must not be stored, if any.
    std::optional<Reply> content_refusal(const DataStats& stats) const;
    bool after_tls_handshake();
    asio::awaitable<void> pause(std::chrono::milliseconds delay);
    bool end_on_read_status(net::ReadStatus status);

    // Runs a store call on the blocking pool. Capture by reference only (see blocking_pool.h).
    template <class F>
    auto blocking(F f) {
        return pool_.run(std::move(f));
    }

    std::shared_ptr<net::Connection> conn_;
    const SessionSettings& s_;
    storage::Store& store_;
    net::BlockingPool& pool_;

    State state_ = State::fresh;
    std::string helo_;
    bool esmtp_ = false;
    std::optional<storage::User> user_;
    unsigned errors_ = 0;
    unsigned auth_failures_ = 0;
    bool done_ = false;
    bool tls_requested_ = false;  // STARTTLS answered 220; upgrade once the reply is out

    // The transaction (RFC 5321 3.3).
    std::string sender_;  // canonical; empty for "<>"
    BodyType body_ = BodyType::seven_bit;
    bool smtputf8_ = false;
    std::vector<storage::UserId> recipients_;
    std::vector<std::string> recipient_addresses_;
    // BDAT in progress (RFC 3030): the reader and the message it builds.
    std::unique_ptr<BdatReader> bdat_;
    std::string bdat_message_;
};

const DispatchEntry dispatch_table[] = {
    {Verb::helo, any_state, &Session::on_helo},
    {Verb::ehlo, any_state, &Session::on_helo},
    {Verb::mail, unsigned(State::greeted), &Session::on_mail},
    {Verb::rcpt, unsigned(State::mail) | unsigned(State::rcpt), &Session::on_rcpt},
    {Verb::data, unsigned(State::rcpt), &Session::on_data},
    {Verb::bdat, any_state, &Session::on_bdat},  // checks its state after reading the chunk
    {Verb::rset, any_state, &Session::on_rset},
    {Verb::noop, any_state, &Session::on_noop},
    {Verb::quit, any_state, &Session::on_quit},
    {Verb::vrfy, any_state, &Session::on_vrfy},
    {Verb::expn, any_state, &Session::on_expn},
    {Verb::help, any_state, &Session::on_help},
    {Verb::starttls, any_state, &Session::on_starttls},
    {Verb::auth, after_greeting, &Session::on_auth},
};

const DispatchEntry* Session::find_entry(Verb verb) {
    for (auto& e : dispatch_table)
        if (e.verb == verb) return &e;
    return nullptr;
}

void Session::reply(const Reply& r) {
    if (r.code >= 400) ++errors_;
    conn_->write(format_reply(r));
    if (debug_logging()) spdlog::debug("{} S: {}", conn_->log_prefix(), describe_reply(r));
}

Reply Session::wrong_sequence(Verb verb) const {
    if (state_ == State::fresh) return Reply(503, EnhancedCode{5, 5, 1}, "Error: send HELO/EHLO first");
    switch (verb) {
        case Verb::rcpt: return Reply(503, EnhancedCode{5, 5, 1}, "Error: need MAIL command");
        case Verb::data:
        case Verb::bdat:
            return Reply(503, EnhancedCode{5, 5, 1},
                         state_ == State::mail ? "Error: need RCPT command" : "Error: need MAIL command");
        default: return Reply(503, EnhancedCode{5, 5, 1}, "Error: bad sequence of commands");
    }
}

void Session::reset_transaction() {
    sender_.clear();
    body_ = BodyType::seven_bit;
    smtputf8_ = false;
    recipients_.clear();
    recipient_addresses_.clear();
    bdat_.reset();
    std::string().swap(bdat_message_);
    if (state_ == State::mail || state_ == State::rcpt) state_ = State::greeted;
}

asio::awaitable<void> Session::pause(std::chrono::milliseconds delay) {
    asio::steady_timer timer(conn_->executor(), delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

bool Session::end_on_read_status(net::ReadStatus status) {
    switch (status) {
        case net::ReadStatus::timeout:
            reply(Reply(421, EnhancedCode{4, 4, 2}, s_.hostname + " Error: timeout exceeded"));
            return true;
        case net::ReadStatus::shutdown:
            reply(Reply(421, EnhancedCode{4, 3, 2}, s_.hostname + " Service shutting down, closing connection"));
            return true;
        case net::ReadStatus::eof:
        case net::ReadStatus::error:
            spdlog::info("{} lost connection after {}", conn_->log_prefix(),
                         state_ == State::fresh ? "CONNECT" : "command");
            return true;
        default: return false;
    }
}

asio::awaitable<void> Session::run() {
    reply(Reply(220, std::nullopt, s_.hostname + " ESMTP hikyaku"));
    // Every co_await result goes into a variable first: g++ 12 miscompiles
    // `if (!co_await ...)` in these coroutines (corrupt resume index, SIGILL).
    bool sent = co_await flush();
    if (!sent) co_return;
    CommandLimits limits;
    limits.max_line_length = s_.max_line_length;
    while (!done_) {
        conn_->set_timeout(s_.command_timeout);
        // Read up to the AUTH limit; the parser applies the per-command limit (RFC 4954 4).
        net::Line line = co_await conn_->read_line(limits.max_auth_line_length - 2);
        if (line.status == net::ReadStatus::too_long) {
            reply(Reply(500, EnhancedCode{5, 5, 2}, "Error: line too long"));
        } else if (end_on_read_status(line.status)) {
            break;
        } else if (line.bare_lf && s_.bare_linefeed == BareLinefeedPolicy::reject) {
            // RFC 5321 2.3.8: only CRLF ends a line.
            reply(Reply(500, EnhancedCode{5, 5, 2}, "Error: bare <LF> received; lines end with <CR><LF>"));
        } else {
            if (debug_logging()) spdlog::debug("{} C: {}", conn_->log_prefix(), mask_secrets(line.text));
            auto parsed = parse_command(line.text, ParseContext{smtputf8_}, limits);
            if (auto* error = std::get_if<CommandError>(&parsed)) {
                reply(to_reply(*error));
                // A BDAT line we cannot parse leaves an unknown number of octets to come: the
                // only safe way on is to close (RFC 3030 2).
                if (error->verb == Verb::bdat) {
                    reply(Reply(421, EnhancedCode{4, 5, 0}, s_.hostname + " closing: BDAT out of step"));
                    break;
                }
            } else {
                const Command& command = std::get<Command>(parsed);
                const DispatchEntry* entry = find_entry(command.verb);
                bool in_bdat = bdat_ != nullptr;
                bool bdat_ok = command.verb == Verb::bdat || command.verb == Verb::rset ||
                               command.verb == Verb::quit || command.verb == Verb::noop;
                if (in_bdat && !bdat_ok) {
                    reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: BDAT sequence in progress"));
                } else if (!entry) {
                    reply(Reply(502, EnhancedCode{5, 5, 1}, "Error: command not implemented"));
                } else if (!(entry->allowed & unsigned(state_))) {
                    if (command.verb == Verb::mail && (state_ == State::mail || state_ == State::rcpt))
                        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: nested MAIL command"));
                    else
                        reply(wrong_sequence(command.verb));
                } else {
                    co_await (this->*(entry->handler))(command);
                }
            }
        }
        if (!done_ && errors_ >= s_.max_errors) {
            reply(Reply(421, EnhancedCode{4, 7, 0}, s_.hostname + " Error: too many errors"));
            spdlog::info("{} too many errors ({}), closing", conn_->log_prefix(), errors_);
            break;
        }
        if (tls_requested_) {
            // Inline rather than in a helper coroutine: see upgrade_to_tls().
            tls_requested_ = false;
            sent = co_await flush();
            if (!sent) co_return;
            conn_->set_timeout(std::chrono::seconds(60));
            bool secured = co_await conn_->start_tls();
            if (!secured || !after_tls_handshake()) co_return;
            continue;
        }
        // PIPELINING (RFC 2920 3.2): answer a batch once the client's input is drained.
        if (!conn_->has_buffered_input() || done_) {
            sent = co_await flush();
            if (!sent) co_return;
        }
    }
    co_await flush();
}

asio::awaitable<void> Session::on_helo(const Command& c) {
    reset_transaction();
    helo_ = c.helo() ? c.helo()->domain : std::string();
    esmtp_ = c.verb == Verb::ehlo;
    state_ = State::greeted;
    if (!esmtp_) {
        reply(Reply(250, std::nullopt, s_.hostname));
        co_return;
    }
    std::vector<std::string> lines{s_.hostname + " greets " + printable(helo_, 64), "PIPELINING",
                                   "SIZE " + std::to_string(s_.max_message_size), "8BITMIME",
                                   "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING"};
    if (conn_->can_start_tls() && !conn_->is_tls()) lines.push_back("STARTTLS");
    if (auth_offered(facts()) && !user_) lines.push_back("AUTH PLAIN LOGIN");
    lines.push_back("HELP");
    reply(Reply(250, std::nullopt, std::move(lines)));
}

asio::awaitable<void> Session::on_mail(const Command& c) {
    const MailCommand& mail = *c.mail();
    if (auto refusal = check_mail_allowed(facts())) {
        reply(*refusal);
        co_return;
    }
    if (!esmtp_ && (mail.size || mail.body || mail.smtputf8 || mail.auth)) {
        reply(Reply(555, EnhancedCode{5, 5, 4}, "Error: MAIL parameters need EHLO"));
        co_return;
    }
    if (mail.body == BodyType::binary_mime) {  // not advertised (RFC 3030 3)
        reply(Reply(504, EnhancedCode{5, 5, 4}, "Error: BODY=BINARYMIME is not supported"));
        co_return;
    }
    if (mail.size && *mail.size > s_.max_message_size) {
        reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
        co_return;
    }
    std::string sender = mail.reverse_path.is_null() ? std::string() : mail.reverse_path.mailbox->canonical();
    if (user_) {
        auto user_id = user_->id;
        auto owned = co_await blocking([this, &user_id] { return store_.addresses_of(user_id); });
        if (!owned) {
            reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
            co_return;
        }
        if (auto refusal = check_sender(facts(), sender, *owned)) {
            reply(*refusal);
            co_return;
        }
    }
    sender_ = sender;
    body_ = mail.body.value_or(BodyType::seven_bit);
    smtputf8_ = mail.smtputf8;
    state_ = State::mail;
    reply(Reply(250, EnhancedCode{2, 1, 0}, "Ok"));
}

asio::awaitable<void> Session::on_rcpt(const Command& c) {
    const text::Mailbox& mailbox = *c.rcpt()->forward_path.mailbox;
    if (recipient_addresses_.size() >= s_.max_recipients) {
        // RFC 5321 4.5.3.1.10: 452 and the client sends the rest in another transaction.
        reply(Reply(452, EnhancedCode{4, 5, 3}, "Error: too many recipients"));
        co_return;
    }
    std::string address = mailbox.canonical();
    if (mailbox.is_bare_postmaster()) {
        // RFC 5321 4.5.1: <Postmaster> without a domain must be accepted: it is the
        // postmaster of our host name if that is a local domain, else of the first domain.
        auto domains = co_await blocking([this] { return store_.list_domains(); });
        std::string domain = s_.hostname;
        if (domains && !domains->empty() &&
            std::find(domains->begin(), domains->end(), text::ascii_lowercase(s_.hostname)) == domains->end())
            domain = domains->front();
        address = "postmaster@" + domain;
    }
    std::string domain = address.substr(address.rfind('@') + 1);
    bool local = false;
    if (mailbox.domain_kind == text::DomainKind::name) {
        auto is_local = co_await blocking([this, &domain] { return store_.is_local_domain(domain); });
        if (!is_local) {
            reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
            co_return;
        }
        local = *is_local;
    }
    if (!local) {
        spdlog::info("{} relay refused to=<{}>", conn_->log_prefix(), printable(address));
        reply(relay_refused(facts(), address));
        co_return;
    }
    auto users = co_await blocking([this, &address] { return store_.resolve_recipient(address); });
    if (!users) {
        // A valid RFC 5321 path that no local user can have (a quoted "@", a '%') is as
        // unknown as any other name.
        if (users.error().code == Errc::not_found || users.error().code == Errc::invalid_argument)
            reply(Reply(550, EnhancedCode{5, 1, 1}, "<" + address + ">: Recipient address rejected: User unknown"));
        else
            reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
        co_return;
    }
    for (auto& user : *users)
        if (std::find(recipients_.begin(), recipients_.end(), user.id) == recipients_.end())
            recipients_.push_back(user.id);
    recipient_addresses_.push_back(address);
    state_ = State::rcpt;
    reply(Reply(250, EnhancedCode{2, 1, 5}, "Ok"));
}

asio::awaitable<void> Session::on_data(const Command&) {
    reply(Reply(354, std::nullopt, "End data with <CR><LF>.<CR><LF>"));
    bool sent = co_await flush();
    if (!sent) {
        done_ = true;
        co_return;
    }
    std::string message;
    DataLimits limits = content_limits();
    DataReader reader(message, limits);
    conn_->set_timeout(s_.data_timeout);  // RFC 5321 4.5.3.2.5: per data block
    for (;;) {
        auto fed = reader.feed(conn_->buffered());
        conn_->consume(fed.consumed);
        if (fed.status != DataStatus::need_more) break;
        auto status = co_await conn_->fill();
        if (status != net::ReadStatus::ok) {
            // A client that vanishes (or stalls) mid-DATA: nothing is stored.
            spdlog::info("{} DATA ended early ({}); nothing stored", conn_->log_prefix(), net::to_string(status));
            end_on_read_status(status);
            done_ = true;
            co_return;
        }
    }
    const DataStats& stats = reader.stats();
    DataStatus verdict = reader.status();
    const std::optional<Reply> refusal = content_refusal(stats);
    if (verdict == DataStatus::too_big) {
        reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
    } else if (verdict == DataStatus::bare_line_ending) {
        reply(bare_line_ending_refusal());
    } else if (refusal) {
        reply(*refusal);
    } else {
        co_await deliver(message);
    }
    if (verdict != DataStatus::complete || stats.nul)
        spdlog::info("{} message refused: {}", conn_->log_prefix(), to_string(verdict));
    reset_transaction();
}

asio::awaitable<void> Session::on_bdat(const Command& c) {
    const BdatCommand& bdat = *c.bdat();
    if (bdat.size > s_.max_message_size) {
        // Reading (and discarding) an absurd chunk would let one client hold the session for
        // as long as it likes; the chunk cannot be skipped without reading it, so close.
        reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
        reply(Reply(421, EnhancedCode{4, 7, 0}, s_.hostname + " closing: BDAT chunk too large"));
        done_ = true;
        co_return;
    }
    // The chunk is read whatever happens next, so the stream stays in step (RFC 3030 2).
    bool usable = state_ == State::rcpt;
    if (!bdat_) {
        bdat_message_.clear();
        bdat_ = std::make_unique<BdatReader>(bdat_message_, content_limits());
    }
    bdat_->begin_chunk(bdat.size, bdat.last);
    conn_->set_timeout(s_.data_timeout);
    BdatStatus status = BdatStatus::need_more;
    for (;;) {
        auto fed = bdat_->feed(conn_->buffered());
        conn_->consume(fed.consumed);
        status = fed.status;
        if (status != BdatStatus::need_more) break;
        auto read = co_await conn_->fill();
        if (read != net::ReadStatus::ok) {
            spdlog::info("{} BDAT ended early ({}); nothing stored", conn_->log_prefix(), net::to_string(read));
            end_on_read_status(read);
            done_ = true;
            co_return;
        }
    }
    if (!usable) {
        bdat_.reset();
        reply(wrong_sequence(Verb::bdat));
        co_return;
    }
    const std::optional<Reply> refusal = content_refusal(bdat_->stats());
    switch (status) {
        case BdatStatus::chunk_done:
            reply(Reply(250, EnhancedCode{2, 0, 0}, std::to_string(bdat.size) + " octets received"));
            co_return;
        case BdatStatus::too_big:
            reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
            break;
        case BdatStatus::bare_line_ending: reply(bare_line_ending_refusal()); break;
        case BdatStatus::complete:
            if (refusal) reply(*refusal);
            else co_await deliver(bdat_message_);
            break;
        case BdatStatus::need_more: break;
    }
    // An error ends the message: RFC 3030 3 says the rest of its chunks are refused too,
    // which the reset gives (no transaction: 503 for the next BDAT).
    reset_transaction();
}

Reply bare_line_ending_refusal() {
    return Reply(554, EnhancedCode{5, 6, 0},
                 "Error: bare <CR> or <LF> in message content; lines end with <CR><LF> (RFC 5321 2.3.8)");
}

DataLimits Session::content_limits() const {
    DataLimits limits;
    limits.max_message_size = s_.max_message_size;
    limits.bare_line_endings = s_.bare_linefeed == BareLinefeedPolicy::reject ? BareLineEndingPolicy::reject
                                                                              : BareLineEndingPolicy::normalize;
    return limits;
}

std::optional<Reply> Session::content_refusal(const DataStats& stats) const {
    if (stats.nul) return Reply(554, EnhancedCode{5, 6, 0}, "Error: NUL octets are not allowed in message content");
    if (stats.eight_bit && body_ == BodyType::seven_bit && !smtputf8_)
        return Reply(554, EnhancedCode{5, 6, 0}, "Error: 8-bit message content needs MAIL BODY=8BITMIME (RFC 6152)");
    return std::nullopt;
}

asio::awaitable<void> Session::deliver(std::string& message) {
    auto now = std::chrono::system_clock::now();
    std::string id = fmt::format("{:x}{:06x}", std::chrono::duration_cast<std::chrono::seconds>(
                                                    now.time_since_epoch()).count(),
                                 next_message_number++ & 0xffffff);
    ReceivedInfo info;
    info.helo = helo_;
    info.peer_address = conn_->peer_address();
    info.hostname = s_.hostname;
    info.esmtp = esmtp_;
    info.smtputf8 = smtputf8_;
    if (conn_->is_tls()) {
        info.tls_version = conn_->tls_version();
        info.tls_cipher = conn_->tls_cipher();
    }
    if (user_) info.authenticated = user_->address;
    info.id = id;
    if (recipient_addresses_.size() == 1) info.single_recipient = recipient_addresses_.front();
    info.when = now;
    std::string headers = return_path_header(sender_) + received_header(info);
    if (s_.role != Role::inbound) {
        // RFC 6409 8.2, 8.3: a submission server may add what the client left out.
        if (!has_header_field(message, "Date")) headers += "Date: " + rfc5322_date(now) + "\r\n";
        if (!has_header_field(message, "Message-ID"))
            headers += "Message-ID: <" + id + "." + std::to_string(conn_->id()) + "@" + s_.hostname + ">\r\n";
    }
    message.insert(0, headers);
    auto internal_date = std::chrono::time_point_cast<std::chrono::seconds>(now);
    auto receipt = co_await blocking([this, &message, &internal_date] {
        return store_.deliver(message, recipients_, storage::TimePoint(internal_date.time_since_epoch()));
    });
    std::string to;
    for (auto& r : recipient_addresses_) to += (to.empty() ? "<" : ",<") + printable(r) + ">";
    if (!receipt) {
        spdlog::warn("{} id={} from=<{}> to={} size={} status=refused ({})", conn_->log_prefix(), id,
                     printable(sender_), to, message.size(), receipt.error().message);
        if (receipt.error().code == Errc::limit_exceeded)
            reply(Reply(552, EnhancedCode{5, 2, 2}, "Error: " + receipt.error().message));
        else
            reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
        co_return;
    }
    spdlog::info("{} id={} from=<{}> to={} size={} status=delivered message={}", conn_->log_prefix(), id,
                 printable(sender_), to, message.size(), receipt->message);
    reply(Reply(250, EnhancedCode{2, 0, 0}, "Ok: queued as " + id));
}

asio::awaitable<void> Session::on_rset(const Command&) {
    reset_transaction();
    reply(Reply(250, EnhancedCode{2, 0, 0}, "Ok"));
    co_return;
}

asio::awaitable<void> Session::on_noop(const Command&) {
    reply(Reply(250, EnhancedCode{2, 0, 0}, "Ok"));
    co_return;
}

asio::awaitable<void> Session::on_quit(const Command&) {
    reply(Reply(221, EnhancedCode{2, 0, 0}, "Bye"));
    done_ = true;
    co_return;
}

asio::awaitable<void> Session::on_vrfy(const Command&) {
    // RFC 5321 3.5.3: 252 says neither yes nor no, so VRFY discloses no user.
    reply(Reply(252, EnhancedCode{2, 5, 2}, "Cannot VRFY user, but will accept message and attempt delivery"));
    co_return;
}

asio::awaitable<void> Session::on_expn(const Command&) {
    reply(Reply(502, EnhancedCode{5, 5, 1}, "Error: EXPN is not supported"));
    co_return;
}

asio::awaitable<void> Session::on_help(const Command&) {
    reply(Reply(214, EnhancedCode{2, 0, 0},
                std::vector<std::string>{"Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"
                                         " STARTTLS AUTH",
                                         "See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)"}));
    co_return;
}

asio::awaitable<void> Session::on_starttls(const Command&) {
    if (conn_->is_tls()) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: TLS already active"));
        co_return;
    }
    if (!conn_->can_start_tls()) {
        reply(Reply(454, EnhancedCode{4, 7, 0}, "TLS not available"));
        co_return;
    }
    if (state_ == State::mail || state_ == State::rcpt) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: MAIL transaction in progress"));
        co_return;
    }
    reply(Reply(220, EnhancedCode{2, 0, 0}, "Ready to start TLS"));
    // The handshake itself runs in run(), after this reply is flushed.
    tls_requested_ = true;
    co_return;
}

bool Session::after_tls_handshake() {
    if (!conn_->is_tls()) {
        spdlog::info("{} STARTTLS handshake failed", conn_->log_prefix());
        return false;
    }
    if (conn_->discarded_after_starttls() > 0)
        spdlog::warn("{} discarded {} octets pipelined after STARTTLS", conn_->log_prefix(),
                     conn_->discarded_after_starttls());
    spdlog::info("{} TLS started version={} cipher={}", conn_->log_prefix(), conn_->tls_version(),
                 conn_->tls_cipher());
    // RFC 3207 4.2: forget everything learned before the handshake.
    reset_transaction();
    state_ = State::fresh;
    helo_.clear();
    esmtp_ = false;
    user_.reset();
    return true;
}

asio::awaitable<std::optional<std::string>> Session::read_sasl_line() {
    bool sent = co_await flush();
    if (!sent) co_return std::nullopt;
    net::Line line = co_await conn_->read_line(sasl::kMaxResponseLength);
    if (line.status == net::ReadStatus::too_long) co_return std::string(sasl::kMaxResponseLength + 1, 'x');
    if (end_on_read_status(line.status)) {
        done_ = true;
        co_return std::nullopt;
    }
    spdlog::debug("{} C: <SASL response masked>", conn_->log_prefix());
    co_return line.text;
}

asio::awaitable<void> Session::on_auth(const Command& c) {
    const AuthCommand& auth = *c.auth();
    ClientFacts client = facts();
    if (!auth_allowed_on_port(client)) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: authentication is not enabled on this port"));
        co_return;
    }
    if (user_) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: already authenticated"));
        co_return;
    }
    if (state_ == State::mail || state_ == State::rcpt) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: MAIL transaction in progress"));
        co_return;
    }
    if (!auth_offered(client)) {
        // RFC 4954 4 / RFC 3207: no plaintext passwords over an unencrypted, non-local link.
        reply(Reply(538, EnhancedCode{5, 7, 11}, "Encryption required for requested authentication mechanism"));
        co_return;
    }
    auto fail_syntax = [&](sasl::SaslError e) {
        if (e == sasl::SaslError::cancelled) reply(Reply(501, EnhancedCode{5, 0, 0}, "Authentication cancelled"));
        else if (e == sasl::SaslError::bad_base64) reply(Reply(501, EnhancedCode{5, 5, 2}, "Cannot decode response"));
        else reply(Reply(501, EnhancedCode{5, 5, 2}, "Invalid authentication exchange"));
    };
    std::string authcid, password, authzid;
    if (auth.mechanism == sasl::Mechanism::plain) {
        std::string response;
        if (auth.initial_response) {
            response = *auth.initial_response;
        } else {
            reply(Reply(334, std::nullopt, ""));
            auto line = co_await read_sasl_line();
            if (!line) co_return;
            response = *line;
        }
        auto decoded = sasl::decode_plain_response(response);
        if (auto* e = std::get_if<sasl::SaslError>(&decoded)) co_return fail_syntax(*e);
        auto& credentials = std::get<sasl::PlainCredentials>(decoded);
        authzid = credentials.authzid;
        authcid = credentials.authcid;
        password = credentials.password;
    } else {
        std::string response;
        if (auth.initial_response) {
            response = *auth.initial_response;
        } else {
            reply(Reply(334, std::nullopt, std::string(sasl::login_challenge(sasl::LoginStep::username))));
            auto line = co_await read_sasl_line();
            if (!line) co_return;
            response = *line;
        }
        auto name = sasl::decode_login_response(response, sasl::LoginStep::username);
        if (auto* e = std::get_if<sasl::SaslError>(&name)) co_return fail_syntax(*e);
        authcid = std::get<std::string>(name);
        reply(Reply(334, std::nullopt, std::string(sasl::login_challenge(sasl::LoginStep::password))));
        auto line = co_await read_sasl_line();
        if (!line) co_return;
        auto pass = sasl::decode_login_response(*line, sasl::LoginStep::password);
        if (auto* e = std::get_if<sasl::SaslError>(&pass)) co_return fail_syntax(*e);
        password = std::get<std::string>(pass);
    }
    bool authz_ok = authzid.empty() || text::ascii_lowercase(authzid) == text::ascii_lowercase(authcid);
    auto user = co_await blocking([this, &authcid, &password] { return store_.authenticate(authcid, password); });
    if (!user || !authz_ok) {
        ++auth_failures_;
        spdlog::warn("{} authentication failed user={} mechanism={}", conn_->log_prefix(), printable(authcid, 64),
                     sasl::mechanism_name(auth.mechanism));
        // Slow down guessing: a growing delay per failure within the session.
        co_await pause(std::chrono::milliseconds(std::min(250u * auth_failures_, 3000u)));
        if (user && !authz_ok)
            reply(Reply(535, EnhancedCode{5, 7, 8}, "Authentication failed: authorization identity not permitted"));
        else
            reply(Reply(535, EnhancedCode{5, 7, 8}, "Authentication credentials invalid"));
        co_return;
    }
    user_ = *user;
    spdlog::info("{} authenticated user={} mechanism={}", conn_->log_prefix(), user_->address,
                 sasl::mechanism_name(auth.mechanism));
    reply(Reply(235, EnhancedCode{2, 7, 0}, "Authentication successful"));
}

}  // namespace

asio::awaitable<void> run_smtp_session(std::shared_ptr<net::Connection> connection, const SessionSettings& settings,
                                       storage::Store& store, net::BlockingPool& pool) {
    Session session(std::move(connection), settings, store, pool);
    co_await session.run();
}

}  // namespace hikyaku::smtp
