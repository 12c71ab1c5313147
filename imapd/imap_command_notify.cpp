// imap_command_notify.cpp: the NOTIFY grammar (see imap_command.h): NOTIFY NONE and NOTIFY SET
// [STATUS] with its event groups, mailbox filters, events and MessageNew's FETCH attributes.
// RFC 5465 8 (notify, notify-set, notify-none, event-group, filter-mailboxes,
// one-or-more-mailbox, events, event, message-event, mailbox-event, user-event, event-ext),
// 5 (the composition rules answered BAD), 6.1 (one SELECTED filter, message events only).
//
// Must never: accept more groups, mailbox names or events than GrammarLimits allows, or a
// second SELECTED/SELECTED-DELAYED filter. Unknown event names (event-ext) are kept, not
// refused: the session answers them NO [BADEVENT] (RFC 5465 3.1), not BAD.
#include "imapd/imap_command_parser.h"

namespace hikyaku::imap {

bool is_message_event(NotifyEvent event) {
    switch (event) {
        case NotifyEvent::message_new:
        case NotifyEvent::message_expunge:
        case NotifyEvent::flag_change:
        case NotifyEvent::annotation_change: return true;
        default: return false;
    }
}

const char* notify_event_name(NotifyEvent event) {
    switch (event) {
        case NotifyEvent::message_new: return "MessageNew";
        case NotifyEvent::message_expunge: return "MessageExpunge";
        case NotifyEvent::flag_change: return "FlagChange";
        case NotifyEvent::annotation_change: return "AnnotationChange";
        case NotifyEvent::mailbox_name: return "MailboxName";
        case NotifyEvent::subscription_change: return "SubscriptionChange";
        case NotifyEvent::mailbox_metadata_change: return "MailboxMetadataChange";
        case NotifyEvent::server_metadata_change: return "ServerMetadataChange";
    }
    return "?";
}

bool NotifyGroup::has(NotifyEvent event) const {
    for (NotifyEvent e : events)
        if (e == event) return true;
    return false;
}

namespace detail {
namespace {

constexpr std::pair<std::string_view, NotifyFilter> kFilters[] = {
    {"SELECTED", NotifyFilter::selected},     {"SELECTED-DELAYED", NotifyFilter::selected_delayed},
    {"INBOXES", NotifyFilter::inboxes},       {"PERSONAL", NotifyFilter::personal},
    {"SUBSCRIBED", NotifyFilter::subscribed}, {"SUBTREE", NotifyFilter::subtree},
    {"MAILBOXES", NotifyFilter::mailboxes},
};

constexpr NotifyEvent kEvents[] = {
    NotifyEvent::message_new,
    NotifyEvent::message_expunge,
    NotifyEvent::flag_change,
    NotifyEvent::annotation_change,
    NotifyEvent::mailbox_name,
    NotifyEvent::subscription_change,
    NotifyEvent::mailbox_metadata_change,
    NotifyEvent::server_metadata_change,
};

bool is_selected_filter(NotifyFilter f) { return f == NotifyFilter::selected || f == NotifyFilter::selected_delayed; }

}  // namespace

// event-group = "(" filter-mailboxes SP events ")"
bool Parser::notify_group(NotifyGroup& out, std::size_t& mailboxes) {
    if (!lex.take('(')) return fail("expected \"(\" before an event group");
    const std::string filter = ascii_upper(lex.atom());
    bool known = false;
    for (const auto& [word, kind] : kFilters) {
        if (filter == word) {
            out.filter = kind;
            known = true;
        }
    }
    if (!known) return fail("unknown mailbox filter " + quote_for_error(filter));
    if (out.filter == NotifyFilter::subtree || out.filter == NotifyFilter::mailboxes) {
        // one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
        if (!sp()) return false;
        const bool many = lex.take('(');
        while (true) {
            if (mailboxes >= limits.max_notify_mailboxes) return fail_limit("too many mailboxes in NOTIFY");
            std::string name;
            if (!mailbox(name)) return false;
            ++mailboxes;
            out.mailboxes.push_back(std::move(name));
            if (!many || lex.take(')')) break;
            if (!sp()) return false;
        }
    }
    if (!sp()) return false;
    // events = ( "(" event *(SP event) ")" ) / "NONE"
    if (lex.take_word("NONE", is_atom_char)) {
        if (!lex.take(')')) return fail("expected \")\" after NONE");
        return true;
    }
    if (!lex.take('(')) return fail("expected \"(\" before the events");
    std::size_t count = 0;
    bool after_message_new = false;  // MessageNew's fetch-att list may follow it
    while (true) {
        if (after_message_new && lex.peek() == '(') {
            // "MessageNew" SP "(" fetch-att *(SP fetch-att) ")"
            lex.take('(');
            while (true) {
                if (!fetch_item(out.message_new_items)) return false;
                if (lex.take(')')) break;
                if (!sp()) return false;
            }
            after_message_new = false;
        } else {
            const std::string_view word = lex.atom();
            if (word.empty()) return fail("expected an event name");
            if (count >= limits.max_notify_events) return fail_limit("too many events in one NOTIFY group");
            ++count;
            after_message_new = false;
            bool found = false;
            for (NotifyEvent e : kEvents) {
                if (!iequals(word, notify_event_name(e))) continue;
                found = true;
                if (!out.has(e)) out.events.push_back(e);
                after_message_new = e == NotifyEvent::message_new && out.message_new_items.empty();
            }
            if (!found) out.unknown_events.emplace_back(word);
        }
        if (lex.take(')')) break;
        if (!sp()) return false;
    }
    if (!lex.take(')')) return fail("expected \")\" after the event group");
    if (is_selected_filter(out.filter)) {
        // RFC 5465 6.1: only message events with SELECTED and SELECTED-DELAYED.
        for (NotifyEvent e : out.events)
            if (!is_message_event(e))
                return fail(std::string(notify_event_name(e)) + " is not a message event (SELECTED takes only those)");
        // RFC 5465 5: MessageNew and MessageExpunge together; FlagChange and AnnotationChange
        // with both. Enforced for the selected mailbox, whose message numbers depend on it; for
        // other mailboxes a lone event only chooses which STATUS items are sent (as Dovecot,
        // the compliance reference, accepts).
        const bool message_new = out.has(NotifyEvent::message_new);
        const bool expunge = out.has(NotifyEvent::message_expunge);
        if (message_new != expunge) return fail("MessageNew and MessageExpunge must be given together");
        if ((out.has(NotifyEvent::flag_change) || out.has(NotifyEvent::annotation_change)) && !message_new)
            return fail("FlagChange and AnnotationChange need MessageNew and MessageExpunge");
    }
    return true;
}

// notify = "NOTIFY" SP (notify-set / notify-none)
// notify-set = "SET" [SP "STATUS"] SP event-groups
bool Parser::notify(NotifyArgs& out) {
    if (!sp()) return false;
    if (lex.take_word("NONE", is_atom_char)) {
        out.none = true;
        return end();
    }
    if (!lex.take_word("SET", is_atom_char)) return fail("expected SET or NONE");
    if (!sp()) return false;
    if (lex.take_word("STATUS", is_atom_char)) {
        out.status = true;
        if (!sp()) return false;
    }
    std::size_t mailboxes = 0;
    bool selected_seen = false;
    while (true) {
        if (out.groups.size() >= limits.max_notify_groups) return fail_limit("too many event groups in NOTIFY");
        NotifyGroup group;
        if (!notify_group(group, mailboxes)) return false;
        if (is_selected_filter(group.filter)) {
            // RFC 5465 6.1: only one of SELECTED and SELECTED-DELAYED, once.
            if (selected_seen) return fail("only one SELECTED or SELECTED-DELAYED filter is allowed");
            selected_seen = true;
        }
        out.groups.push_back(std::move(group));
        if (lex.at_end()) break;
        if (!sp()) return false;
    }
    return end();
}

}  // namespace detail
}  // namespace hikyaku::imap
