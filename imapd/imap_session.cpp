// imap_session.cpp: the IMAP state machine (see imap_session.h): framing and dispatch, the
// any-state and not-authenticated commands, SELECT/EXAMINE, CLOSE/UNSELECT, IDLE, and the
// announcing of changes made by other sessions.
//
// RFC 9051 3 (states), 5.4 (autologout), 6.1 (CAPABILITY, NOOP, LOGOUT), 6.2 (STARTTLS,
// AUTHENTICATE, LOGIN), 6.3.1 (ENABLE), 6.3.2-3 (SELECT, EXAMINE), 6.3.13 (IDLE), 6.4.1-2
// (CLOSE, UNSELECT), 7.1 (status responses, response codes), 7.5.1 (when EXPUNGE may be sent);
// RFC 3501 (IMAP4rev1 behaviour until ENABLE IMAP4rev2); RFC 4959 (SASL-IR); RFC 5161
// (ENABLE); RFC 2971 (ID); RFC 7888 (LITERAL+); RFC 7162 3.1.2.1 (HIGHESTMODSEQ in every
// SELECT), 3.1.8 and 3.2.5 (the CONDSTORE and QRESYNC SELECT parameters; imap_condstore.cpp);
// RFC 8474 4.2 (MAILBOXID in SELECT/EXAMINE); RFC 6855 3 (ENABLE UTF8=ACCEPT); RFC 5465 3
// and 4 (NOTIFY between commands and in IDLE; the events themselves are imap_notify.cpp's).
//
// Every co_await result is kept in a variable before it is tested (g++ 12, see
// common/net/blocking_pool.h).
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "hikyaku_version.h"
#include "imapd/imap_session_internal.h"
#include "imapd/object_id.h"
#include "storage/store.h"

namespace hikyaku::imap {

const char* role_name(Role role) {
    switch (role) {
        case Role::imap: return "imap";
        case Role::imaps: return "imaps";
    }
    return "?";
}

SessionSettings SessionSettings::from(const Config& config, Role role) {
    SessionSettings s;
    s.role = role;
    s.autologout = config.imapd.autologout;
    s.append_limit = config.storage.max_message_size;
    if (!config.smtpd.hostname.empty()) {
        std::string name = config.smtpd.hostname;
        for (char& c : name)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        s.server_names.push_back(std::move(name));
    }
    s.max_search_contexts = config.imapd.max_search_contexts;
    return s;
}

namespace {

const DispatchEntry dispatch_table[] = {
    {Verb::capability, any_state, &Session::on_capability},
    {Verb::noop, any_state, &Session::on_noop},
    {Verb::logout, any_state, &Session::on_logout},
    {Verb::id, any_state, &Session::on_id},
    {Verb::enable, logged_in, &Session::on_enable},
    {Verb::compress, logged_in, &Session::on_compress},
    {Verb::starttls, not_authenticated, &Session::on_starttls},
    {Verb::authenticate, not_authenticated, &Session::on_authenticate},
    {Verb::login, not_authenticated, &Session::on_login},
    {Verb::select, logged_in, &Session::on_select},
    {Verb::examine, logged_in, &Session::on_select},
    {Verb::create, logged_in, &Session::on_create},
    {Verb::delete_mailbox, logged_in, &Session::on_delete},
    {Verb::rename, logged_in, &Session::on_rename},
    {Verb::subscribe, logged_in, &Session::on_subscribe},
    {Verb::unsubscribe, logged_in, &Session::on_subscribe},
    {Verb::list, logged_in, &Session::on_list},
    {Verb::lsub, logged_in, &Session::on_list},
    {Verb::namespace_, logged_in, &Session::on_namespace},
    {Verb::status, logged_in, &Session::on_status},
    {Verb::append, logged_in, &Session::on_append},
    {Verb::idle, logged_in, &Session::on_idle},
    {Verb::check, selected, &Session::on_noop},
    {Verb::close, selected, &Session::on_close},
    {Verb::unselect, selected, &Session::on_unselect},
    {Verb::expunge, selected, &Session::on_expunge},
    {Verb::search, selected, &Session::on_search},
    {Verb::fetch, selected, &Session::on_fetch},
    {Verb::store, selected, &Session::on_store},
    {Verb::copy, selected, &Session::on_copy},
    {Verb::move, selected, &Session::on_copy},
    {Verb::sort, selected, &Session::on_sort},
    {Verb::thread, selected, &Session::on_thread},
    {Verb::getquotaroot, logged_in, &Session::on_getquotaroot},
    {Verb::getquota, logged_in, &Session::on_getquota},
    {Verb::setquota, logged_in, &Session::on_setquota},
    {Verb::notify, logged_in, &Session::on_notify},
    {Verb::cancelupdate, selected, &Session::on_cancelupdate},
};

const DispatchEntry* find_entry(Verb verb) {
    for (const auto& e : dispatch_table)
        if (e.verb == verb) return &e;
    return nullptr;
}

const char* state_text(State s) {
    switch (s) {
        case State::not_authenticated: return "not authenticated";
        case State::authenticated: return "authenticated";
        case State::selected: return "selected";
    }
    return "?";
}

}  // namespace

Session::Session(std::shared_ptr<net::Connection> conn, server::SessionEnvironment environment,
                 const SessionSettings& settings)
    : ProtocolSession(std::move(conn), environment, "imap"),
      s_(settings),
      contexts_(ContextLimits{settings.max_search_contexts, kMaxContextMessages}) {
    ReaderLimits limits;
    limits.max_append_literal_size = std::max<std::uint64_t>(settings.append_limit, 1);
    limits.max_command_size = limits.max_append_literal_size + (1u << 20);
    reader_.set_limits(limits);
}

Session::~Session() {
    *alive_ = false;
    subscription_.reset();
}

ImapClientFacts Session::facts() const {
    ImapClientFacts f;
    f.tls = connection().is_tls();
    f.tls_available = connection().can_start_tls() && !connection().is_tls();
    f.plaintext_allowed = plaintext_allowed();
    f.authenticated = state_ != State::not_authenticated;
    f.append_limit = s_.append_limit;
    return f;
}

std::chrono::sys_seconds Session::now() const {
    if (s_.clock) return s_.clock();
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

void Session::greet() {
    send(untagged_status(ResponseStatus::ok, ResponseCode::capability(capabilities(facts())),
                         "hikyaku IMAP4rev2 server ready"));
}

void Session::input_ended(net::ReadStatus why) {
    const char* where = state_text(state_);
    switch (why) {
        case net::ReadStatus::timeout:
            send(untagged_status(ResponseStatus::bye, std::nullopt, "Autologout; idle for too long"));
            spdlog::info("{} autologout in {} state", connection().log_prefix(), where);
            break;
        case net::ReadStatus::shutdown:
            send(untagged_status(ResponseStatus::bye, ResponseCode::simple(ResponseCodeKind::unavailable),
                                 "Server shutting down"));
            spdlog::info("{} shutdown in {} state", connection().log_prefix(), where);
            break;
        default: spdlog::info("{} disconnected in {} state", connection().log_prefix(), where); break;
    }
}

asio::awaitable<void> Session::finish() {
    subscription_.reset();
    if (holds_user_slot_ && user_) environment().user_sessions.remove(user_->id);
    holds_user_slot_ = false;
    if (user_) spdlog::info("{} logout user={}", connection().log_prefix(), user_->address);
    co_return;
}

void Session::reply_tagged(std::string_view tag, const Tagged& t) {
    if (t.status == ResponseStatus::bad) count_error();
    send(status_response(tag, t.status, t.code, t.text));
}

// ---- framing --------------------------------------------------------------------------------

asio::awaitable<void> Session::serve_command() {
    start_command_deadline();
    for (;;) {
        ReadStep step = reader_.read(connection().buffered());
        connection().consume(step.consumed);
        if (std::holds_alternative<NeedMore>(step.event)) {
            // RFC 5465 3: with NOTIFY active, events are sent between commands too; the
            // store's change feed wakes this wait (never a partial command's).
            const bool between_commands = notify_ && reader_.at_command_boundary() && connection().buffered().empty();
            const net::ReadStatus status = co_await connection().fill(between_commands ? net::Connection::Wakeable::yes
                                                                                       : net::Connection::Wakeable::no);
            if (status == net::ReadStatus::woken) {
                co_await deliver_notifications(NotifyMoment::between_commands);
                if (ended()) co_return;
                const bool sent = co_await flush();
                if (!sent) {
                    end();
                    co_return;
                }
                continue;
            }
            if (status != net::ReadStatus::ok) {
                connection().clear_command_deadline();
                input_ended(status);
                end();
                co_return;
            }
            continue;
        }
        if (auto* announcement = std::get_if<LiteralAnnouncement>(&step.event)) {
            const LiteralAnnouncement a = *announcement;
            co_await on_literal(a);
            if (ended()) co_return;
            continue;
        }
        connection().clear_command_deadline();
        if (auto* discarded = std::get_if<LiteralDiscarded>(&step.event)) {
            // RFC 7888 4: a refused non-synchronizing literal was read and dropped; close.
            send(untagged_status(ResponseStatus::bye, std::nullopt, "Literal refused; closing"));
            spdlog::info("{} non-synchronizing literal refused (tag {}), closing", connection().log_prefix(),
                         discarded->tag.substr(0, 64));
            end();
            co_return;
        }
        if (auto* error = std::get_if<ReaderError>(&step.event)) {
            spdlog::info("{} {}: {}", connection().log_prefix(), to_string(error->kind), error->text);
            if (error->fatal) {
                send(untagged_status(ResponseStatus::bye, std::nullopt, error->text));
                end();
                co_return;
            }
            const std::string tag = error->tag.value_or("");
            if (error->kind == ReaderErrorKind::literal_too_large && error->message_data)
                reply_tagged(tag, Tagged::no(error->text, ResponseCode::simple(ResponseCodeKind::toobig)));
            else reply_tagged(tag, Tagged::bad(error->text));
            co_return;
        }
        FramedCommand framed = std::move(std::get<FramedCommand>(step.event));
        if (debug_logging()) spdlog::debug("{} C: {}", connection().log_prefix(), mask_secrets(framed.lines.front()));
        ParseResult parsed = parse_command(std::move(framed), grammar_);
        if (auto* error = std::get_if<CommandError>(&parsed)) {
            reply_tagged(error->tag.value_or(""), Tagged::bad(error->text));
            co_return;
        }
        co_await dispatch(std::move(std::get<Command>(parsed)));
        co_return;
    }
}

asio::awaitable<void> Session::on_literal(const LiteralAnnouncement& a) {
    std::optional<Tagged> refusal;
    if (a.message_data) {
        // APPEND (RFC 9051 6.3.12, RFC 7889): refused before the client sends the data.
        if (state_ == State::not_authenticated) {
            refusal = Tagged::bad("Log in first");
        } else if (s_.append_limit > 0 && a.size > s_.append_limit) {
            refusal = Tagged::no("Message larger than APPENDLIMIT " + std::to_string(s_.append_limit),
                                 ResponseCode::simple(ResponseCodeKind::toobig));
        } else if (a.size == 0 && !a.catenate_text) {  // an empty CATENATE part is checked once assembled
            refusal = Tagged::no("Cannot save an empty message");
        } else {
            const storage::UserId id = user_->id;
            auto usage = co_await store().read([&] { return store()->quota_usage(id); });
            if (usage && usage->limit_bytes > 0 && usage->used_bytes + a.size > usage->limit_bytes)
                refusal = Tagged::no("Message too large for the remaining quota",
                                     ResponseCode::simple(ResponseCodeKind::overquota));
            else if (usage && usage->limit_messages > 0 && usage->messages >= usage->limit_messages)
                refusal = Tagged::no("Message quota reached", ResponseCode::simple(ResponseCodeKind::overquota));
        }
    }
    if (refusal) {
        if (a.synchronizing) {
            // The client waits for "+" and sends nothing more of this command.
            reply_tagged(a.tag, *refusal);
            reader_.reject_literal();
            const bool sent = co_await flush();
            if (!sent) end();
        } else {
            // RFC 7888 4: the data comes anyway; it is read and dropped, then we close.
            reply_tagged(a.tag, *refusal);
            reader_.reject_literal();
        }
        co_return;
    }
    reader_.accept_literal();
    if (a.synchronizing) {
        send(continuation("Ready for literal data"));
        const bool sent = co_await flush();
        if (!sent) end();
    }
}

asio::awaitable<void> Session::dispatch(Command command) {
    const DispatchEntry* entry = find_entry(command.verb);
    if (!entry || !(entry->states & unsigned(state_))) {
        const char* why = state_ == State::not_authenticated ? "Log in first" : "Command not valid in this state";
        if (entry && state_ != State::not_authenticated && (entry->states & selected)) why = "No mailbox selected";
        reply_tagged(command.tag, Tagged::bad(std::string(verb_name(command.verb)) + ": " + why));
        co_return;
    }
    const bool changes_names = command.verb == Verb::create || command.verb == Verb::delete_mailbox ||
                               command.verb == Verb::rename || command.verb == Verb::subscribe ||
                               command.verb == Verb::unsubscribe;
    // RFC 5465 5: events this client causes SHOULD not be echoed: what others changed before
    // goes out first, then the list is looked at again after the command, silently.
    if (notify_ && changes_names && notify_list_pending_) co_await refresh_mailbox_list(true);
    Tagged result = co_await (this->*(entry->handler))(command);
    if (notify_ && changes_names && !ended()) co_await refresh_mailbox_list(false);
    if (result.already_sent || ended()) co_return;
    // RFC 9051 7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH by sequence number.
    const bool sequence_numbered =
        !command.uid && (command.verb == Verb::fetch || command.verb == Verb::store || command.verb == Verb::search ||
                         command.verb == Verb::sort || command.verb == Verb::thread);
    if (selected_ && command.verb != Verb::idle) co_await announce_updates(!sequence_numbered, command.uid);
    // NOTIFY's events for other mailboxes go out before the tagged reply too (RFC 5465 3).
    if (notify_ && command.verb != Verb::idle && !ended()) co_await deliver_notifications(NotifyMoment::command_end);
    if (ended()) co_return;
    reply_tagged(command.tag, result);
}

// ---- changes from other sessions --------------------------------------------------------

void Session::watch_changes() {
    if (subscription_ || !user_) return;
    // The callback runs on the store's notification thread: hand the news to this session's
    // own executor, and wake a wakeable read (IDLE).
    auto executor = connection().executor();
    std::weak_ptr<bool> alive = alive_;
    Session* self = this;
    auto subscribed = store()->subscribe(user_->id, [executor, alive, self](const storage::MailboxChange& change) {
        asio::post(executor, [alive, self, change] {
            auto living = alive.lock();
            if (!living || !*living) return;
            self->note_change(change);
        });
    });
    if (subscribed) subscription_ = std::move(*subscribed);
    else spdlog::warn("{} no change notification: {}", connection().log_prefix(), subscribed.error().message);
}

asio::awaitable<void> Session::announce_updates(bool expunges_allowed, bool with_uid) {
    if (!selected_) co_return;
    // Every command looks (an index lookup): a client that saw another session's tagged OK
    // expects the change at its very next command, before the notification may have come.
    changes_pending_ = false;
    const storage::MailboxId mailbox = selected_->id();
    const storage::ModSeq since = selected_->known_modseq();
    auto changes = co_await store().read([&] { return store()->changes_since(mailbox, since); });
    if (!changes) {
        if (changes.error().code == Errc::not_found) {
            // Deleted by another session: nothing of it can be reached any more.
            send(untagged_status(ResponseStatus::bye, std::nullopt, "Selected mailbox was deleted"));
            end();
            co_return;
        }
        spdlog::warn("{} changes of the selected mailbox: {}", connection().log_prefix(), changes.error().message);
    } else {
        selected_->learn(*changes);
    }
    if (!rev2_ && selected_->highest_uid() > selected_->newest_unclaimed()) {
        // New messages are \Recent for the first IMAP4rev1 session with the mailbox read-write.
        storage::RecentClaim claim{selected_->newest_unclaimed() + 1, storage::kMaxUid};
        if (!selected_->read_only()) {
            auto claimed = co_await store().claim_recent(mailbox);
            claim = claimed ? *claimed : storage::RecentClaim{1, 1};
        }
        selected_->mark_recent(claim);
    }
    // RFC 5267 4.3: a kept result loses an expunged message before the EXPUNGE renumbers.
    if (expunges_allowed) {
        const std::string removals = context_removals(selected_->ghost_uids());
        if (!removals.empty()) send(removals);
    }
    const std::string updates =
        selected_->take_updates(expunges_allowed, with_uid || condstore_, !rev2_, condstore_, qresync_);
    if (!updates.empty()) send(updates);
    co_await update_contexts();  // after EXISTS: an ADDTO may name the new messages
}

// ---- any state ------------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_capability(const Command&) {
    send("* CAPABILITY " + capability_text(facts()) + "\r\n");
    co_return Tagged::ok("Capability completed");
}

asio::awaitable<Tagged> Session::on_noop(const Command& c) {
    // The updates are announced by dispatch(): that is what NOOP and CHECK are for.
    co_return Tagged::ok(c.verb == Verb::check ? "Check completed" : "NOOP completed");
}

asio::awaitable<Tagged> Session::on_logout(const Command& c) {
    send(untagged_status(ResponseStatus::bye, std::nullopt, "Logging out"));
    reply_tagged(c.tag, Tagged::ok("Logout completed"));
    end();
    co_return Tagged::sent();
}

asio::awaitable<Tagged> Session::on_id(const Command&) {
    std::string out = "* ID (\"name\" \"hikyaku\" \"version\" \"" HIKYAKU_VERSION
                      "\" \"support-url\" "
                      "\"https://www.rfc-editor.org/rfc/rfc9051\")\r\n";
    send(out);
    co_return Tagged::ok("ID completed");
}

asio::awaitable<Tagged> Session::on_enable(const Command& c) {
    std::string enabled;
    for (const auto& capability : c.get<EnableArgs>()->capabilities) {
        if (!can_enable(capability)) continue;
        if (capability == "IMAP4REV2" && !rev2_) {
            rev2_ = true;
            enabled += " IMAP4rev2";
        } else if (capability == "CONDSTORE" && !condstore_) {
            enable_condstore();
            enabled += " CONDSTORE";
        } else if (capability == "QRESYNC" && !qresync_) {
            qresync_ = true;  // RFC 7162 3.2.3: implies CONDSTORE
            enable_condstore();
            enabled += " QRESYNC";
        }
        if (capability == "UTF8=ACCEPT" && !utf8_accept_) {
            utf8_accept_ = true;  // RFC 6855 3
            enabled += " UTF8=ACCEPT";
        }
    }
    send("* ENABLED" + enabled + "\r\n");
    co_return Tagged::ok("Enabled");
}

// RFC 4978 3: after the tagged OK, the server compresses from the octet after its CRLF and
// takes everything the client sends next as compressed (the client waits for the OK).
// Compression sits above TLS, so a compressed session costs no more to encrypt.
asio::awaitable<Tagged> Session::on_compress(const Command& c) {
    if (c.get<CompressArgs>()->algorithm != "DEFLATE") co_return Tagged::bad("Unknown compression mechanism");
    if (connection().is_compressed())
        co_return Tagged::no("DEFLATE is active already", ResponseCode::simple(ResponseCodeKind::compressionactive));
    reply_tagged(c.tag, Tagged::ok("DEFLATE active"));
    start_compression_after_reply();
    co_return Tagged::sent();
}

// ---- not authenticated ------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_starttls(const Command& c) {
    if (connection().is_tls()) co_return Tagged::bad("TLS is already active");
    if (!connection().can_start_tls()) co_return Tagged::no("TLS is not available");
    // The tagged OK goes out first; the layer then runs the handshake and drops whatever the
    // client pipelined behind the command (RFC 9051 6.2.1).
    reply_tagged(c.tag, Tagged::ok("Begin TLS negotiation now"));
    start_tls_after_reply();
    co_return Tagged::sent();
}

asio::awaitable<Tagged> Session::on_login(const Command& c) {
    if (!plaintext_allowed())
        co_return Tagged::no("Plaintext authentication disallowed on non-secure connections; use STARTTLS",
                             ResponseCode::simple(ResponseCodeKind::privacyrequired));
    const LoginArgs& args = *c.get<LoginArgs>();
    server::LoginResult result = co_await log_in("LOGIN", args.user, args.password);
    if (result.outcome == server::LoginOutcome::unavailable)
        co_return Tagged::no("Temporary problem, try again later", ResponseCode::simple(ResponseCodeKind::unavailable));
    if (result.outcome == server::LoginOutcome::refused)
        co_return Tagged::no("Authentication failed", ResponseCode::simple(ResponseCodeKind::authenticationfailed));
    co_return co_await complete_login(*result.user, "LOGIN");
}

asio::awaitable<Tagged> Session::on_authenticate(const Command& c) {
    const AuthenticateArgs& args = *c.get<AuthenticateArgs>();
    auto mechanism = sasl::parse_mechanism(args.mechanism);
    if (!mechanism) co_return Tagged::no("Unsupported authentication mechanism");
    if (!plaintext_allowed())
        co_return Tagged::no("Plaintext authentication disallowed on non-secure connections; use STARTTLS",
                             ResponseCode::simple(ResponseCodeKind::privacyrequired));
    server::SaslResult sasl = co_await sasl_exchange(*mechanism, args.initial_response);
    using Status = server::SaslResult::Status;
    switch (sasl.status) {
        case Status::ok: break;
        case Status::ended: co_return Tagged::sent();
        case Status::cancelled: co_return Tagged::bad("Authentication cancelled");  // RFC 9051 6.2.2
        default: co_return Tagged::bad("Invalid authentication exchange");
    }
    const char* name = sasl::mechanism_name(*mechanism);
    server::LoginResult result = co_await log_in(name, sasl.authcid, sasl.password, sasl.authzid);
    if (result.outcome == server::LoginOutcome::unavailable)
        co_return Tagged::no("Temporary problem, try again later", ResponseCode::simple(ResponseCodeKind::unavailable));
    if (result.outcome == server::LoginOutcome::refused)
        co_return Tagged::no("Authentication failed", ResponseCode::simple(ResponseCodeKind::authenticationfailed));
    co_return co_await complete_login(*result.user, name);
}

asio::awaitable<Tagged> Session::complete_login(const storage::User& user, std::string_view mechanism) {
    if (!environment().user_sessions.try_add(user.id, s_.max_sessions_per_user)) {
        spdlog::info("{} login user={} refused: {} sessions already", connection().log_prefix(), user.address,
                     s_.max_sessions_per_user);
        co_return Tagged::no("Too many sessions for this user", ResponseCode::simple(ResponseCodeKind::limit));
    }
    holds_user_slot_ = true;
    user_ = user;
    state_ = State::authenticated;
    ReaderLimits limits = reader_.limits();
    reader_.set_limits(limits);
    spdlog::info("{} login user={} mechanism={} tls={}", connection().log_prefix(), user.address, mechanism,
                 connection().is_tls() ? "yes" : "no");
    co_return Tagged::ok("Logged in", ResponseCode::capability(capabilities(facts())));
}

// ---- selection ------------------------------------------------------------------------------

void Session::deselect() {
    selected_.reset();
    contexts_.clear();  // RFC 5267 4.3: contexts belong to the selected mailbox
    saved_search_.clear();
    search_saved_ = false;
    state_ = State::authenticated;
}

asio::awaitable<Tagged> Session::on_select(const Command& c) {
    const SelectArgs& args = *c.get<SelectArgs>();
    const bool examine = c.verb == Verb::examine;
    // RFC 7162 3.2.5: QRESYNC parameters only after ENABLE QRESYNC.
    if (args.qresync && !qresync_) co_return Tagged::bad("QRESYNC parameter needs ENABLE QRESYNC first");
    if (selected_) {
        // RFC 9051 6.3.2 / RFC 7162 3.2.11: the old mailbox is closed (no expunge) first.
        deselect();
        send(untagged_status(ResponseStatus::ok, ResponseCode::simple(ResponseCodeKind::closed),
                             "Previous mailbox closed"));
    }
    Tagged error;
    auto name = mailbox_name(args.mailbox, error);
    if (!name) co_return error;
    if (args.condstore || args.qresync) enable_condstore();  // RFC 7162 3.1.8
    const storage::UserId user = user_->id;
    struct Opened {
        storage::MailboxInfo info;
        std::shared_ptr<const ViewBase> base;
        storage::Changes since_client;  // QRESYNC: what changed since the client's modseq
    };
    const std::optional<QresyncParams>& qresync = args.qresync;
    MailboxViewCache* views = s_.view_cache.get();
    std::optional<std::size_t> from_cache;  // the changes read, when the view came from the cache
    auto opened = co_await store().read([&]() -> Result<Opened> {
        from_cache.reset();  // a read that would have waited for the disk runs again on the pool
        auto info = store()->find_mailbox(user, *name);
        if (!info) return info.error();
        // The cached view brought up to date with what changed since (mailbox_view_cache.h),
        // or, if none, every entry read.
        std::shared_ptr<const ViewBase> base;
        if (auto cached = views ? views->find(info->id, info->uidvalidity) : nullptr) {
            auto changes = store()->changes_since(info->id, cached->modseq);
            if (!changes) return changes.error();
            from_cache = changes->changed.size() + changes->expunged.size();
            // Nothing changed: the cached base as it is, no copy made.
            base = *from_cache == 0 ? std::move(cached) : std::make_shared<const ViewBase>(cached->advanced(*changes));
        } else {
            const storage::UidRange all[] = {storage::UidRange{}};
            auto entries = store()->fetch_entries(info->id, all);
            if (!entries) return entries.error();
            base = std::make_shared<const ViewBase>(
                ViewBase::from_entries(info->id, info->uidvalidity, info->highestmodseq, *entries));
        }
        storage::Changes since_client;
        if (qresync && qresync->uidvalidity == info->uidvalidity) {
            // Read with the same snapshot, so the VANISHED (EARLIER) and the view agree.
            auto changes = store()->changes_since(info->id, qresync->modseq);
            if (!changes) return changes.error();
            since_client = std::move(*changes);
        }
        return Opened{std::move(*info), std::move(base), std::move(since_client)};
    });
    if (!opened) co_return store_failure(opened.error(), "select");
    selected_.emplace(std::move(opened->info), examine, *opened->base);
    if (views) views->keep(std::move(opened->base));
    state_ = State::selected;
    if (!rev2_) {
        // RFC 3501 2.3.2: the unclaimed messages are \Recent here; selecting read-write
        // claims them, so no other session sees them so.
        const storage::MailboxInfo& info = selected_->info();
        storage::RecentClaim claim{info.first_recent_uid, info.uidnext};
        if (!examine && claim.first < claim.uidnext) {
            auto claimed = co_await store().claim_recent(info.id);
            claim = claimed ? *claimed : storage::RecentClaim{1, 1};
        }
        selected_->mark_recent(claim);
    }
    changes_pending_ = true;  // anything committed between the read and the subscription
    watch_changes();
    SelectedMailbox& box = *selected_;
    std::vector<std::string> keywords = box.keywords_in_use();
    send("* FLAGS " + format_flag_list(storage::kAllSystemFlags, keywords) + "\r\n");
    send(untagged_status(ResponseStatus::ok,
                         ResponseCode::permanentflags(examine ? 0 : storage::kAllSystemFlags,
                                                      examine ? std::vector<std::string>{} : keywords, !examine),
                         examine ? "No permanent flags permitted" : "Flags permitted"));
    send("* " + std::to_string(box.count()) + " EXISTS\r\n");
    if (!rev2_) {
        send("* " + std::to_string(selected_->announce_recent()) + " RECENT\r\n");
        if (auto unseen = box.first_unseen())
            send(untagged_status(ResponseStatus::ok, ResponseCode::with_number(ResponseCodeKind::unseen, unseen),
                                 "First unseen"));
    }
    send(untagged_status(ResponseStatus::ok,
                         ResponseCode::with_number(ResponseCodeKind::uidvalidity, box.info().uidvalidity),
                         "UIDs valid"));
    send(untagged_status(ResponseStatus::ok, ResponseCode::with_number(ResponseCodeKind::uidnext, box.info().uidnext),
                         "Predicted next UID"));
    send(untagged_status(ResponseStatus::ok, ResponseCode::mailboxid(mailbox_object_id(box.info().uidvalidity)),
                         "Mailbox ID"));  // RFC 8474 4.2
    send(untagged_status(ResponseStatus::ok,
                         ResponseCode::with_number(ResponseCodeKind::highestmodseq, box.info().highestmodseq),
                         "Highest"));
    if (rev2_) {
        // RFC 9051 6.3.2: a LIST response with the mailbox's (normalised) name.
        std::vector<std::string> attributes{box.info().has_children ? "\\HasChildren" : "\\HasNoChildren"};
        if (auto use = storage::special_use_attribute(box.info().special_use); !use.empty())
            attributes.emplace_back(use);
        send(list_response(false, attributes, kHierarchyDelimiter, wire_name(box.info().name)));
    }
    if (qresync) send_qresync(*qresync, opened->since_client);
    spdlog::debug("{} selected {} ({} messages{}{})", connection().log_prefix(), box.info().name, box.count(),
                  examine ? ", read-only" : "",
                  from_cache ? fmt::format(", view from the cache and {} changes", *from_cache) : std::string());
    co_return Tagged::ok(examine ? "Examine completed" : "Select completed",
                         ResponseCode::simple(examine ? ResponseCodeKind::readonly : ResponseCodeKind::readwrite));
}

asio::awaitable<Tagged> Session::on_unselect(const Command&) {
    deselect();
    co_return Tagged::ok("Unselect completed");
}

asio::awaitable<Tagged> Session::on_close(const Command&) {
    // RFC 9051 6.4.1: \Deleted messages go, silently (no EXPUNGE responses), unless read-only.
    if (!selected_->read_only()) {
        const storage::MailboxId mailbox = selected_->id();
        auto result = co_await store().expunge_deleted(mailbox, std::nullopt);
        if (!result && result.error().code != Errc::not_found)
            spdlog::warn("{} CLOSE expunge: {}", connection().log_prefix(), result.error().message);
    }
    deselect();
    co_return Tagged::ok("Close completed");
}

// ---- IDLE -----------------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_idle(const Command& c) {
    // RFC 2177 / RFC 9051 6.3.13: updates as they happen until DONE.
    send(continuation("idling"));
    bool sent = co_await flush();
    if (!sent) co_return Tagged::sent();
    for (;;) {
        // RFC 5465 4: with NOTIFY active, IDLE sends exactly the events NOTIFY asked for.
        if (notify_) co_await deliver_notifications(NotifyMoment::idle);
        else if (selected_) co_await announce_updates(true, false);
        if (ended()) co_return Tagged::sent();
        sent = co_await flush();
        if (!sent) co_return Tagged::sent();
        start_command_deadline();
        net::Line line = co_await connection().read_line(kMaxLineLength, net::Connection::Wakeable::yes);
        connection().clear_command_deadline();
        if (line.status == net::ReadStatus::woken) continue;
        if (line.status == net::ReadStatus::too_long) {
            co_return Tagged::bad("Line too long; expected DONE");
        }
        if (!line.ok()) {
            input_ended(line.status);
            end();
            co_return Tagged::sent();
        }
        if (is_idle_done(line.text)) break;
        co_return Tagged::bad("Expected DONE");
    }
    (void)c;
    co_return Tagged::ok("Idle completed");
}

// ---- shared helpers ---------------------------------------------------------------------------

std::optional<std::string> Session::mailbox_name(std::string_view wire, Tagged& error) const {
    auto decoded = mailbox_from_wire(wire, name_encoding());
    if (!decoded) {
        error = Tagged::no("Invalid mailbox name: " + decoded.error().message,
                           ResponseCode::simple(ResponseCodeKind::cannot));
        return std::nullopt;
    }
    std::string name = storage::normalize_mailbox_name(*decoded);
    if (auto valid = storage::validate_mailbox_name(name); !valid) {
        error = Tagged::no("Invalid mailbox name: " + valid.error().message,
                           ResponseCode::simple(ResponseCodeKind::cannot));
        return std::nullopt;
    }
    return name;
}

Tagged Session::store_failure(const Error& error, std::string_view what) const {
    switch (error.code) {
        case Errc::not_found:
            return Tagged::no("Mailbox does not exist", ResponseCode::simple(ResponseCodeKind::nonexistent));
        case Errc::already_exists:
            return Tagged::no("Mailbox already exists", ResponseCode::simple(ResponseCodeKind::alreadyexists));
        case Errc::invalid_argument: return Tagged::no(error.message, ResponseCode::simple(ResponseCodeKind::cannot));
        case Errc::too_big: return Tagged::no(error.message, ResponseCode::simple(ResponseCodeKind::toobig));
        case Errc::over_quota: return Tagged::no(error.message, ResponseCode::simple(ResponseCodeKind::overquota));
        case Errc::limit_exceeded: return Tagged::no(error.message, ResponseCode::simple(ResponseCodeKind::limit));
        case Errc::busy: return Tagged::no("Mailbox is busy, try again", ResponseCode::simple(ResponseCodeKind::inuse));
        default:
            spdlog::error("{} {}: {}", connection().log_prefix(), what, error.message);
            return Tagged::no("Internal error, try again later", ResponseCode::simple(ResponseCodeKind::serverbug));
    }
}

asio::awaitable<void> run_imap_session(std::shared_ptr<net::Connection> connection, const SessionSettings& settings,
                                       server::SessionEnvironment environment) {
    Session session(std::move(connection), environment, settings);
    co_await session.run();
}

}  // namespace hikyaku::imap
