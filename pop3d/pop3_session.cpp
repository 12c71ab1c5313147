// pop3_session.cpp: the POP3 server state machine (see pop3_session.h).
//
// RFC 1939 3 (states, autologout, multi-line responses, byte-stuffing), 4-6 (AUTHORIZATION,
// TRANSACTION, UPDATE), 7 (TOP, UIDL, USER/PASS; APOP is refused); RFC 2449 (CAPA, response
// codes, PIPELINING: replies are flushed when the client's input is drained); RFC 2595 4
// (STLS and the state reset after it); RFC 3206 ([SYS/*], [AUTH]); RFC 5034 (AUTH with
// initial response, continuations, "*" cancels).
#include "pop3d/pop3_session.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/text/sasl.h"
#include "pop3d/pop3_command.h"
#include "pop3d/pop3_reply.h"

namespace hikyaku::pop3 {

namespace asio = boost::asio;

SessionSettings SessionSettings::from(const Config& config, Role role) {
    SessionSettings s;
    s.role = role;
    s.autologout = config.pop3d.autologout;
    s.message_reads = config.server.message_reads;
    return s;
}

namespace {

// A session ends after this many failed logins; the client must reconnect (and the
// per-address delay of LoginThrottle still applies to it).
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
using Handler = asio::awaitable<void> (Session::*)(const Command&);

struct DispatchEntry {
    Verb verb;
    unsigned allowed;  // mask of State values
    Handler handler;
};

class Session {
public:
    Session(std::shared_ptr<net::Connection> conn, const SessionSettings& settings, storage::Store& store,
            net::BlockingPool& pool, LoginThrottle& throttle)
        : conn_(std::move(conn)), s_(settings), store_(store), pool_(pool), throttle_(throttle) {}

    asio::awaitable<void> run();

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
    static const DispatchEntry* find_entry(Verb verb);
    // The one writer of status lines: formats, queues and logs (STYLE 6).
    void reply(const Reply& r);
    void reply_multiline(const Reply& status, const std::vector<std::string>& lines);
    ClientFacts facts() const {
        return {conn_->is_tls(), conn_->can_start_tls() && !conn_->is_tls(), conn_->peer_is_loopback(),
                state_ != State::authorization};
    }
    bool end_on_read_status(net::ReadStatus status);
    asio::awaitable<void> pause(std::chrono::milliseconds delay);
    asio::awaitable<std::optional<std::string>> read_sasl_line();
    asio::awaitable<void> start_tls();  // after STLS was accepted: handshake, state reset
    // Checks credentials, locks and snapshots the maildrop, enters TRANSACTION.
    asio::awaitable<void> login(const std::string& address, const std::string& password, const char* mechanism);
    // The message numbered `number`, or the -ERR to send (no such message, or marked deleted).
    MaildropMessage* message(std::uint32_t number, std::optional<Reply>& error);
    // Streams the first `limit` octets (all when nullopt) or a TOP excerpt of a message.
    asio::awaitable<void> send_message(std::uint32_t number, const MaildropMessage& m,
                                       std::optional<std::uint64_t> top_lines);
    std::pair<std::size_t, std::uint64_t> live_totals() const;

    template <class F>
    auto blocking(F f) {
        return pool_.run(std::move(f));
    }

    std::shared_ptr<net::Connection> conn_;
    const SessionSettings& s_;
    storage::Store& store_;
    net::BlockingPool& pool_;
    LoginThrottle& throttle_;

    State state_ = State::authorization;
    std::string user_name_;  // from USER, until PASS
    std::optional<storage::User> user_;
    std::unique_ptr<storage::MaildropLock> lock_;
    Maildrop maildrop_;
    unsigned bad_commands_ = 0;
    unsigned login_failures_ = 0;
    unsigned retrieved_ = 0;
    bool done_ = false;
};

const DispatchEntry dispatch_table[] = {
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

const DispatchEntry* Session::find_entry(Verb verb) {
    for (auto& e : dispatch_table)
        if (e.verb == verb) return &e;
    return nullptr;
}

void Session::reply(const Reply& r) {
    std::string line = format_reply(r);
    if (debug_logging())
        spdlog::debug("{} S: {}", conn_->log_prefix(), std::string_view(line).substr(0, line.size() - 2));
    conn_->write(line);
}

void Session::reply_multiline(const Reply& status, const std::vector<std::string>& lines) {
    std::string text = format_multiline(status, lines);
    if (debug_logging())
        spdlog::debug("{} S: {} (+{} lines)", conn_->log_prefix(),
                      std::string_view(text).substr(0, text.find("\r\n")), lines.size());
    conn_->write(text);
}

bool Session::end_on_read_status(net::ReadStatus status) {
    const char* kept = state_ == State::transaction ? " (nothing deleted)" : "";
    switch (status) {
        case net::ReadStatus::timeout:
            // RFC 1939 3: the autologout timer closes without entering UPDATE.
            reply(Reply::negative("Autologout; idle for too long"));
            spdlog::info("{} autologout in {} state{}", conn_->log_prefix(), state_name(state_), kept);
            return true;
        case net::ReadStatus::shutdown:
            reply(Reply::negative("Server shutting down", ResponseCode::sys_temp));
            spdlog::info("{} shutdown in {} state{}", conn_->log_prefix(), state_name(state_), kept);
            return true;
        case net::ReadStatus::eof:
        case net::ReadStatus::error:
            spdlog::info("{} disconnected in {} state{}", conn_->log_prefix(), state_name(state_), kept);
            return true;
        default: return false;
    }
}

asio::awaitable<void> Session::pause(std::chrono::milliseconds delay) {
    asio::steady_timer timer(conn_->executor(), delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Session::run() {
    reply(Reply::positive("hikyaku POP3 server ready"));
    const bool greeted = co_await conn_->flush();
    if (!greeted) co_return;
    CommandLimits limits;
    limits.max_line_length = s_.max_line_length;
    limits.max_argument_length = s_.max_argument_length;
    while (!done_) {
        conn_->set_timeout(s_.autologout);
        net::Line line = co_await conn_->read_line(s_.max_line_length - 2);
        if (line.status == net::ReadStatus::too_long) {
            ++bad_commands_;
            spdlog::info("{} line too long", conn_->log_prefix());
            reply(Reply::negative("Line too long"));
        } else if (end_on_read_status(line.status)) {
            break;
        } else {
            if (debug_logging()) spdlog::debug("{} C: {}", conn_->log_prefix(), mask_secrets(line.text));
            auto parsed = parse_command(line.text, limits);
            if (auto* error = std::get_if<CommandError>(&parsed)) {
                ++bad_commands_;
                reply(to_reply(*error));
            } else {
                const Command& command = std::get<Command>(parsed);
                const DispatchEntry* entry = find_entry(command.verb);
                if (!entry || !(entry->allowed & unsigned(state_))) {
                    ++bad_commands_;
                    reply(Reply::negative(std::string(verb_name(command.verb)) + " not allowed in " +
                                          state_name(state_) + " state"));
                } else {
                    co_await (this->*(entry->handler))(command);
                }
            }
        }
        if (!done_ && bad_commands_ >= s_.max_bad_commands) {
            reply(Reply::negative("Too many bad commands; closing"));
            spdlog::info("{} too many bad commands ({}), closing", conn_->log_prefix(), bad_commands_);
            break;
        }
        // PIPELINING (RFC 2449 6.6): answer a batch once the client's input is drained.
        if (!conn_->has_buffered_input() || done_) {
            const bool sent = co_await conn_->flush();
            if (!sent) break;
        }
    }
    co_await conn_->flush();
    if (lock_) {
        spdlog::info("{} maildrop of {} released", conn_->log_prefix(), user_->address);
        lock_.reset();
    }
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

asio::awaitable<std::optional<std::string>> Session::read_sasl_line() {
    const bool sent = co_await conn_->flush();
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
    auto fail = [&](sasl::SaslError e) {
        if (e == sasl::SaslError::cancelled) reply(Reply::negative("Authentication cancelled"));
        else reply(Reply::negative("Invalid authentication exchange"));
    };
    std::string authzid, authcid, password;
    if (*c.mechanism == sasl::Mechanism::plain) {
        std::string response;
        if (c.initial_response) {
            response = *c.initial_response;
        } else {
            conn_->write(format_continuation(""));
            auto line = co_await read_sasl_line();
            if (!line) co_return;
            response = *line;
        }
        auto decoded = sasl::decode_plain_response(response);
        if (auto* e = std::get_if<sasl::SaslError>(&decoded)) co_return fail(*e);
        auto& credentials = std::get<sasl::PlainCredentials>(decoded);
        authzid = std::move(credentials.authzid);
        authcid = std::move(credentials.authcid);
        password = std::move(credentials.password);
    } else {
        std::string response;
        if (c.initial_response) {
            response = *c.initial_response;
        } else {
            conn_->write(format_continuation(sasl::login_challenge(sasl::LoginStep::username)));
            auto line = co_await read_sasl_line();
            if (!line) co_return;
            response = *line;
        }
        auto name = sasl::decode_login_response(response, sasl::LoginStep::username);
        if (auto* e = std::get_if<sasl::SaslError>(&name)) co_return fail(*e);
        authcid = std::get<std::string>(name);
        conn_->write(format_continuation(sasl::login_challenge(sasl::LoginStep::password)));
        auto line = co_await read_sasl_line();
        if (!line) co_return;
        auto pass = sasl::decode_login_response(*line, sasl::LoginStep::password);
        if (auto* e = std::get_if<sasl::SaslError>(&pass)) co_return fail(*e);
        password = std::get<std::string>(pass);
    }
    if (!authzid.empty() && storage::normalize_address(authzid) != storage::normalize_address(authcid)) {
        // Acting as another user is not offered; answered as any failed login.
        co_await login(authcid, std::string(), sasl::mechanism_name(*c.mechanism));
        co_return;
    }
    co_await login(authcid, password, sasl::mechanism_name(*c.mechanism));
}

asio::awaitable<void> Session::login(const std::string& address, const std::string& password,
                                     const char* mechanism) {
    auto user = co_await blocking([this, &address, &password]() -> Result<storage::User> {
        if (password.empty()) return make_error(Errc::auth_failed, "empty password");
        return store_.authenticate(address, password);
    });
    if (!user) {
        if (user.error().code != Errc::auth_failed && user.error().code != Errc::not_found &&
            user.error().code != Errc::invalid_argument) {
            spdlog::error("{} login user={}: {}", conn_->log_prefix(), std::string_view(address).substr(0, 254),
                          user.error().message);
            reply(Reply::negative("Temporary problem, try again later", ResponseCode::sys_temp));
            co_return;
        }
        ++login_failures_;
        auto delay = throttle_.failed(conn_->peer_address());
        spdlog::warn("{} authentication failed user={} mechanism={} failures={} delay={}ms", conn_->log_prefix(),
                     std::string_view(address).substr(0, 254), mechanism,
                     throttle_.failures(conn_->peer_address()), delay.count());
        co_await pause(delay);
        // The same words for an unknown user and a wrong password.
        reply(Reply::negative("Authentication failed", ResponseCode::auth));
        if (login_failures_ >= kMaxLoginFailures) {
            reply(Reply::negative("Too many failed logins; closing"));
            done_ = true;
        }
        co_return;
    }
    throttle_.succeeded(conn_->peer_address());
    const storage::UserId id = user->id;
    auto lock = co_await blocking([this, id] { return store_.lock_maildrop(id); });
    if (!lock) {
        if (lock.error().code == Errc::busy) {
            spdlog::info("{} maildrop of {} in use", conn_->log_prefix(), user->address);
            reply(Reply::negative("Maildrop is locked by another POP3 session", ResponseCode::in_use));
        } else {
            spdlog::error("{} lock maildrop of {}: {}", conn_->log_prefix(), user->address, lock.error().message);
            reply(Reply::negative("Cannot open the maildrop, try again later", ResponseCode::sys_temp));
        }
        co_return;
    }
    auto snapshot = co_await blocking([this, id]() -> Result<Maildrop> {
        auto inbox = store_.inbox(id);
        if (!inbox) return inbox.error();
        const storage::UidRange all[] = {storage::UidRange{}};
        auto entries = store_.fetch_entries(inbox->id, all);
        if (!entries) return entries.error();
        Maildrop drop;
        drop.mailbox = inbox->id;
        drop.uidvalidity = inbox->uidvalidity;
        drop.messages.reserve(entries->size());
        for (const auto& e : *entries) drop.messages.push_back(MaildropMessage{e.uid, e.size, false});
        return drop;
    });
    if (!snapshot) {
        spdlog::error("{} open maildrop of {}: {}", conn_->log_prefix(), user->address, snapshot.error().message);
        reply(Reply::negative("Cannot open the maildrop, try again later", ResponseCode::sys_temp));
        co_return;
    }
    lock_ = std::move(*lock);
    maildrop_ = std::move(*snapshot);
    user_ = *user;
    state_ = State::transaction;
    auto [count, size] = live_totals();
    spdlog::info("{} login user={} mechanism={} tls={} messages={} size={}", conn_->log_prefix(), user_->address,
                 mechanism, conn_->is_tls() ? "yes" : "no", count, size);
    reply(Reply::positive("Logged in; maildrop has " + std::to_string(count) + " messages (" +
                          std::to_string(size) + " octets)"));
}

asio::awaitable<void> Session::on_stls(const Command&) {
    // g++ 12 (with the sanitizers at least) miscompiled this handler when it held
    // `if (!co_await ...) { co_return; }`: a corrupt resume index and SIGILL. This file keeps
    // every co_await result in a variable and the STLS steps in their own coroutine.
    if (conn_->is_tls())
        reply(Reply::negative("Command not permitted when TLS is active"));
    else if (!conn_->can_start_tls())
        reply(Reply::negative("TLS is not available", ResponseCode::sys_perm));
    else
        co_await start_tls();
}

asio::awaitable<void> Session::start_tls() {
    reply(Reply::positive("Begin TLS negotiation"));
    const bool flushed = co_await conn_->flush();
    bool upgraded = false;
    if (flushed) upgraded = co_await conn_->start_tls();
    if (!upgraded) {
        spdlog::info("{} STLS handshake failed", conn_->log_prefix());
        done_ = true;
    } else {
        if (conn_->discarded_after_starttls() > 0)
            spdlog::warn("{} discarded {} octets pipelined after STLS", conn_->log_prefix(),
                         conn_->discarded_after_starttls());
        spdlog::info("{} TLS started version={} cipher={}", conn_->log_prefix(), conn_->tls_version(),
                     conn_->tls_cipher());
        // RFC 2595 4: forget what was said before the handshake.
        user_name_.clear();
    }
}

asio::awaitable<void> Session::on_capa(const Command&) {
    reply_multiline(Reply::positive("Capability list follows"), capabilities(facts()));
    co_return;
}

asio::awaitable<void> Session::on_quit(const Command&) {
    done_ = true;
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
        auto result = co_await blocking([this, &marked] { return store_.expunge(maildrop_.mailbox, marked); });
        if (!result) {
            spdlog::error("{} UPDATE for {} failed: {}", conn_->log_prefix(), user_->address, result.error().message);
            reply(Reply::negative("Some deleted messages not removed", ResponseCode::sys_temp));
            co_return;
        }
        removed = result->expunged.size();
    }
    auto [left, size] = live_totals();
    spdlog::info("{} logout user={} retrieved={} deleted={} left={}", conn_->log_prefix(), user_->address,
                 retrieved_, removed, left);
    reply(Reply::positive("hikyaku POP3 server signing off (" + std::to_string(marked.size()) +
                          " messages deleted, " + std::to_string(left) + " left)"));
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
        error = Reply::negative("No such message; maildrop has " + std::to_string(maildrop_.messages.size()) +
                                " messages");
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
    reply_multiline(Reply::positive(std::to_string(count) + " messages (" + std::to_string(size) + " octets)"),
                    lines);
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
    // [server] message_reads: on this worker thread (from the page cache), or on the pool.
    auto read_chunk = [&](std::uint64_t offset) -> asio::awaitable<Result<std::string>> {
        if (s_.message_reads == MessageReads::worker) co_return store_.read_message_chunk(mailbox, uid, offset, chunk_size);
        co_return co_await blocking([&] { return store_.read_message_chunk(mailbox, uid, offset, chunk_size); });
    };
    // The first chunk decides between +OK and -ERR; after +OK the only way out of a failure
    // is to close, since a multi-line response cannot be taken back.
    auto chunk = co_await read_chunk(0);
    if (!chunk) {
        if (chunk.error().code == Errc::not_found) {
            reply(Reply::negative("Message " + std::to_string(number) + " was removed by another session",
                                  ResponseCode::sys_perm));
        } else {
            spdlog::error("{} read message uid={}: {}", conn_->log_prefix(), uid, chunk.error().message);
            reply(Reply::negative("Cannot read the message, try again later", ResponseCode::sys_temp));
        }
        co_return;
    }
    reply(top_lines ? Reply::positive("Top of message follows")
                    : Reply::positive(std::to_string(m.size) + " octets"));
    std::optional<TopCutter> cutter;
    if (top_lines) cutter.emplace(*top_lines);
    DotStuffer stuffer;
    std::uint64_t offset = 0;
    for (;;) {
        std::string_view piece = *chunk;
        if (cutter) piece = piece.substr(0, cutter->take(piece));
        std::string& out = conn_->pending_output_buffer();
        out.reserve(out.size() + piece.size() + piece.size() / 32 + 5);
        stuffer.append(out, piece);
        offset += chunk->size();
        const bool last = chunk->size() < chunk_size || offset >= m.size || (cutter && cutter->done());
        if (last) break;
        // Send what we have before reading on, so a session holds about one chunk at a time.
        const bool sent = co_await conn_->flush();
        if (!sent) {
            done_ = true;
            co_return;
        }
        chunk = co_await read_chunk(offset);
        if (!chunk) {
            spdlog::error("{} message uid={} unreadable at offset {}: {}; closing", conn_->log_prefix(), uid, offset,
                          chunk.error().message);
            done_ = true;
            co_return;
        }
        if (chunk->empty()) break;
    }
    stuffer.finish(conn_->pending_output_buffer());
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
    reply(Reply::positive("Maildrop has " + std::to_string(count) + " messages (" + std::to_string(size) +
                          " octets)"));
    co_return;
}

}  // namespace

asio::awaitable<void> run_pop3_session(std::shared_ptr<net::Connection> connection, const SessionSettings& settings,
                                       storage::Store& store, net::BlockingPool& pool, LoginThrottle& throttle) {
    Session session(std::move(connection), settings, store, pool, throttle);
    co_await session.run();
}

}  // namespace hikyaku::pop3
