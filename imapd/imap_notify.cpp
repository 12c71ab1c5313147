// imap_notify.cpp: the NOTIFY extension in the session (see imap_session_internal.h): NOTIFY
// SET [STATUS] and NOTIFY NONE, the mailbox filters, and the events sent as they happen, in
// IDLE and between commands, from the store's change feed (the same wake-up IDLE uses; no
// timer ever polls).
//
// RFC 5465 3.1 (the command, STATUS before the tagged OK, BADEVENT), 4 (IDLE), 5.1-5.5 (what
// each event sends: FETCH or STATUS (UIDVALIDITY HIGHESTMODSEQ) for FlagChange, EXISTS and
// FETCH or STATUS (MESSAGES UIDNEXT ...) for MessageNew, EXPUNGE or STATUS for MessageExpunge,
// LIST with \NonExistent or OLDNAME for MailboxName, LIST with \Subscribed for
// SubscriptionChange), 5.8 (NOTIFICATIONOVERFLOW), 6 (SELECTED, SELECTED-DELAYED, INBOXES,
// PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES).
//
// Must never: send EXPUNGE while a command that uses sequence numbers runs (RFC 9051 7.5.1;
// events wait for the command's end), hold pending events without bound (past
// SessionSettings::notify_max_pending the session overflows to NOTIFY NONE), or answer an
// event it does not support with anything but NO [BADEVENT]. AnnotationChange and the
// METADATA events are refused: the store keeps no annotations or metadata.
//
// Every co_await result is kept in a variable before it is tested (g++ 12).
#include <spdlog/spdlog.h>

#include "imapd/imap_session_internal.h"
#include "storage/store.h"

namespace hikyaku::imap {

namespace {

// The events this server sends (the BADEVENT list, RFC 5465 3.1).
constexpr NotifyEvent kSupportedEvents[] = {NotifyEvent::message_new, NotifyEvent::message_expunge,
                                            NotifyEvent::flag_change, NotifyEvent::mailbox_name,
                                            NotifyEvent::subscription_change};

bool supported(NotifyEvent event) {
    for (NotifyEvent e : kSupportedEvents)
        if (e == event) return true;
    return false;
}

bool is_selected_filter(NotifyFilter f) { return f == NotifyFilter::selected || f == NotifyFilter::selected_delayed; }

bool in_subtree(std::string_view name, std::string_view root) {
    if (name == root) return true;
    return name.size() > root.size() && name.compare(0, root.size(), root) == 0 && name[root.size()] == '/';
}

}  // namespace

const NotifyGroup* Session::NotifyState::selected_group() const {
    for (const NotifyGroup& g : groups)
        if (is_selected_filter(g.filter)) return &g;
    return nullptr;
}

// ---- the command --------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_notify(const Command& c) {
    const NotifyArgs& args = *c.get<NotifyArgs>();
    notify_pending_.clear();
    notify_overflow_ = false;
    if (args.none) {
        notify_ = NotifyState{};  // RFC 5465 3.1: no events at all, from now on
        co_return Tagged::ok("NOTIFY completed");
    }
    // RFC 5465 3.1: an event this server cannot send is refused with NO (not BAD), listing
    // the events it supports.
    for (const NotifyGroup& group : args.groups) {
        bool refused = !group.unknown_events.empty();
        for (NotifyEvent e : group.events) refused = refused || !supported(e);
        if (refused) {
            std::vector<std::string> names;
            for (NotifyEvent e : kSupportedEvents) names.emplace_back(notify_event_name(e));
            co_return Tagged::no("Unsupported NOTIFY event", ResponseCode::badevent(std::move(names)));
        }
    }
    NotifyState state;
    for (const NotifyGroup& group : args.groups) {
        NotifyGroup g = group;
        g.mailboxes.clear();
        for (const std::string& wire : group.mailboxes) {
            // RFC 5465 6: a name that cannot be a mailbox of this user is ignored.
            Tagged ignored;
            if (auto name = mailbox_name(wire, ignored)) g.mailboxes.push_back(std::move(*name));
        }
        state.groups.push_back(std::move(g));
    }
    notify_ = std::move(state);
    watch_changes();
    const bool listed = co_await refresh_mailbox_list(false);
    if (!listed) {
        notify_.reset();
        co_return Tagged::no("Internal error, try again later", ResponseCode::simple(ResponseCodeKind::serverbug));
    }
    if (args.status) {
        // RFC 5465 3.1: a STATUS for each mailbox other than the selected one whose message
        // events are asked for, before the tagged OK.
        std::vector<std::pair<storage::MailboxId, std::string>> boxes;
        for (const auto& [id, known] : known_mailboxes_)
            if (!selected_ || selected_->id() != id) boxes.emplace_back(id, known.name);
        std::sort(boxes.begin(), boxes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
        for (const auto& [id, name] : boxes) {
            unsigned events = 0;
            if (notify_wants(name, NotifyEvent::message_new)) events |= pending_new;
            if (notify_wants(name, NotifyEvent::message_expunge)) events |= pending_expunge;
            if (notify_wants(name, NotifyEvent::flag_change)) events |= pending_flags;
            if (events != 0) co_await send_notify_status(id, name, events, true);
            if (ended()) co_return Tagged::sent();
        }
    }
    // The selected mailbox's pending changes follow from dispatch() (RFC 5465 3.1: an implicit
    // NOOP).
    co_return Tagged::ok("NOTIFY completed");
}

// ---- matching ------------------------------------------------------------------------------

bool Session::notify_wants(std::string_view name, NotifyEvent event) const {
    if (!notify_) return false;
    // RFC 5465 6: the groups in order; a matching group with NONE ends the search.
    for (const NotifyGroup& group : notify_->groups) {
        if (is_selected_filter(group.filter)) continue;  // the selected mailbox is handled apart
        bool matches = false;
        switch (group.filter) {
            case NotifyFilter::personal:
                matches = true;
                break;  // every mailbox is the user's own
            // RFC 5465 6.3: the mailboxes mail is delivered to; hikyaku delivers only to INBOX.
            case NotifyFilter::inboxes: matches = name == "INBOX"; break;
            case NotifyFilter::subscribed: matches = known_subscriptions_.count(std::string(name)) > 0; break;
            case NotifyFilter::subtree:
                for (const std::string& root : group.mailboxes) matches = matches || in_subtree(name, root);
                break;
            case NotifyFilter::mailboxes:  // RFC 5465 6.6: no wildcard expansion
                for (const std::string& m : group.mailboxes) matches = matches || name == m;
                break;
            default: break;
        }
        if (!matches) continue;
        if (group.events.empty()) return false;
        if (group.has(event)) return true;
    }
    return false;
}

// ---- the change feed ----------------------------------------------------------------------

void Session::note_change(const storage::MailboxChange& change) {
    using storage::ChangeKind;
    bool wake = false;
    const storage::MailboxId selected_id = selected_ ? selected_->id() : 0;
    if (selected_ && change.kind != ChangeKind::mailboxes && (change.mailbox == 0 || change.mailbox == selected_id) &&
        !(change.modseq != 0 && change.modseq <= selected_->known_modseq())) {
        changes_pending_ = true;
        wake = true;
    }
    if (notify_ && !notify_overflow_) {
        if (change.kind == ChangeKind::mailboxes || change.kind == ChangeKind::unknown) {
            notify_list_pending_ = true;
            wake = true;
        }
        unsigned bits = 0;
        switch (change.kind) {
            case ChangeKind::appended: bits = pending_new; break;
            case ChangeKind::expunged: bits = pending_expunge; break;
            case ChangeKind::flags: bits = pending_flags; break;
            case ChangeKind::unknown: bits = pending_new | pending_expunge | pending_flags; break;
            default: break;
        }
        if (bits != 0) {
            if (change.mailbox == 0) {
                // Unknown which mailbox (the data_version fallback): every known one is looked at.
                for (const auto& [id, known] : known_mailboxes_)
                    if (id != selected_id) notify_pending_[id] |= bits;
            } else if (change.mailbox != selected_id) {
                notify_pending_[change.mailbox] |= bits;
            }
            // RFC 5465 5.8: more than this session will hold; it gives up on NOTIFY.
            if (notify_pending_.size() > s_.notify_max_pending) notify_overflow_ = true;
            wake = true;
        }
    }
    if (wake) connection().wake();
}

// ---- sending ------------------------------------------------------------------------------

asio::awaitable<bool> Session::refresh_mailbox_list(bool announce) {
    notify_list_pending_ = false;
    const storage::UserId user = user_->id;
    struct Lists {
        std::vector<storage::MailboxInfo> boxes;
        std::vector<std::string> subscriptions;
    };
    auto lists = co_await store().read([&]() -> Result<Lists> {
        auto boxes = store()->list_mailboxes(user);
        if (!boxes) return boxes.error();
        auto subscriptions = store()->list_subscriptions(user);
        if (!subscriptions) return subscriptions.error();
        return Lists{std::move(*boxes), std::move(*subscriptions)};
    });
    if (!lists) {
        spdlog::warn("{} NOTIFY mailbox list: {}", connection().log_prefix(), lists.error().message);
        co_return false;
    }
    std::map<storage::MailboxId, KnownMailbox> boxes;
    for (const auto& info : lists->boxes) boxes[info.id] = KnownMailbox{info.name, info.has_children, info.special_use};
    std::set<std::string> subscriptions(lists->subscriptions.begin(), lists->subscriptions.end());
    if (announce && notify_) {
        auto attributes = [&](const KnownMailbox& box, bool subscribed) {
            std::vector<std::string> a{box.has_children ? "\\HasChildren" : "\\HasNoChildren"};
            if (auto use = storage::special_use_attribute(box.special_use); !use.empty()) a.emplace_back(use);
            if (subscribed) a.emplace_back("\\Subscribed");
            return a;
        };
        // RFC 5465 5.4: a LIST for each mailbox created, deleted (\NonExistent) or renamed
        // (the new name, with OLDNAME).
        for (const auto& [id, old] : known_mailboxes_) {
            auto now = boxes.find(id);
            if (now == boxes.end()) {
                if (notify_wants(old.name, NotifyEvent::mailbox_name))
                    send(list_response(false, std::vector<std::string>{"\\NonExistent"}, kHierarchyDelimiter,
                                       wire_name(old.name)));
            } else if (now->second.name != old.name) {
                if (notify_wants(now->second.name, NotifyEvent::mailbox_name) ||
                    notify_wants(old.name, NotifyEvent::mailbox_name)) {
                    std::string oldname = "(\"OLDNAME\" (";
                    append_astring(oldname, wire_name(old.name));
                    oldname += "))";
                    send(list_response(false, attributes(now->second, subscriptions.count(now->second.name) > 0),
                                       kHierarchyDelimiter, wire_name(now->second.name), oldname));
                }
            }
        }
        for (const auto& [id, box] : boxes) {
            if (known_mailboxes_.count(id) == 0 && notify_wants(box.name, NotifyEvent::mailbox_name))
                send(list_response(false, attributes(box, subscriptions.count(box.name) > 0), kHierarchyDelimiter,
                                   wire_name(box.name)));
        }
        // RFC 5465 5.5: a LIST for each name subscribed or unsubscribed, \Subscribed if it is
        // subscribed now. A rename carries its subscriptions along: not a change of its own.
        std::set<std::string> renamed;
        for (const auto& [id, old] : known_mailboxes_) {
            auto now = boxes.find(id);
            if (now != boxes.end() && now->second.name != old.name) {
                renamed.insert(old.name);
                renamed.insert(now->second.name);
            }
        }
        auto subscription_changed = [&](const std::string& name, bool subscribed) {
            if (renamed.count(name) > 0 || !notify_wants(name, NotifyEvent::subscription_change)) return;
            const KnownMailbox* box = nullptr;
            for (const auto& [id, b] : boxes)
                if (b.name == name) box = &b;
            std::vector<std::string> a;
            if (box) a = attributes(*box, subscribed);
            else {
                a.emplace_back("\\NonExistent");
                if (subscribed) a.emplace_back("\\Subscribed");
            }
            send(list_response(false, a, kHierarchyDelimiter, wire_name(name)));
        };
        for (const std::string& name : subscriptions)
            if (known_subscriptions_.count(name) == 0) subscription_changed(name, true);
        for (const std::string& name : known_subscriptions_)
            if (subscriptions.count(name) == 0) subscription_changed(name, false);
    }
    known_mailboxes_ = std::move(boxes);
    known_subscriptions_ = std::move(subscriptions);
    co_return true;
}

asio::awaitable<void> Session::send_notify_status(storage::MailboxId id, const std::string& name, unsigned events,
                                                  bool initial) {
    auto status = co_await store().read([&] { return store()->mailbox_status(id); });
    if (!status) co_return;  // deleted meanwhile: MailboxName tells of that
    std::vector<std::pair<StatusItem, std::uint64_t>> items;
    const bool messages = events & (pending_new | pending_expunge);
    if (messages) items.emplace_back(StatusItem::messages, status->messages);
    // RFC 5465 5.2, 5.3: STATUS (UIDNEXT MESSAGES) for new and expunged messages; the first
    // STATUS of NOTIFY SET STATUS gives UIDNEXT and UIDVALIDITY with MessageNew only (3.1).
    if ((events & pending_new) || (!initial && (events & pending_expunge)))
        items.emplace_back(StatusItem::uidnext, status->uidnext);
    if (events & (pending_new | pending_flags)) items.emplace_back(StatusItem::uidvalidity, status->uidvalidity);
    // RFC 5465 5.1: a flag change elsewhere is told by UIDVALIDITY and HIGHESTMODSEQ; 5.2, 5.3:
    // HIGHESTMODSEQ with the others once CONDSTORE is enabled.
    if ((events & pending_flags) || (messages && condstore_))
        items.emplace_back(StatusItem::highestmodseq, status->highestmodseq);
    send(status_data_response(wire_name(name), items));
}

asio::awaitable<void> Session::deliver_notifications(NotifyMoment moment) {
    if (!notify_) co_return;
    if (notify_overflow_) {
        // RFC 5465 5.8: tell the client, then behave as after NOTIFY NONE.
        notify_overflow_ = false;
        notify_pending_.clear();
        notify_list_pending_ = false;
        notify_ = NotifyState{};
        send(untagged_status(ResponseStatus::ok, ResponseCode::simple(ResponseCodeKind::notificationoverflow),
                             "Too many events; NOTIFY is now NONE"));
        spdlog::info("{} NOTIFY overflow", connection().log_prefix());
        co_return;
    }
    if (notify_list_pending_) co_await refresh_mailbox_list(true);
    std::map<storage::MailboxId, unsigned> pending;
    pending.swap(notify_pending_);
    for (const auto& [id, bits] : pending) {
        if (selected_ && selected_->id() == id) continue;
        auto known = known_mailboxes_.find(id);
        if (known == known_mailboxes_.end()) continue;  // created and gone, or not listed yet
        const std::string name = known->second.name;
        unsigned events = 0;
        if ((bits & pending_new) && notify_wants(name, NotifyEvent::message_new)) events |= pending_new;
        if ((bits & pending_expunge) && notify_wants(name, NotifyEvent::message_expunge)) events |= pending_expunge;
        if ((bits & pending_flags) && notify_wants(name, NotifyEvent::flag_change)) events |= pending_flags;
        if (events != 0) co_await send_notify_status(id, name, events, false);
        if (ended()) co_return;
    }
    if (moment == NotifyMoment::command_end || !selected_) co_return;
    // The selected mailbox: only what its SELECTED or SELECTED-DELAYED filter asks for (RFC
    // 5465 3.1: no such filter is SELECTED NONE).
    const NotifyGroup* group = notify_->selected_group();
    if (!group || group->events.empty() || !changes_pending_) co_return;
    // SELECTED-DELAYED holds expunges back until a command allows them (RFC 5465 6.1.2); IDLE
    // allows them (RFC 5465 4).
    const bool expunges = moment == NotifyMoment::idle || group->filter == NotifyFilter::selected;
    const storage::Uid highest_before = selected_->highest_uid();
    if (!group->has(NotifyEvent::flag_change)) {
        // Learn first, so the flag changes dropped are the ones seen now.
        const storage::MailboxId mailbox = selected_->id();
        const storage::ModSeq since = selected_->known_modseq();
        auto changes = co_await store().read([&] { return store()->changes_since(mailbox, since); });
        if (changes && selected_ && selected_->id() == mailbox) {
            selected_->learn(*changes);
            selected_->forget_flag_updates();
        }
    }
    co_await announce_updates(expunges, false);
    if (ended() || !selected_) co_return;
    // RFC 5465 5.2: after EXISTS, a FETCH of the new messages with the attributes MessageNew
    // asked for (by UID, so the numbers cannot mislead).
    const storage::Uid highest_now = selected_->highest_uid();
    if (!group->message_new_items.empty() && highest_now > highest_before) {
        Command fetch;
        fetch.verb = Verb::fetch;
        fetch.uid = true;
        FetchArgs args;
        args.set = *SequenceSet::parse(std::to_string(highest_before + 1) + ":" + std::to_string(highest_now));
        args.items = group->message_new_items;
        fetch.args = std::move(args);
        Tagged fetched = co_await on_fetch(fetch);
        if (fetched.status != ResponseStatus::ok && !fetched.already_sent)
            spdlog::info("{} NOTIFY MessageNew FETCH: {}", connection().log_prefix(), fetched.text);
    }
}

}  // namespace hikyaku::imap
