// search_eval.cpp: see search_eval.h. RFC 9051 6.4.4; RFC 3501 6.4.4; RFC 5182; RFC 7162
// 3.1.5; RFC 5032; RFC 8474 6; RFC 8514 4; RFC 2047; RFC 2045 6; RFC 5051 (folding, a subset).
#include "imapd/search_eval.h"

#include <algorithm>
#include <optional>

#include "common/mime/address.h"
#include "common/mime/search_text.h"
#include "common/mime/date.h"
#include "common/text/charset.h"
#include "common/text/rfc2047.h"
#include "common/text/utf8.h"

namespace hikyaku::imap {
namespace {

std::vector<int> kmp_failure(std::string_view needle) {
    std::vector<int> f(needle.size(), 0);
    int k = 0;
    for (std::size_t i = 1; i < needle.size(); ++i) {
        while (k > 0 && needle[i] != needle[static_cast<std::size_t>(k)]) k = f[static_cast<std::size_t>(k) - 1];
        if (needle[i] == needle[static_cast<std::size_t>(k)]) ++k;
        f[i] = k;
    }
    return f;
}

// Knuth-Morris-Pratt: linear in haystack + needle, whatever they hold.
bool kmp_contains(std::string_view haystack, std::string_view needle, const std::vector<int>& failure) {
    if (needle.empty()) return true;
    std::size_t k = 0;
    for (char c : haystack) {
        while (k > 0 && c != needle[k]) k = static_cast<std::size_t>(failure[k - 1]);
        if (c == needle[k]) ++k;
        if (k == needle.size()) return true;
    }
    return false;
}

// An address header as its addresses read, "Name <local@domain>, ..." with comments and
// whitespace the RFC 5322 syntax allows removed, so FROM user@domain finds
// "<user (c)@ (c) domain>" too (as Dovecot searches address headers).
std::string address_text(const mime::HeaderField& field) {
    std::string out;
    for (const mime::Address& a : mime::parse_address_list(mime::unfold(field.value)).addresses) {
        if (a.is_group_end() || !a.mailbox) continue;
        if (!out.empty()) out += ", ";
        if (a.name) out += text::rfc2047_decode(*a.name) + " ";
        if (a.is_group_start()) continue;
        out += "<" + *a.mailbox + "@" + *a.host + ">";
    }
    return out;
}

bool is_address_key(SearchKeyKind kind) {
    return kind == SearchKeyKind::from || kind == SearchKeyKind::to || kind == SearchKeyKind::cc ||
           kind == SearchKeyKind::bcc;
}

bool is_string_key(SearchKeyKind kind) {
    switch (kind) {
        case SearchKeyKind::bcc:
        case SearchKeyKind::body:
        case SearchKeyKind::cc:
        case SearchKeyKind::from:
        case SearchKeyKind::header:
        case SearchKeyKind::subject:
        case SearchKeyKind::text:
        case SearchKeyKind::to: return true;
        default: return false;
    }
}

std::string_view header_of(SearchKeyKind kind) {
    switch (kind) {
        case SearchKeyKind::bcc: return "Bcc";
        case SearchKeyKind::cc: return "Cc";
        case SearchKeyKind::from: return "From";
        case SearchKeyKind::subject: return "Subject";
        case SearchKeyKind::to: return "To";
        default: return {};
    }
}

}  // namespace

// ---- the program ----------------------------------------------------------------------------

struct SearchProgram::Evaluation {
    Evaluation(SearchMessage& m, const SearchContext& c, std::uint64_t max) : message(m), context(c), max_work(max) {}
    SearchMessage& message;
    const SearchContext& context;
    std::uint64_t work = 0;
    std::uint64_t max_work = 0;
    bool too_costly = false;
    std::optional<std::string> header_text;  // folded, for TEXT
    std::optional<std::string> body_text;    // folded
    std::optional<std::optional<mime::MessageDate>> sent;

    // Charges `octets` of scanning; false once over the bound.
    bool charge(std::size_t octets) {
        work += octets;
        if (work > max_work) too_costly = true;
        return !too_costly;
    }
};

bool SearchProgram::compile(const SearchKey& key, const std::string& charset, Node& out, SearchProgram& program) {
    out.kind = key.kind;
    out.field = key.field;
    out.date = key.date;
    out.number = key.number;
    out.set = key.set;
    if (key.set.is_saved_result() && (key.kind == SearchKeyKind::uid || key.kind == SearchKeyKind::sequence_set))
        program.uses_saved_ = true;
    if (is_string_key(key.kind)) {
        std::string utf8;
        if (charset.empty() || text::charset_is_utf8_compatible(charset)) {
            utf8 = text::utf8_sanitize(key.text);
        } else {
            auto converted = text::charset_to_utf8(charset, key.text);
            if (!converted) return false;
            utf8 = std::move(*converted);
        }
        out.needle = search_fold(utf8);
        out.failure = kmp_failure(out.needle);
        if (key.kind == SearchKeyKind::body || key.kind == SearchKeyKind::text) program.needs_body_ = true;
        if (key.kind != SearchKeyKind::body) program.needs_header_ = true;
    } else if (key.kind == SearchKeyKind::keyword || key.kind == SearchKeyKind::unkeyword) {
        out.needle = key.text;  // compared by the session, case-insensitively
    } else if (key.kind == SearchKeyKind::emailid) {
        out.needle = key.text;  // RFC 8474 4: object ids are compared exactly
    }
    if (key.kind == SearchKeyKind::sent_before || key.kind == SearchKeyKind::sent_on ||
        key.kind == SearchKeyKind::sent_since)
        program.needs_header_ = true;
    out.children.resize(key.children.size());
    for (std::size_t i = 0; i < key.children.size(); ++i)
        if (!compile(key.children[i], charset, out.children[i], program)) return false;
    return true;
}

Result<SearchProgram> SearchProgram::prepare(const SearchArgs& args) {
    SearchProgram program;
    const std::string charset = args.charset.value_or("");
    if (!charset.empty() && !text::charset_is_utf8_compatible(charset)) {
        // Probe the converter once, so an unknown charset fails before any key.
        if (!text::charset_to_utf8(charset, "")) return make_error(Errc::unsupported, "unsupported charset " + charset);
    }
    if (!compile(args.program, charset, program.root_, program))
        return make_error(Errc::unsupported, "search string not convertible from " + charset);
    return program;
}

bool SearchProgram::match(const Node& node, Evaluation& eval) const {
    if (eval.too_costly) return false;
    SearchMessage& m = eval.message;
    const auto header_contains = [&](std::string_view name, const Node& n) {
        for (const mime::HeaderField& f : m.header_fields()) {
            if (!mime::iequals(f.name, name)) continue;
            if (n.needle.empty()) return true;  // the field exists
            if (!eval.charge(f.value.size() * 2)) return false;
            if (kmp_contains(search_fold(mime::decoded_header_value(f)), n.needle, n.failure)) return true;
            if (is_address_key(n.kind)) {
                if (!eval.charge(f.value.size() * 2)) return false;
                if (kmp_contains(search_fold(address_text(f)), n.needle, n.failure)) return true;
            }
        }
        return false;
    };
    const auto body = [&]() -> const std::string& {
        if (!eval.body_text) {
            const std::string& text = m.body_text();
            eval.charge(text.size());
            eval.body_text = search_fold(text);
        }
        return *eval.body_text;
    };
    const auto header_text = [&]() -> const std::string& {
        if (!eval.header_text) {
            const std::string text = mime::searchable_header_text(m.header_fields());
            eval.charge(text.size());
            eval.header_text = search_fold(text);
        }
        return *eval.header_text;
    };
    const auto sent_day = [&]() -> std::optional<std::chrono::sys_days> {
        if (!eval.sent) {
            const mime::HeaderField* date = mime::find_header(m.header_fields(), "Date");
            eval.sent = date != nullptr ? mime::parse_rfc5322_date(mime::unfold(date->value)) : std::nullopt;
        }
        if (!*eval.sent) return std::nullopt;
        return std::chrono::floor<std::chrono::days>((*eval.sent)->utc +
                                                     std::chrono::minutes((*eval.sent)->zone_minutes));
    };
    const auto in_saved = [&](std::uint32_t uid) {
        return std::binary_search(eval.context.saved_uids.begin(), eval.context.saved_uids.end(), uid);
    };
    const storage::Flags flags = m.flags();
    switch (node.kind) {
        case SearchKeyKind::all: return true;
        case SearchKeyKind::answered: return (flags & storage::flag_answered) != 0;
        case SearchKeyKind::deleted: return (flags & storage::flag_deleted) != 0;
        case SearchKeyKind::draft: return (flags & storage::flag_draft) != 0;
        case SearchKeyKind::flagged: return (flags & storage::flag_flagged) != 0;
        case SearchKeyKind::seen: return (flags & storage::flag_seen) != 0;
        case SearchKeyKind::unanswered: return (flags & storage::flag_answered) == 0;
        case SearchKeyKind::undeleted: return (flags & storage::flag_deleted) == 0;
        case SearchKeyKind::undraft: return (flags & storage::flag_draft) == 0;
        case SearchKeyKind::unflagged: return (flags & storage::flag_flagged) == 0;
        case SearchKeyKind::unseen: return (flags & storage::flag_seen) == 0;
        case SearchKeyKind::recent: return m.recent();
        case SearchKeyKind::new_: return m.recent() && (flags & storage::flag_seen) == 0;
        case SearchKeyKind::old: return !m.recent();
        case SearchKeyKind::keyword: return m.has_keyword(node.needle);
        case SearchKeyKind::unkeyword: return !m.has_keyword(node.needle);
        case SearchKeyKind::larger: return m.size() > node.number;
        case SearchKeyKind::smaller: return m.size() < node.number;
        case SearchKeyKind::modseq: return m.modseq() >= node.number;
        case SearchKeyKind::before: return m.internal_date().local_day() < node.date.days();
        case SearchKeyKind::on: return m.internal_date().local_day() == node.date.days();
        case SearchKeyKind::since: return m.internal_date().local_day() >= node.date.days();
        case SearchKeyKind::older: return m.internal_date().utc <= eval.context.now - std::chrono::seconds(node.number);
        case SearchKeyKind::younger:
            return m.internal_date().utc > eval.context.now - std::chrono::seconds(node.number);
        case SearchKeyKind::emailid: return !node.needle.empty() && m.email_id() == node.needle;
        case SearchKeyKind::threadid: return false;  // no message has a THREADID (FETCH gives NIL)
        case SearchKeyKind::saved_before: return m.save_date().local_day() < node.date.days();
        case SearchKeyKind::saved_on: return m.save_date().local_day() == node.date.days();
        case SearchKeyKind::saved_since: return m.save_date().local_day() >= node.date.days();
        case SearchKeyKind::savedate_supported: return true;
        case SearchKeyKind::sent_before: {
            auto day = sent_day();
            return day && *day < node.date.days();
        }
        case SearchKeyKind::sent_on: {
            auto day = sent_day();
            return day && *day == node.date.days();
        }
        case SearchKeyKind::sent_since: {
            auto day = sent_day();
            return day && *day >= node.date.days();
        }
        case SearchKeyKind::bcc:
        case SearchKeyKind::cc:
        case SearchKeyKind::from:
        case SearchKeyKind::subject:
        case SearchKeyKind::to: return header_contains(header_of(node.kind), node);
        case SearchKeyKind::header: return header_contains(node.field, node);
        case SearchKeyKind::body: {
            if (node.needle.empty()) return true;
            const std::string& text = body();
            return eval.charge(text.size()) && kmp_contains(text, node.needle, node.failure);
        }
        case SearchKeyKind::text: {
            if (node.needle.empty()) return true;
            const std::string& head = header_text();
            if (eval.charge(head.size()) && kmp_contains(head, node.needle, node.failure)) return true;
            const std::string& text = body();
            return eval.charge(text.size()) && kmp_contains(text, node.needle, node.failure);
        }
        case SearchKeyKind::uid:
            if (node.set.is_saved_result()) return in_saved(m.uid());
            return node.set.contains(m.uid(), eval.context.highest_uid);
        case SearchKeyKind::sequence_set:
            if (node.set.is_saved_result()) return in_saved(m.uid());
            return node.set.contains(m.sequence_number(), eval.context.message_count);
        case SearchKeyKind::not_: {
            if (node.children.empty()) return false;
            const bool inner = match(node.children.front(), eval);
            return !eval.too_costly && !inner;
        }
        case SearchKeyKind::or_:
            if (node.children.size() < 2) return false;
            return match(node.children[0], eval) || match(node.children[1], eval);
        case SearchKeyKind::and_:
            for (const Node& child : node.children)
                if (!match(child, eval)) return false;
            return true;
    }
    return false;
}

std::vector<SearchProgram::RequiredText> SearchProgram::required_texts() const {
    std::vector<RequiredText> out;
    std::vector<const Node*> pending{&root_};
    while (!pending.empty()) {
        const Node* node = pending.back();
        pending.pop_back();
        if (node->kind == SearchKeyKind::and_) {
            for (const Node& child : node->children) pending.push_back(&child);
        } else if ((node->kind == SearchKeyKind::body || node->kind == SearchKeyKind::text) && !node->needle.empty()) {
            out.push_back(RequiredText{node->needle, node->kind == SearchKeyKind::text});
        }
    }
    return out;
}

SearchOutcome SearchProgram::evaluate(SearchMessage& message, const SearchContext& context,
                                      const EvalLimits& limits) const {
    Evaluation eval(message, context, limits.max_work);
    const bool matched = match(root_, eval);
    if (eval.too_costly) return SearchOutcome::too_costly;
    return matched ? SearchOutcome::match : SearchOutcome::no_match;
}

}  // namespace hikyaku::imap
