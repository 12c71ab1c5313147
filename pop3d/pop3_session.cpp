// pop3_session.cpp: the POP3 server state machine (see pop3_session.h), on the shared
// protocol-server layer (common/server/protocol_session.h).
//
// RFC 1939 3 (states, autologout, multi-line responses, byte-stuffing), 4-6 (AUTHORIZATION,
// TRANSACTION, UPDATE), 7 (TOP, UIDL, USER/PASS; APOP is refused); RFC 2449 (CAPA, response
// codes, PIPELINING: replies are flushed when the client's input is drained); RFC 2595 4
// (STLS and the state reset after it); RFC 3206 ([SYS/*], [AUTH]); RFC 5034 (AUTH with
// initial response, continuations, "*" cancels).
#include "pop3d/pop3_session.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/server/protocol_session.h"
#include "pop3d/pop3_command.h"
#include "pop3d/pop3_reply.h"

namespace hikyaku::pop3 {

namespace asio = boost::asio;

SessionSettings SessionSettings::from(const Config& config, Role role) {
    SessionSettings s;
    s.role = role;
    s.autologout = config.pop3d.autologout;
    return s;
}

namespace {

// A session ends after this many failed logins; the client must reconnect (and the
// process's login throttle still applies to it).
constexpr unsigned kMaxLoginFailures = 3;

// RFC 1939 3: AUTHORIZATION until the client identifies itself, TRANSACTION with the
// maildrop locked, UPDATE after QUIT while the marked messages are removed.
enum class State : unsigned { authorization = 1, transaction = 2, update = 4 };
constexpr unsigned authorization = unsigned(State::authorization);
constexpr unsigned transaction = unsigned(State::transaction);

const char* state_name(State s) {
    switch (s) {
        case State::authorization: return "AUTHORIZATION";
        case State::transaction: return "TRANSACTION";
        case State::update: return "UPDATE";
    }
    return "?";
}

// One message of the maildrop as it stood at login (RFC 1939 5: numbers never change within
// a session; "deleted" is the DELE mark, undone by RSET).
struct MaildropMessage {
    storage::Uid uid = 0;
    std::uint64_t size = 0;  // octets RETR sends before byte-stuffing (CRLF lines as stored)
    bool deleted = false;
};

struct Maildrop {
    storage::MailboxId mailbox = 0;
    std::uint32_t uidvalidity = 0;
    std::vector<MaildropMessage> messages;
};

// RFC 1939 7 UIDL: 1 to 70 characters in 0x21-0x7E, unique and stable. UIDVALIDITY and UID
// together name one message of INBOX for ever (RFC 9051 2.3.1.1), so their hex pair is one.
// "1 message", "2 messages": the counts in replies read as English.
std::string messages(std::size_t n) { return std::to_string(n) + (n == 1 ? " message" : " messages"); }

std::string unique_id(std::uint32_t uidvalidity, storage::Uid uid) {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "%08x%08x", uidvalidity, uid);
    return buffer;
}

// TOP (RFC 1939 7) over a message read in chunks: where the excerpt (headers, the blank line,
// then `lines` body lines) ends. Gives the same cut as top_excerpt() over the whole message.
class TopCutter {
public:
    explicit TopCutter(std::uint64_t lines) : remaining_(lines) {}
    // How many octets of `chunk` belong to the excerpt; done() tells whether it ended there.
    std::size_t take(std::string_view chunk) {
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            const char c = chunk[i];
            if (c != '\n') {
                only_cr_ = line_length_ == 0 && c == '\r';
                ++line_length_;
                continue;
            }
            const bool blank = line_length_ == 0 || (line_length_ == 1 && only_cr_);
            line_length_ = 0;
            only_cr_ = false;
            if (in_header_) {
                if (blank) in_header_ = false;
                else continue;
            } else {
                --remaining_;
            }
            if (remaining_ == 0 && !in_header_) {
                done_ = true;
                return i + 1;
            }
        }
        return chunk.size();
    }
    bool done() const { return done_; }

private:
    std::uint64_t remaining_;
    bool in_header_ = true;
    bool done_ = false;
    std::size_t line_length_ = 0;
    bool only_cr_ = false;
};

class Session;
using Entry = server::CommandEntry<Session, Verb, Command>;

class Session final : public server::ProtocolSession {
public:
    Session(std::shared_ptr<net::Connection> conn, server::SessionEnvironment environment,
            const SessionSettings& settings)
        : ProtocolSession(std::move(conn), environment, "pop3"), s_(settings) {}

    // One handler per command (STYLE 5).
    asio::awaitable<void> on_user(const Command& c);
    asio::awaitable<void> on_pass(const Command& c);
    asio::awaitable<void> on_apop(const Command& c);
    asio::awaitable<void> on_auth(const Command& c);
    asio::awaitable<void> on_stls(const Command& c);
    asio::awaitable<void> on_capa(const Command& c);
    asio::awaitable<void> on_stat(const Command& c);
    asio::awaitable<void> on_list(const Command& c);
    asio::awaitable<void> on_uidl(const Command& c);
    asio::awaitable<void> on_retr(const Command& c);
    asio::awaitable<void> on_top(const Command& c);
    asio::awaitable<void> on_dele(const Command& c);
    asio::awaitable<void> on_noop(const Command& c);
    asio::awaitable<void> on_rset(const Command& c);
    asio::awaitable<void> on_quit(const Command& c);

private:
    // ---- the protocol-server layer's hooks -------------------------------------------
    void greet() override { reply(Reply::positive("hikyaku POP3 server ready")); }
    asio::awaitable<void> serve_command() override;
    void input_ended(net::ReadStatus why) override;
    void too_many_errors() override { reply(Reply::negative("Too many bad commands; closing")); }
    void tls_started() override { user_name_.clear(); }  // RFC 2595 4: forget what came before
    void send_sasl_challenge(std::string_view base64) override { send(format_continuation(base64)); }
    std::chrono::milliseconds command_timeout() const override { return s_.autologout; }
    unsigned max_errors() const override { return s_.max_bad_commands; }
    asio::awaitable<void> finish() override;
    void release_maildrop();

    // The one writer of status lines: formats, queues and logs (STYLE 6).
    void reply(const Reply& r) { send(format_reply(r)); }
    void reply_multiline(const Reply& status, const std::vector<std::string>& lines);
    ClientFacts facts() const {
        return {connection().is_tls(), connection().can_start_tls() && !connection().is_tls(), plaintext_allowed(),
                state_ != State::authorization};
    }
    // Checks credentials, locks and snapshots the maildrop, enters TRANSACTION.
    asio::awaitable<void> login(const std::string& address, const std::string& password, std::string_view mechanism,
                                const std::string& authzid = {});
    asio::awaitable<void> open_maildrop(const storage::User& user, std::string_view mechanism);
    // The message numbered `number`, or the -ERR to send (no such message, or marked deleted).
    MaildropMessage* message(std::uint32_t number, std::optional<Reply>& error);
    // Streams the first `limit` octets (all when nullopt) or a TOP excerpt of a message.
    asio::awaitable<void> send_message(std::uint32_t number, const MaildropMessage& m,
                                       std::optional<std::uint64_t> top_lines);
    std::pair<std::size_t, std::uint64_t> live_totals() const;

    const SessionSettings& s_;
    State state_ = State::authorization;
    std::string user_name_;  // from USER, until PASS
    std::optional<storage::User> user_;
    std::unique_ptr<storage::MaildropLock> lock_;
    Maildrop maildrop_;
    unsigned login_failures_ = 0;
    unsigned retrieved_ = 0;
};

const Entry dispatch_table[] = {
    {Verb::user, authorization, &Session::on_user},
    {Verb::pass, authorization, &Session::on_pass},
    {Verb::apop, authorization, &Session::on_apop},
    {Verb::auth, authorization, &Session::on_auth},
    {Verb::stls, authorization, &Session::on_stls},
    {Verb::capa, authorization | transaction, &Session::on_capa},
    {Verb::quit, authorization | transaction, &Session::on_quit},
    {Verb::stat, transaction, &Session::on_stat},
    {Verb::list, transaction, &Session::on_list},
    {Verb::uidl, transaction, &Session::on_uidl},
    {Verb::retr, transaction, &Session::on_retr},
    {Verb::top, transaction, &Session::on_top},
    {Verb::dele, transaction, &Session::on_dele},
    {Verb::noop, transaction, &Session::on_noop},
    {Verb::rset, transaction, &Session::on_rset},
};

void Session::reply_multiline(const Reply& status, const std::vector<std::string>& lines) {
    std::string text = format_multiline(status, lines);
    std::string_view first = std::string_view(text).substr(0, text.find("\r\n"));
    send(text, debug_logging() ? std::string(first) + " (+" + std::to_string(lines.size()) + " lines)" : std::string());
}

void Session::input_ended(net::ReadStatus why) {
    const char* kept = state_ == State::transaction ? " (nothing deleted)" : "";
    switch (why) {
        case net::ReadStatus::timeout:
            // RFC 1939 3: the autologout timer closes without entering UPDATE.
            reply(Reply::negative("Autologout; idle for too long"));
            spdlog::info("{} autologout in {} state{}", connection().log_prefix(), state_name(state_), kept);
            break;
        case net::ReadStatus::shutdown:
            reply(Reply::negative("Server shutting down", ResponseCode::sys_temp));
            spdlog::info("{} shutdown in {} state{}", connection().log_prefix(), state_name(state_), kept);
            break;
        default:
            spdlog::info("{} disconnected in {} state{}", connection().log_prefix(), state_name(state_), kept);
            break;
    }
}

asio::awaitable<void> Session::serve_command() {
    // RFC 2449 4 says 255 octets; we take up to 512 (with CRLF) so that USER with a long
    // address fits, as Dovecot does.
    std::optional<net::Line> line = co_await read_command_line(s_.max_line_length - 2);
    if (!line) co_return;
    if (line->status == net::ReadStatus::too_long) {
        send(format_reply(Reply::negative("Line too long")));
        co_return;
    }
    CommandLimits limits;
    limits.max_line_length = s_.max_line_length;
    limits.max_argument_length = s_.max_argument_length;
    auto parsed = parse_command(line->text, limits);
    if (auto* error = std::get_if<CommandError>(&parsed)) {
        count_error();
        reply(to_reply(*error));
        co_return;
    }
    const Command& command = std::get<Command>(parsed);
    const Entry* entry = server::find_command(dispatch_table, command.verb);
    if (!entry || !entry->allowed_in(unsigned(state_))) {
        count_error();
        reply(
            Reply::negative(std::string(verb_name(command.verb)) + " not allowed in " + state_name(state_) + " state"));
        co_return;
    }
    co_await (this->*(entry->handler))(command);
}

void Session::release_maildrop() {
    if (lock_) {
        spdlog::info("{} maildrop of {} released", connection().log_prefix(), user_->address);
        lock_.reset();
    }
}

asio::awaitable<void> Session::finish() {
    release_maildrop();
    co_return;
}

// ---- AUTHORIZATION ------------------------------------------------------------------

asio::awaitable<void> Session::on_user(const Command& c) {
    if (!plaintext_auth_allowed(facts())) {
        reply(plaintext_auth_refused(facts()));
        co_return;
    }
    // RFC 1939 7 allows -ERR for an unknown name; we always say +OK so none is revealed.
    user_name_ = c.argument;
    reply(Reply::positive("Send PASS"));
}

asio::awaitable<void> Session::on_pass(const Command& c) {
    if (!plaintext_auth_allowed(facts())) {
        reply(plaintext_auth_refused(facts()));
        co_return;
    }
    if (user_name_.empty()) {
        reply(Reply::negative("No user name given; send USER first"));
        co_return;
    }
    std::string name = std::move(user_name_);
    user_name_.clear();
    co_await login(name, c.argument, "USER");
}

asio::awaitable<void> Session::on_apop(const Command&) {
    // APOP needs every password in plaintext on the server; hikyaku stores only hashes.
    reply(Reply::negative("APOP is not supported; use USER/PASS or AUTH", ResponseCode::auth));
    co_return;
}

asio::awaitable<void> Session::on_auth(const Command& c) {
    if (!plaintext_auth_allowed(facts())) {
        reply(plaintext_auth_refused(facts()));
        co_return;
    }
    user_name_.clear();
    if (!c.mechanism) {
        // Bare AUTH lists the mechanisms (RFC 1734 clients ask this way).
        reply_multiline(Reply::positive("Supported mechanisms follow"), {"PLAIN", "LOGIN"});
        co_return;
    }
    server::SaslResult sasl = co_await sasl_exchange(*c.mechanism, c.initial_response);
    using Status = server::SaslResult::Status;
    switch (sasl.status) {
        case Status::ok: break;
        case Status::ended: co_return;
        case Status::cancelled: reply(Reply::negative("Authentication cancelled")); co_return;
        default: reply(Reply::negative("Invalid authentication exchange")); co_return;
    }
    co_await login(sasl.authcid, sasl.password, sasl::mechanism_name(*c.mechanism), sasl.authzid);
}

asio::awaitable<void> Session::login(const std::string& address, const std::string& password,
                                     std::string_view mechanism, const std::string& authzid) {
    server::LoginResult result = co_await log_in(mechanism, address, password, authzid);
    if (result.outcome == server::LoginOutcome::unavailable) {
        reply(Reply::negative("Temporary problem, try again later", ResponseCode::sys_temp));
        co_return;
    }
    if (result.outcome == server::LoginOutcome::refused) {
        ++login_failures_;
        // The same words for an unknown user and a wrong password (the delay was applied).
        reply(Reply::negative("Authentication failed", ResponseCode::auth));
        if (login_failures_ >= kMaxLoginFailures) {
            reply(Reply::negative("Too many failed logins; closing"));
            end();
        }
        co_return;
    }
    co_await open_maildrop(*result.user, mechanism);
}

asio::awaitable<void> Session::open_maildrop(const storage::User& user, std::string_view mechanism) {
    const storage::UserId id = user.id;
    auto lock = co_await store().read([&] { return store()->lock_maildrop(id); });
    if (!lock) {
        if (lock.error().code == Errc::busy) {
            spdlog::info("{} maildrop of {} in use", connection().log_prefix(), user.address);
            reply(Reply::negative("Maildrop is locked by another POP3 session", ResponseCode::in_use));
        } else {
            spdlog::error("{} lock maildrop of {}: {}", connection().log_prefix(), user.address, lock.error().message);
            reply(Reply::negative("Cannot open the maildrop, try again later", ResponseCode::sys_temp));
        }
        co_return;
    }
    auto snapshot = co_await store().read([&]() -> Result<Maildrop> {
        auto inbox = store()->inbox(id);
        if (!inbox) return inbox.error();
        const storage::UidRange all[] = {storage::UidRange{}};
        auto entries = store()->fetch_entries(inbox->id, all);
        if (!entries) return entries.error();
        Maildrop drop;
        drop.mailbox = inbox->id;
        drop.uidvalidity = inbox->uidvalidity;
        drop.messages.reserve(entries->size());
        for (const auto& e : *entries) drop.messages.push_back(MaildropMessage{e.uid, e.size, false});
        return drop;
    });
    if (!snapshot) {
        spdlog::error("{} open maildrop of {}: {}", connection().log_prefix(), user.address, snapshot.error().message);
        reply(Reply::negative("Cannot open the maildrop, try again later", ResponseCode::sys_temp));
        co_return;
    }
    lock_ = std::move(*lock);
    maildrop_ = std::move(*snapshot);
    user_ = user;
    state_ = State::transaction;
    auto [count, size] = live_totals();
    spdlog::info("{} login user={} mechanism={} tls={} messages={} size={}", connection().log_prefix(), user_->address,
                 mechanism, connection().is_tls() ? "yes" : "no", count, size);
    reply(Reply::positive("Logged in; maildrop has " + messages(count) + " (" + std::to_string(size) + " octets)"));
}

asio::awaitable<void> Session::on_stls(const Command&) {
    if (connection().is_tls()) reply(Reply::negative("Command not permitted when TLS is active"));
    else if (!connection().can_start_tls()) reply(Reply::negative("TLS is not available", ResponseCode::sys_perm));
    else {
        reply(Reply::positive("Begin TLS negotiation"));
        start_tls_after_reply();
    }
    co_return;
}

asio::awaitable<void> Session::on_capa(const Command&) {
    reply_multiline(Reply::positive("Capability list follows"), capabilities(facts()));
    co_return;
}

asio::awaitable<void> Session::on_quit(const Command&) {
    end();
    if (state_ == State::authorization) {
        reply(Reply::positive("hikyaku POP3 server signing off"));
        co_return;
    }
    // RFC 1939 6: UPDATE removes the marked messages; one store call, all or none.
    state_ = State::update;
    std::vector<storage::Uid> marked;
    for (const auto& m : maildrop_.messages)
        if (m.deleted) marked.push_back(m.uid);
    std::size_t removed = 0;
    if (!marked.empty()) {
        auto result = co_await store().expunge(maildrop_.mailbox, marked);
        if (!result) {
            spdlog::error("{} UPDATE for {} failed: {}", connection().log_prefix(), user_->address,
                          result.error().message);
            release_maildrop();
            reply(Reply::negative("Some deleted messages not removed", ResponseCode::sys_temp));
            co_return;
        }
        removed = result->expunged.size();
    }
    // RFC 1939 6: UPDATE releases the maildrop before the reply, so a client that logs in
    // again as soon as it reads the +OK finds it free (not [IN-USE]).
    release_maildrop();
    auto [left, size] = live_totals();
    spdlog::info("{} logout user={} retrieved={} deleted={} left={}", connection().log_prefix(), user_->address,
                 retrieved_, removed, left);
    reply(Reply::positive("hikyaku POP3 server signing off (" + messages(marked.size()) + " deleted, " +
                          std::to_string(left) + " left)"));
    (void)size;
}

// ---- TRANSACTION --------------------------------------------------------------------

std::pair<std::size_t, std::uint64_t> Session::live_totals() const {
    std::size_t count = 0;
    std::uint64_t size = 0;
    for (const auto& m : maildrop_.messages)
        if (!m.deleted) {
            ++count;
            size += m.size;
        }
    return {count, size};
}

MaildropMessage* Session::message(std::uint32_t number, std::optional<Reply>& error) {
    if (number == 0 || number > maildrop_.messages.size()) {
        error = Reply::negative("No such message; maildrop has " + messages(maildrop_.messages.size()));
        return nullptr;
    }
    MaildropMessage& m = maildrop_.messages[number - 1];
    if (m.deleted) {
        error = Reply::negative("Message " + std::to_string(number) + " already deleted");
        return nullptr;
    }
    return &m;
}

asio::awaitable<void> Session::on_stat(const Command&) {
    auto [count, size] = live_totals();
    reply(Reply::positive(std::to_string(count) + " " + std::to_string(size)));
    co_return;
}

asio::awaitable<void> Session::on_list(const Command& c) {
    if (c.message) {
        std::optional<Reply> error;
        const MaildropMessage* m = message(*c.message, error);
        if (!m) co_return reply(*error);
        reply(Reply::positive(std::to_string(*c.message) + " " + std::to_string(m->size)));
        co_return;
    }
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < maildrop_.messages.size(); ++i)
        if (!maildrop_.messages[i].deleted)
            lines.push_back(std::to_string(i + 1) + " " + std::to_string(maildrop_.messages[i].size));
    auto [count, size] = live_totals();
    reply_multiline(Reply::positive(messages(count) + " (" + std::to_string(size) + " octets)"), lines);
}

asio::awaitable<void> Session::on_uidl(const Command& c) {
    if (c.message) {
        std::optional<Reply> error;
        const MaildropMessage* m = message(*c.message, error);
        if (!m) co_return reply(*error);
        reply(Reply::positive(std::to_string(*c.message) + " " + unique_id(maildrop_.uidvalidity, m->uid)));
        co_return;
    }
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < maildrop_.messages.size(); ++i)
        if (!maildrop_.messages[i].deleted)
            lines.push_back(std::to_string(i + 1) + " " + unique_id(maildrop_.uidvalidity, maildrop_.messages[i].uid));
    reply_multiline(Reply::positive("Unique-ID listing follows"), lines);
}

asio::awaitable<void> Session::on_retr(const Command& c) {
    std::optional<Reply> error;
    const MaildropMessage* m = message(*c.message, error);
    if (!m) co_return reply(*error);
    co_await send_message(*c.message, *m, std::nullopt);
}

asio::awaitable<void> Session::on_top(const Command& c) {
    std::optional<Reply> error;
    const MaildropMessage* m = message(*c.message, error);
    if (!m) co_return reply(*error);
    co_await send_message(*c.message, *m, c.lines);
}

asio::awaitable<void> Session::send_message(std::uint32_t number, const MaildropMessage& m,
                                            std::optional<std::uint64_t> top_lines) {
    const storage::MailboxId mailbox = maildrop_.mailbox;
    const storage::Uid uid = m.uid;
    const std::size_t chunk_size = s_.retr_chunk_size;
    std::uint64_t offset = 0;
    auto read_chunk = [&] { return store()->read_message_chunk(mailbox, uid, offset, chunk_size); };
    // The first chunk decides between +OK and -ERR; after +OK the only way out of a failure
    // is to close, since a multi-line response cannot be taken back.
    auto chunk = co_await store().read(read_chunk);
    if (!chunk) {
        if (chunk.error().code == Errc::not_found) {
            reply(Reply::negative("Message " + std::to_string(number) + " was removed by another session",
                                  ResponseCode::sys_perm));
        } else {
            spdlog::error("{} read message uid={}: {}", connection().log_prefix(), uid, chunk.error().message);
            reply(Reply::negative("Cannot read the message, try again later", ResponseCode::sys_temp));
        }
        co_return;
    }
    reply(top_lines ? Reply::positive("Top of message follows") : Reply::positive(std::to_string(m.size) + " octets"));
    std::optional<TopCutter> cutter;
    if (top_lines) cutter.emplace(*top_lines);
    DotStuffer stuffer;
    for (;;) {
        std::string_view piece = *chunk;
        if (cutter) piece = piece.substr(0, cutter->take(piece));
        std::string& out = connection().pending_output_buffer();
        out.reserve(out.size() + piece.size() + piece.size() / 32 + 5);
        stuffer.append(out, piece);
        offset += chunk->size();
        const bool last = chunk->size() < chunk_size || offset >= m.size || (cutter && cutter->done());
        if (last) break;
        // Send what we have before reading on, so a session holds about one chunk at a time.
        const bool sent = co_await flush();
        if (!sent) {
            end();
            co_return;
        }
        chunk = co_await store().read(read_chunk);
        if (!chunk) {
            spdlog::error("{} message uid={} unreadable at offset {}: {}; closing", connection().log_prefix(), uid,
                          offset, chunk.error().message);
            end();
            co_return;
        }
        if (chunk->empty()) break;
    }
    stuffer.finish(connection().pending_output_buffer());
    if (!top_lines) ++retrieved_;
}

asio::awaitable<void> Session::on_dele(const Command& c) {
    std::optional<Reply> error;
    MaildropMessage* m = message(*c.message, error);
    if (!m) co_return reply(*error);
    m->deleted = true;  // RFC 1939 5: only marked; UPDATE removes it
    reply(Reply::positive("Message " + std::to_string(*c.message) + " deleted"));
}

asio::awaitable<void> Session::on_noop(const Command&) {
    reply(Reply::positive(""));
    co_return;
}

asio::awaitable<void> Session::on_rset(const Command&) {
    for (auto& m : maildrop_.messages) m.deleted = false;
    auto [count, size] = live_totals();
    reply(Reply::positive("Maildrop has " + messages(count) + " (" + std::to_string(size) + " octets)"));
    co_return;
}

}  // namespace

asio::awaitable<void> run_pop3_session(std::shared_ptr<net::Connection> connection, const SessionSettings& settings,
                                       server::SessionEnvironment environment) {
    Session session(std::move(connection), environment, settings);
    co_await session.run();
}

}  // namespace hikyaku::pop3
