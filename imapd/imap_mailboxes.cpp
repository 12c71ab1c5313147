// imap_mailboxes.cpp: the IMAP commands about mailboxes as a whole (see imap_session.h).
//
// RFC 9051 6.3.4 (CREATE: a trailing delimiter is dropped, parents are created), 6.3.5
// (DELETE: not INBOX), 6.3.6 (RENAME: INBOX moves its messages), 6.3.7-8 (SUBSCRIBE,
// UNSUBSCRIBE: names need not exist), 6.3.9 (LIST: "*" and "%", the empty pattern asks for
// the delimiter; \HasChildren/\HasNoChildren; \Subscribed; \NonExistent), 6.3.10 (NAMESPACE),
// 6.3.11 (STATUS), 6.3.12 (APPEND: [TRYCREATE] for a mailbox that does not exist, the date
// defaults to now); RFC 3501 6.3.9 (LSUB, and \Noselect for a pattern-matched parent of a
// subscription); RFC 5258 (LIST-EXTENDED: selection and return options, CHILDINFO), RFC 5819
// (LIST-STATUS), RFC 6154 (SPECIAL-USE attributes; 3: CREATE USE, [USEATTR]), RFC 4315 (APPENDUID),
// RFC 3502 (MULTIAPPEND: all or none), RFC 6855 4 (APPEND UTF8), RFC 7889 (APPENDLIMIT status item), RFC 8474 4 (MAILBOXID: CREATE's OK, STATUS).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "imapd/binary_append.h"
#include "imapd/imap_session_internal.h"
#include "imapd/object_id.h"
#include "storage/store.h"

namespace hikyaku::imap {

namespace {

storage::SpecialUse special_use_of(std::string_view attribute) {
    static const std::pair<const char*, storage::SpecialUse> uses[] = {
        {"\\SENT", storage::SpecialUse::sent},       {"\\DRAFTS", storage::SpecialUse::drafts},
        {"\\TRASH", storage::SpecialUse::trash},     {"\\JUNK", storage::SpecialUse::junk},
        {"\\ARCHIVE", storage::SpecialUse::archive},
    };
    for (auto [name, use] : uses)
        if (ascii_upper(attribute) == name) return use;
    return storage::SpecialUse::none;
}

}  // namespace

// ---- CREATE, DELETE, RENAME, SUBSCRIBE --------------------------------------------------------

asio::awaitable<Tagged> Session::on_create(const Command& c) {
    const MailboxArgs& args = *c.get<MailboxArgs>();
    std::string wire = args.mailbox;
    while (!wire.empty() && wire.back() == kHierarchyDelimiter) wire.pop_back();  // RFC 9051 6.3.4
    Tagged error;
    auto name = mailbox_name(wire, error);
    if (!name) co_return error;
    if (*name == "INBOX")
        co_return Tagged::no("INBOX always exists", ResponseCode::simple(ResponseCodeKind::alreadyexists));
    // RFC 6154 3 (CREATE-SPECIAL-USE): a use the store cannot hold, or one another mailbox
    // already has, refuses the CREATE with [USEATTR]; nothing is created.
    storage::SpecialUse use = storage::SpecialUse::none;
    if (!args.special_use.empty()) {
        const auto useattr = ResponseCode::simple(ResponseCodeKind::useattr);
        if (args.special_use.size() > 1) co_return Tagged::no("One special use per mailbox", useattr);
        use = special_use_of(args.special_use.front());
        if (use == storage::SpecialUse::none)
            co_return Tagged::no("Unsupported special use " + args.special_use.front(), useattr);
        const storage::UserId owner = user_->id;
        auto boxes = co_await store().read([&] { return store()->list_mailboxes(owner); });
        if (!boxes) co_return store_failure(boxes.error(), "create");
        for (const auto& box : *boxes)
            if (box.special_use == use)
                co_return Tagged::no(
                    std::string(storage::special_use_attribute(use)) + " is already used by " + wire_name(box.name),
                    useattr);
    }
    auto created = co_await store().create_mailbox(user_->id, *name, use);
    if (!created) co_return store_failure(created.error(), "create");
    co_return Tagged::ok("Create completed", ResponseCode::mailboxid(mailbox_object_id(created->uidvalidity)));
}

asio::awaitable<Tagged> Session::on_delete(const Command& c) {
    Tagged error;
    auto name = mailbox_name(c.get<MailboxArgs>()->mailbox, error);
    if (!name) co_return error;
    if (*name == "INBOX")
        co_return Tagged::no("INBOX cannot be deleted", ResponseCode::simple(ResponseCodeKind::cannot));
    const storage::UserId user = user_->id;
    auto info = co_await store().read([&] { return store()->find_mailbox(user, *name); });
    if (!info) co_return store_failure(info.error(), "delete");
    if (info->has_children)
        co_return Tagged::no("Mailbox has child mailboxes; delete them first",
                             ResponseCode::simple(ResponseCodeKind::haschildren));
    const bool was_selected = selected_ && selected_->id() == info->id;
    auto deleted = co_await store().delete_mailbox(user, *name);
    if (!deleted) co_return store_failure(deleted.error(), "delete");
    if (was_selected) deselect();  // its messages are gone with it
    co_return Tagged::ok("Delete completed");
}

asio::awaitable<Tagged> Session::on_rename(const Command& c) {
    const RenameArgs& args = *c.get<RenameArgs>();
    Tagged error;
    auto from = mailbox_name(args.from, error);
    if (!from) co_return error;
    std::string to_wire = args.to;
    while (!to_wire.empty() && to_wire.back() == kHierarchyDelimiter) to_wire.pop_back();
    auto to = mailbox_name(to_wire, error);
    if (!to) co_return error;
    if (*to == "INBOX")
        co_return Tagged::no("INBOX already exists", ResponseCode::simple(ResponseCodeKind::alreadyexists));
    auto renamed = co_await store().rename_mailbox(user_->id, *from, *to);
    if (!renamed) co_return store_failure(renamed.error(), "rename");
    // A renamed selected mailbox stays selected (its id and UIDVALIDITY do not change), as it
    // does when another session renames it: the client was told of no change of state.
    co_return Tagged::ok("Rename completed");
}

asio::awaitable<Tagged> Session::on_subscribe(const Command& c) {
    Tagged error;
    auto name = mailbox_name(c.get<MailboxArgs>()->mailbox, error);
    if (!name) co_return error;
    const bool subscribe = c.verb == Verb::subscribe;
    auto done = co_await store().set_subscribed(user_->id, *name, subscribe);
    if (!done) co_return store_failure(done.error(), subscribe ? "subscribe" : "unsubscribe");
    co_return Tagged::ok(subscribe ? "Subscribe completed" : "Unsubscribe completed");
}

// ---- LIST, LSUB, NAMESPACE --------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_list(const Command& c) {
    const ListArgs& args = *c.get<ListArgs>();
    const bool lsub = c.verb == Verb::lsub;
    // RFC 9051 6.3.9: LIST "" "" asks only for the delimiter and the root.
    if (!lsub && args.patterns.size() == 1 && args.patterns.front().empty() && !args.extended) {
        send(list_response(false, std::vector<std::string>{"\\Noselect"}, kHierarchyDelimiter, ""));
        co_return Tagged::ok("List completed");
    }
    auto reference = mailbox_from_wire(args.reference, name_encoding());
    if (!reference) co_return Tagged::bad("Invalid reference name: " + reference.error().message);
    std::vector<ListPattern> patterns;
    for (const auto& p : args.patterns) {
        if (p.empty()) continue;
        // A pattern that is not valid modified UTF-7 can match no name that is; it is used as
        // written (RFC 9051 6.3.9 only asks that it be a list-mailbox), as Dovecot does.
        auto decoded = mailbox_from_wire(p, name_encoding());
        auto compiled = ListPattern::compile(*reference, decoded ? *decoded : p);
        if (!compiled) co_return Tagged::bad("Invalid pattern: " + compiled.error().message);
        patterns.push_back(std::move(*compiled));
    }
    const storage::UserId user = user_->id;
    struct Listing {
        std::vector<storage::MailboxInfo> mailboxes;
        std::vector<std::string> subscriptions;
    };
    auto listing = co_await store().read([&]() -> Result<Listing> {
        auto boxes = store()->list_mailboxes(user);
        if (!boxes) return boxes.error();
        auto subs = store()->list_subscriptions(user);
        if (!subs) return subs.error();
        return Listing{std::move(*boxes), std::move(*subs)};
    });
    if (!listing) co_return store_failure(listing.error(), "list");
    auto matches = [&](std::string_view name) {
        return std::any_of(patterns.begin(), patterns.end(), [&](const ListPattern& p) { return p.matches(name); });
    };
    std::map<std::string, const storage::MailboxInfo*> existing;
    for (const auto& m : listing->mailboxes) existing[m.name] = &m;
    const std::set<std::string> subscribed(listing->subscriptions.begin(), listing->subscriptions.end());

    if (lsub) {
        // RFC 3501 6.3.9: subscribed names; a parent matched by "%" whose child is subscribed
        // is listed \Noselect.
        std::set<std::string> shown;
        for (const auto& name : subscribed) {
            if (matches(name)) {
                shown.insert(name);
                continue;
            }
            for (auto pos = name.rfind(kHierarchyDelimiter); pos != std::string::npos && pos > 0;
                 pos = name.rfind(kHierarchyDelimiter, pos - 1)) {
                std::string parent = name.substr(0, pos);
                if (matches(parent) && !subscribed.count(parent)) {
                    send(list_response(true, std::vector<std::string>{"\\Noselect"}, kHierarchyDelimiter,
                                       wire_name(parent)));
                    break;
                }
            }
        }
        for (const auto& name : shown) {
            std::vector<std::string> attributes;
            if (!existing.count(name)) attributes.emplace_back("\\Noselect");
            send(list_response(true, attributes, kHierarchyDelimiter, wire_name(name)));
        }
        co_return Tagged::ok("Lsub completed");
    }

    // LIST, with the RFC 5258 selection and return options.
    std::vector<std::string> names;
    if (args.select_subscribed) {
        for (const auto& s : subscribed) names.push_back(s);
        for (const auto& [name, _] : existing) names.push_back(name);  // for RECURSIVEMATCH parents
    } else {
        for (const auto& [name, _] : existing) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    // INBOX first, as clients expect it there.
    std::stable_partition(names.begin(), names.end(), [](const std::string& n) { return n == "INBOX"; });
    for (const auto& name : names) {
        if (!matches(name)) continue;
        auto found = existing.find(name);
        const storage::MailboxInfo* info = found == existing.end() ? nullptr : found->second;
        const bool is_subscribed = subscribed.count(name) > 0;
        std::string extended;
        if (args.select_subscribed && !is_subscribed) {
            // RFC 5258 4: with RECURSIVEMATCH, a parent is listed with CHILDINFO ("SUBSCRIBED")
            // when a subscribed descendant would otherwise go unseen: one the patterns do not
            // match themselves.
            if (!args.select_recursive_match) continue;
            const std::string prefix = name + kHierarchyDelimiter;
            const bool child_subscribed = std::any_of(subscribed.begin(), subscribed.end(), [&](const std::string& s) {
                return s.compare(0, prefix.size(), prefix) == 0 && !matches(s);
            });
            if (!child_subscribed) continue;
            extended = "(\"CHILDINFO\" (\"SUBSCRIBED\"))";
        }
        if (args.select_special_use && (!info || info->special_use == storage::SpecialUse::none)) continue;
        std::vector<std::string> attributes;
        if (!info) {
            attributes.emplace_back("\\NonExistent");
        } else {
            attributes.emplace_back(info->has_children ? "\\HasChildren" : "\\HasNoChildren");
            if (auto use = storage::special_use_attribute(info->special_use); !use.empty())
                attributes.emplace_back(use);
        }
        if ((args.select_subscribed || args.return_subscribed) && is_subscribed)
            attributes.emplace_back("\\Subscribed");
        send(list_response(false, attributes, kHierarchyDelimiter, wire_name(name), extended));
        if (args.return_status && info) {
            // RFC 5819: the STATUS of each selectable mailbox listed, right after its LIST.
            const storage::MailboxId id = info->id;
            auto status = co_await store().read([&] { return store()->mailbox_status(id); });
            if (!status) continue;
            std::vector<std::pair<StatusItem, std::uint64_t>> items;
            for (StatusItem item : *args.return_status) {
                switch (item) {
                    case StatusItem::messages: items.emplace_back(item, status->messages); break;
                    case StatusItem::uidnext: items.emplace_back(item, status->uidnext); break;
                    case StatusItem::uidvalidity: items.emplace_back(item, status->uidvalidity); break;
                    case StatusItem::unseen: items.emplace_back(item, status->unseen); break;
                    case StatusItem::deleted: items.emplace_back(item, status->deleted); break;
                    case StatusItem::size: items.emplace_back(item, status->size); break;
                    case StatusItem::recent: items.emplace_back(item, status->recent); break;
                    case StatusItem::highestmodseq: items.emplace_back(item, status->highestmodseq); break;
                    case StatusItem::appendlimit: items.emplace_back(item, s_.append_limit); break;
                    case StatusItem::mailboxid: items.emplace_back(item, status->uidvalidity); break;
                }
            }
            send(status_data_response(wire_name(name), items));
        }
    }
    co_return Tagged::ok("List completed");
}

asio::awaitable<Tagged> Session::on_namespace(const Command&) {
    // RFC 2342 / RFC 9051 6.3.10: one personal namespace, no prefix, "/" as the delimiter.
    send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
    co_return Tagged::ok("Namespace completed");
}

// ---- STATUS ---------------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_status(const Command& c) {
    const StatusArgs& args = *c.get<StatusArgs>();
    // RFC 7162 3.1: STATUS ... (HIGHESTMODSEQ) enables CONDSTORE.
    if (std::find(args.items.begin(), args.items.end(), StatusItem::highestmodseq) != args.items.end())
        enable_condstore();
    Tagged error;
    auto name = mailbox_name(args.mailbox, error);
    if (!name) co_return error;
    const storage::UserId user = user_->id;
    auto status = co_await store().read([&]() -> Result<storage::MailboxStatus> {
        auto info = store()->find_mailbox(user, *name);
        if (!info) return info.error();
        return store()->mailbox_status(info->id);
    });
    if (!status) co_return store_failure(status.error(), "status");
    std::vector<std::pair<StatusItem, std::uint64_t>> items;
    for (StatusItem item : args.items) {
        std::uint64_t value = 0;
        switch (item) {
            case StatusItem::messages: value = status->messages; break;
            case StatusItem::uidnext: value = status->uidnext; break;
            case StatusItem::uidvalidity: value = status->uidvalidity; break;
            case StatusItem::unseen: value = status->unseen; break;
            case StatusItem::deleted: value = status->deleted; break;
            case StatusItem::size: value = status->size; break;
            case StatusItem::recent: value = status->recent; break;
            case StatusItem::highestmodseq: value = status->highestmodseq; break;
            case StatusItem::appendlimit: value = s_.append_limit; break;
            case StatusItem::mailboxid: value = status->uidvalidity; break;  // written as its objectid
        }
        items.emplace_back(item, value);
    }
    send(status_data_response(wire_name(*name == "INBOX" ? std::string("INBOX") : *name), items));
    co_return Tagged::ok("Status completed");
}

// ---- APPEND ---------------------------------------------------------------------------------

asio::awaitable<Tagged> Session::on_append(const Command& c) {
    const AppendArgs& args = *c.get<AppendArgs>();
    for (const AppendMessage& message : args.messages) {
        if (!message.catenate && message.data.empty()) co_return Tagged::no("Cannot save an empty message");
        if (message.utf8 && !utf8_accept_) co_return Tagged::bad("APPEND UTF8 needs ENABLE UTF8=ACCEPT");  // RFC 6855 4
    }
    Tagged error;
    auto name = mailbox_name(args.mailbox, error);
    if (!name) co_return error;
    const storage::UserId user = user_->id;
    auto info = co_await store().read([&] { return store()->find_mailbox(user, *name); });
    if (!info) {
        if (info.error().code == Errc::not_found)
            co_return Tagged::no("Mailbox does not exist", ResponseCode::simple(ResponseCodeKind::trycreate));
        co_return store_failure(info.error(), "append");
    }
    // RFC 4469: every CATENATE is built before anything is stored, so a bad URL or a message
    // too large leaves the store untouched. All the messages of one APPEND together may be as
    // large as the framer lets one command be (sent or referenced alike).
    const std::uint64_t message_limit = s_.append_limit > 0 ? s_.append_limit : kMaxAppendLiteralSize;
    std::uint64_t command_room = reader_.limits().max_command_size;
    std::vector<std::string> assembled(args.messages.size());
    for (std::size_t i = 0; i < args.messages.size(); ++i) {
        const AppendMessage& message = args.messages[i];
        if (!message.catenate) {
            command_room -= std::min(command_room, message.data.size());
            continue;
        }
        const std::uint64_t budget = std::min(message_limit, command_room);
        std::optional<Tagged> failure = co_await assemble_catenate(*message.catenate, assembled[i], budget);
        if (failure) co_return *failure;
        if (assembled[i].empty()) co_return Tagged::no("Cannot save an empty message");
        command_room -= std::min(command_room, assembled[i].size());
    }
    // RFC 3516 4.4: binary content sent as literal8 is kept in base64.
    std::vector<std::optional<std::string>> converted(args.messages.size());
    std::vector<storage::AppendItem> items;
    for (std::size_t i = 0; i < args.messages.size(); ++i) {
        const AppendMessage& message = args.messages[i];
        const std::string& data = message.catenate ? assembled[i] : message.data;
        // RFC 4469 5 with RFC 3516: a CATENATE with a literal8 TEXT part is binary content as a whole.
        const bool binary =
            message.binary || (message.catenate && std::any_of(message.catenate->begin(), message.catenate->end(),
                                                               [](const CatenatePart& p) { return p.binary; }));
        if (binary && !message.utf8) {  // UTF8 data is an RFC 6532 message: kept as sent
            bool unfixable = false;
            converted[i] = encode_binary_parts(data, unfixable);
            if (unfixable)
                co_return Tagged::no("NUL octets outside a message body cannot be stored",
                                     ResponseCode::simple(ResponseCodeKind::unknown_cte));
        }
        storage::AppendItem item;
        item.message.raw = converted[i] ? std::string_view(*converted[i]) : std::string_view(data);
        if (message.flags) {
            item.flags = message.flags->system;
            item.keywords = message.flags->keywords;
        }
        item.internal_date = message.internal_date ? message.internal_date->utc : now();
        items.push_back(std::move(item));
    }
    const storage::MailboxId mailbox = info->id;
    std::vector<std::uint32_t> uids;
    std::uint32_t uidvalidity = 0;
    if (items.size() == 1) {
        const storage::AppendItem& item = items.front();
        auto appended =
            co_await store().append(mailbox, item.message.raw, item.flags, item.keywords, item.internal_date);
        if (!appended) co_return store_failure(appended.error(), "append");
        uids.push_back(appended->uid);
        uidvalidity = appended->uidvalidity;
    } else {
        // RFC 3502 6.3.11: all or none, in one store transaction.
        auto appended = co_await store().append_all(mailbox, std::move(items));
        if (!appended) co_return store_failure(appended.error(), "append");
        for (const auto& a : *appended) uids.push_back(a.uid);
        uidvalidity = appended->front().uidvalidity;
    }
    if (selected_ && selected_->id() == mailbox) changes_pending_ = true;
    co_return Tagged::ok("Append completed", ResponseCode::appenduid(uidvalidity, uids));
}

}  // namespace hikyaku::imap
