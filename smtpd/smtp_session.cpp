// smtp_session.cpp: the SMTP server state machine (see smtp_session.h), on the shared
// protocol-server layer (common/server/protocol_session.h).
//
// RFC 5321 3 and 4 (the protocol, replies and their order), 4.1.4 (EHLO resets a
// transaction), 4.5.3.2 (timeouts), 2.3.8 (CRLF in content; command lines also end at a bare
// LF, as Postfix and Dovecot accept, so netcat works); RFC 2920 (PIPELINING: replies are
// flushed when the client's input is drained), RFC 3030 (BDAT), RFC 3207 (STARTTLS and the
// state reset after it), RFC 4954 (AUTH), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531
// (SMTPUTF8), RFC 3463 (enhanced codes).
#include "smtpd/smtp_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "common/log.h"
#include "common/server/protocol_session.h"
#include "common/text/sasl.h"
#include "smtpd/data_reader.h"
#include "smtpd/smtp_command.h"
#include "smtpd/trace_headers.h"
#include "storage/message.h"

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

Reply bare_line_ending_refusal() {
    return Reply(554, EnhancedCode{5, 6, 0},
                 "Error: bare <CR> or <LF> in message content; lines end with <CR><LF> (RFC 5321 2.3.8; "
                 "with netcat use nc -C)");
}

// The states of RFC 5321's command sequence (4.1.4): a client must greet before MAIL,
// MAIL opens a transaction, at least one accepted RCPT allows DATA or BDAT.
enum class State : unsigned { fresh = 1, greeted = 2, mail = 4, rcpt = 8 };
constexpr unsigned any_state = 1 | 2 | 4 | 8;
constexpr unsigned after_greeting = 2 | 4 | 8;

class Session;
using Entry = server::CommandEntry<Session, Verb, Command>;

// A message arriving in BDAT chunks (RFC 3030): its decoder and where its bytes go.
struct BdatTransfer {
    std::unique_ptr<server::IncomingMessage> message;
    std::string stage;  // decoded bytes between the reader and the spool, one feed's worth
    std::unique_ptr<BdatReader> reader;
};

class Session final : public server::ProtocolSession {
public:
    Session(std::shared_ptr<net::Connection> conn, server::SessionEnvironment environment,
            const SessionSettings& settings)
        : ProtocolSession(std::move(conn), environment, "smtp"), s_(settings) {}

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
    // ---- the protocol-server layer's hooks -------------------------------------------
    void greet() override { reply(Reply(220, std::nullopt, s_.hostname + " ESMTP hikyaku")); }
    asio::awaitable<void> serve_command() override;
    void input_ended(net::ReadStatus why) override;
    void too_many_errors() override {
        reply(Reply(421, EnhancedCode{4, 7, 0}, s_.hostname + " Error: too many errors"));
    }
    void tls_started() override;
    void send_sasl_challenge(std::string_view base64) override { reply(Reply(334, std::nullopt, std::string(base64))); }
    std::chrono::milliseconds command_timeout() const override { return s_.command_timeout; }
    unsigned max_errors() const override { return s_.max_errors; }

    // The one writer of replies (STYLE 6); every 4xx and 5xx counts towards max_errors.
    void reply(const Reply& r) {
        if (r.code >= 400) count_error();
        send(format_reply(r), debug_logging() ? describe_reply(r) : std::string());
    }
    Reply wrong_sequence(Verb verb) const;
    void reset_transaction();
    ClientFacts facts() const { return {s_.role, connection().is_tls(), plaintext_allowed(), user_.has_value()}; }
    DataLimits content_limits() const;
    // The refusal for content that was read whole but must not be stored, if any.
    std::optional<Reply> content_refusal(const DataStats& stats) const;
    // A client that vanished or stalled in the middle of a message: nothing is stored.
    void message_cut_short(const char* what, net::ReadStatus status);
    asio::awaitable<void> deliver(server::IncomingMessage& message, const DataStats& stats);

    const SessionSettings& s_;
    State state_ = State::fresh;
    std::string helo_;
    bool esmtp_ = false;
    std::optional<storage::User> user_;
    bool bare_lf_client_ = false;  // the last command line ended with a bare LF (netcat)

    // The transaction (RFC 5321 3.3).
    std::string sender_;  // canonical; empty for "<>"
    BodyType body_ = BodyType::seven_bit;
    bool smtputf8_ = false;
    std::vector<storage::UserId> recipients_;
    std::vector<std::string> remote_recipients_;  // queued for deliverd (submission only)
    std::vector<std::string> recipient_addresses_;
    std::optional<BdatTransfer> bdat_;
};

const Entry dispatch_table[] = {
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
    remote_recipients_.clear();
    recipient_addresses_.clear();
    bdat_.reset();  // frees a half-received BDAT message at once
    if (state_ == State::mail || state_ == State::rcpt) state_ = State::greeted;
}

void Session::input_ended(net::ReadStatus why) {
    switch (why) {
        case net::ReadStatus::timeout:
            reply(Reply(421, EnhancedCode{4, 4, 2}, s_.hostname + " Error: timeout exceeded"));
            spdlog::info("{} timeout after {}", connection().log_prefix(),
                         state_ == State::fresh ? "CONNECT" : "command");
            break;
        case net::ReadStatus::shutdown:
            reply(Reply(421, EnhancedCode{4, 3, 2}, s_.hostname + " Service shutting down, closing connection"));
            break;
        default:
            spdlog::info("{} lost connection after {}", connection().log_prefix(),
                         state_ == State::fresh ? "CONNECT" : "command");
            break;
    }
}

asio::awaitable<void> Session::serve_command() {
    CommandLimits limits;
    limits.max_line_length = s_.max_line_length;
    // Read up to the AUTH limit; the parser applies the per-command limit (RFC 4954 4).
    std::optional<net::Line> line = co_await read_command_line(limits.max_auth_line_length - 2);
    if (!line) co_return;
    if (line->status == net::ReadStatus::too_long) {
        reply(Reply(500, EnhancedCode{5, 5, 2}, "Error: line too long"));
        if (ended()) reply(Reply(421, EnhancedCode{4, 7, 0}, s_.hostname + " closing: line far too long"));
        co_return;
    }
    bare_lf_client_ = line->bare_lf;
    auto parsed = parse_command(line->text, ParseContext{smtputf8_}, limits);
    if (auto* error = std::get_if<CommandError>(&parsed)) {
        reply(to_reply(*error));
        // A BDAT line we cannot parse leaves an unknown number of octets to come: the only
        // safe way on is to close (RFC 3030 2).
        if (error->verb == Verb::bdat) {
            reply(Reply(421, EnhancedCode{4, 5, 0}, s_.hostname + " closing: BDAT out of step"));
            end();
        }
        co_return;
    }
    const Command& command = std::get<Command>(parsed);
    const Entry* entry = server::find_command(dispatch_table, command.verb);
    const bool bdat_ok = command.verb == Verb::bdat || command.verb == Verb::rset || command.verb == Verb::quit ||
                         command.verb == Verb::noop;
    if (bdat_ && !bdat_ok) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: BDAT sequence in progress"));
    } else if (!entry) {
        reply(Reply(502, EnhancedCode{5, 5, 1}, "Error: command not implemented"));
    } else if (!entry->allowed_in(unsigned(state_))) {
        if (command.verb == Verb::mail && (state_ == State::mail || state_ == State::rcpt))
            reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: nested MAIL command"));
        else reply(wrong_sequence(command.verb));
    } else {
        co_await (this->*(entry->handler))(command);
    }
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
    std::vector<std::string> lines{s_.hostname + " greets " + printable(helo_, 64),
                                   "PIPELINING",
                                   "SIZE " + std::to_string(s_.max_message_size),
                                   "8BITMIME",
                                   "ENHANCEDSTATUSCODES",
                                   "SMTPUTF8",
                                   "CHUNKING"};
    if (connection().can_start_tls() && !connection().is_tls()) lines.push_back("STARTTLS");
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
        auto owned = co_await store().read([&] { return store()->addresses_of(user_id); });
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
        auto domains = co_await store().read([&] { return store()->list_domains(); });
        std::string domain = s_.hostname;
        if (domains && !domains->empty() &&
            std::find(domains->begin(), domains->end(), text::ascii_lowercase(s_.hostname)) == domains->end())
            domain = domains->front();
        address = "postmaster@" + domain;
    }
    std::string domain = address.substr(address.rfind('@') + 1);
    bool local = false;
    if (mailbox.domain_kind == text::DomainKind::name) {
        auto is_local = co_await store().read([&] { return store()->is_local_domain(domain); });
        if (!is_local) {
            reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
            co_return;
        }
        local = *is_local;
    }
    if (!local) {
        if (mailbox.domain_kind != text::DomainKind::name || !relay_allowed(facts())) {
            spdlog::info("{} relay refused to=<{}>", connection().log_prefix(), printable(address));
            reply(relay_refused(facts(), address));
            co_return;
        }
        // Submission: queued for the delivery agent with the message (storage/queue.h).
        if (!storage::validate_address(address)) {
            reply(Reply(553, EnhancedCode{5, 1, 3}, "<" + address + ">: Recipient address not supported for relaying"));
            co_return;
        }
        if (std::find(remote_recipients_.begin(), remote_recipients_.end(), address) == remote_recipients_.end())
            remote_recipients_.push_back(address);
        recipient_addresses_.push_back(address);
        state_ = State::rcpt;
        reply(Reply(250, EnhancedCode{2, 1, 5}, "Ok"));
        co_return;
    }
    auto users = co_await store().read([&] { return store()->resolve_recipient(address); });
    if (!users) {
        // A valid RFC 5321 path that no local user can have (a quoted "@", a '%') is as
        // unknown as any other name.
        if (users.error().code == Errc::not_found || users.error().code == Errc::invalid_argument)
            reply(Reply(550, EnhancedCode{5, 1, 1}, "<" + address + ">: Recipient address rejected: User unknown"));
        else reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
        co_return;
    }
    for (auto& user : *users) storage::add_unique_recipient(recipients_, user.id);
    recipient_addresses_.push_back(address);
    state_ = State::rcpt;
    reply(Reply(250, EnhancedCode{2, 1, 5}, "Ok"));
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
    end();
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

void Session::message_cut_short(const char* what, net::ReadStatus status) {
    // A client that vanishes (or stalls) mid-message: nothing is stored.
    spdlog::info("{} {} ended early ({}); nothing stored", connection().log_prefix(), what, net::to_string(status));
    input_ended(status);
    end();
}

asio::awaitable<void> Session::on_data(const Command&) {
    // A client that ends its lines with a bare LF (netcat without -C) would never end DATA,
    // which only CRLF.CRLF ends (SMTP smuggling): tell it how before it starts.
    reply(Reply(354, std::nullopt,
                bare_lf_client_
                    ? "End data with <CR><LF>.<CR><LF> (your lines end with a bare <LF>: with netcat use nc -C)"
                    : "End data with <CR><LF>.<CR><LF>"));
    const bool sent = co_await flush();
    if (!sent) {
        end();
        co_return;
    }
    auto message = environment().spool.begin(kTraceHeaderAllowance);
    std::string stage;  // one feed's decoded bytes on their way to the spool
    DataReader reader(stage, content_limits());
    connection().set_timeout(s_.data_timeout);  // RFC 5321 4.5.3.2.5: per data block
    for (;;) {
        auto fed = reader.feed(connection().buffered());
        connection().consume(fed.consumed);
        message->append(stage);
        stage.clear();
        if (fed.status != DataStatus::need_more) break;
        const net::ReadStatus status = co_await connection().fill();
        if (status != net::ReadStatus::ok) {
            message_cut_short("DATA", status);
            co_return;
        }
    }
    const DataStats& stats = reader.stats();
    const DataStatus verdict = reader.status();
    const std::optional<Reply> refusal = content_refusal(stats);
    if (verdict == DataStatus::too_big) {
        reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
    } else if (verdict == DataStatus::bare_line_ending) {
        reply(bare_line_ending_refusal());
    } else if (refusal) {
        reply(*refusal);
    } else {
        co_await deliver(*message, stats);
    }
    if (verdict != DataStatus::complete || stats.nul)
        spdlog::info("{} message refused: {}", connection().log_prefix(), to_string(verdict));
    reset_transaction();
}

asio::awaitable<void> Session::on_bdat(const Command& c) {
    const BdatCommand& bdat = *c.bdat();
    if (bdat.size > s_.max_message_size) {
        // Reading (and discarding) an absurd chunk would let one client hold the session for
        // as long as it likes; the chunk cannot be skipped without reading it, so close.
        reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
        reply(Reply(421, EnhancedCode{4, 7, 0}, s_.hostname + " closing: BDAT chunk too large"));
        end();
        co_return;
    }
    // The chunk is read whatever happens next, so the stream stays in step (RFC 3030 2); out
    // of sequence it is read and dropped, never kept.
    const bool usable = state_ == State::rcpt;
    if (!bdat_) {
        bdat_.emplace();
        bdat_->message = environment().spool.begin(kTraceHeaderAllowance);
        bdat_->reader = std::make_unique<BdatReader>(bdat_->stage, content_limits());
    }
    bdat_->reader->begin_chunk(bdat.size, bdat.last);
    connection().set_timeout(s_.data_timeout);
    BdatStatus status = BdatStatus::need_more;
    for (;;) {
        auto fed = bdat_->reader->feed(connection().buffered());
        connection().consume(fed.consumed);
        if (usable) bdat_->message->append(bdat_->stage);
        bdat_->stage.clear();
        status = fed.status;
        if (status != BdatStatus::need_more) break;
        const net::ReadStatus read = co_await connection().fill();
        if (read != net::ReadStatus::ok) {
            message_cut_short("BDAT", read);
            co_return;
        }
    }
    if (!usable) {
        bdat_.reset();
        reply(wrong_sequence(Verb::bdat));
        co_return;
    }
    const std::optional<Reply> refusal = content_refusal(bdat_->reader->stats());
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
            else co_await deliver(*bdat_->message, bdat_->reader->stats());
            break;
        case BdatStatus::need_more: break;
    }
    // An error ends the message: RFC 3030 3 says the rest of its chunks are refused too,
    // which the reset gives (no transaction: 503 for the next BDAT).
    reset_transaction();
}

DataLimits Session::content_limits() const {
    DataLimits limits;
    limits.max_message_size = s_.max_message_size;
    limits.bare_line_endings =
        s_.bare_linefeed == BareLinefeedPolicy::reject ? BareLineEndingPolicy::reject : BareLineEndingPolicy::normalize;
    return limits;
}

std::optional<Reply> Session::content_refusal(const DataStats& stats) const {
    if (stats.nul) return Reply(554, EnhancedCode{5, 6, 0}, "Error: NUL octets are not allowed in message content");
    // 8-bit content without BODY=8BITMIME is accepted, as Postfix does: most senders never
    // declare it (Python's smtplib among them); deliver() logs it.
    return std::nullopt;
}

asio::awaitable<void> Session::deliver(server::IncomingMessage& message, const DataStats& stats) {
    auto content = message.finish();
    if (!content) {
        // The spool's budget for messages in flight is used up, or its disk failed.
        spdlog::warn("{} message not kept: {}", connection().log_prefix(), content.error().message);
        reply(Reply(452, EnhancedCode{4, 3, 1}, "Error: insufficient system storage, try again later"));
        co_return;
    }
    auto now = std::chrono::system_clock::now();
    std::string id =
        fmt::format("{:x}{:06x}", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
                    next_message_number++ & 0xffffff);
    ReceivedInfo info;
    info.helo = helo_;
    info.peer_address = connection().peer_address();
    info.hostname = s_.hostname;
    info.esmtp = esmtp_;
    info.smtputf8 = smtputf8_;
    if (connection().is_tls()) {
        info.tls_version = connection().tls_version();
        info.tls_cipher = connection().tls_cipher();
    }
    if (user_) info.authenticated = user_->address;
    info.id = id;
    if (recipient_addresses_.size() == 1) info.single_recipient = recipient_addresses_.front();
    info.when = now;
    std::string headers = return_path_header(sender_) + received_header(info);
    if (s_.role != Role::inbound) {
        // RFC 6409 8.2, 8.3: a submission server may add what the client left out.
        if (!has_header_field(*content, "Date")) headers += "Date: " + rfc5322_date(now) + "\r\n";
        if (!has_header_field(*content, "Message-ID"))
            headers += "Message-ID: <" + id + "." + std::to_string(connection().id()) + "@" + s_.hostname + ">\r\n";
    }
    auto whole = message.prepend(headers);
    if (!whole) {
        spdlog::error("{} id={} cannot add trace headers: {}", connection().log_prefix(), id, whole.error().message);
        reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
        co_return;
    }
    if (stats.eight_bit && body_ == BodyType::seven_bit && !smtputf8_)
        spdlog::info("{} id={} 8-bit content without BODY=8BITMIME accepted", connection().log_prefix(), id);
    const auto internal_date =
        storage::TimePoint(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()));
    // Local recipients and the queue entries of remote ones: one transaction (storage/queue.h).
    storage::OutboundEnvelope outbound{sender_, remote_recipients_};
    auto receipt = co_await store().submit(*whole, recipients_, outbound, internal_date);
    std::string to;
    for (auto& r : recipient_addresses_) to += (to.empty() ? "<" : ",<") + printable(r) + ">";
    if (!receipt) {
        spdlog::warn("{} id={} from=<{}> to={} size={} status=refused ({})", connection().log_prefix(), id,
                     printable(sender_), to, whole->size(), receipt.error().message);
        switch (receipt.error().code) {
            case Errc::over_quota: reply(Reply(552, EnhancedCode{5, 2, 2}, "Error: " + receipt.error().message)); break;
            case Errc::too_big:
                reply(Reply(552, EnhancedCode{5, 3, 4}, "Error: message size exceeds fixed limit"));
                break;
            default: reply(Reply(451, EnhancedCode{4, 3, 0}, "Error: temporary local problem, try again later"));
        }
        co_return;
    }
    spdlog::info("{} id={} from=<{}> to={} size={} status={} message={}{}", connection().log_prefix(), id,
                 printable(sender_), to, whole->size(), receipt->queued.empty() ? "delivered" : "queued",
                 receipt->message, message.on_disk() ? " spooled=yes" : "");
    reply(Reply(250, EnhancedCode{2, 0, 0}, "Ok: queued as " + id));
}

asio::awaitable<void> Session::on_starttls(const Command&) {
    if (connection().is_tls()) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: TLS already active"));
    } else if (!connection().can_start_tls()) {
        reply(Reply(454, EnhancedCode{4, 7, 0}, "TLS not available"));
    } else if (state_ == State::mail || state_ == State::rcpt) {
        reply(Reply(503, EnhancedCode{5, 5, 1}, "Error: MAIL transaction in progress"));
    } else {
        reply(Reply(220, EnhancedCode{2, 0, 0}, "Ready to start TLS"));
        start_tls_after_reply();  // the layer flushes this reply, then runs the handshake
    }
    co_return;
}

void Session::tls_started() {
    // RFC 3207 4.2: forget everything learned before the handshake.
    reset_transaction();
    state_ = State::fresh;
    helo_.clear();
    esmtp_ = false;
    user_.reset();
}

asio::awaitable<void> Session::on_auth(const Command& c) {
    const AuthCommand& auth = *c.auth();
    const ClientFacts client = facts();
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
    server::SaslResult sasl = co_await sasl_exchange(auth.mechanism, auth.initial_response);
    using Status = server::SaslResult::Status;
    switch (sasl.status) {
        case Status::ok: break;
        case Status::ended: co_return;
        case Status::cancelled: reply(Reply(501, EnhancedCode{5, 0, 0}, "Authentication cancelled")); co_return;
        case Status::bad_base64: reply(Reply(501, EnhancedCode{5, 5, 2}, "Cannot decode response")); co_return;
        default: reply(Reply(501, EnhancedCode{5, 5, 2}, "Invalid authentication exchange")); co_return;
    }
    const char* mechanism = sasl::mechanism_name(auth.mechanism);
    server::LoginResult result = co_await log_in(mechanism, sasl.authcid, sasl.password, sasl.authzid);
    if (result.outcome == server::LoginOutcome::unavailable) {
        reply(Reply(454, EnhancedCode{4, 7, 0}, "Temporary authentication failure"));  // RFC 4954 6
        co_return;
    }
    if (result.outcome == server::LoginOutcome::refused) {
        // The same words whether the user is unknown, the password wrong or the authzid refused.
        reply(Reply(535, EnhancedCode{5, 7, 8}, "Authentication credentials invalid"));
        co_return;
    }
    user_ = std::move(result.user);
    spdlog::info("{} authenticated user={} mechanism={}", connection().log_prefix(), user_->address, mechanism);
    reply(Reply(235, EnhancedCode{2, 7, 0}, "Authentication successful"));
}

}  // namespace

asio::awaitable<void> run_smtp_session(std::shared_ptr<net::Connection> connection, const SessionSettings& settings,
                                       server::SessionEnvironment environment) {
    Session session(std::move(connection), environment, settings);
    co_await session.run();
}

}  // namespace hikyaku::smtp
