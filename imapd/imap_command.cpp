// imap_command.cpp: see imap_command.h. The command line, the tag and verb, and every command
// but FETCH (imap_command_fetch.cpp), SEARCH (imap_command_search.cpp), SORT and THREAD
// (imap_command_sort.cpp).
// RFC 9051 6, 9; RFC 3501 6, 9; RFC 2971; RFC 3502; RFC 4315; RFC 4466; RFC 4469; RFC 4959;
// RFC 5161; RFC 5258; RFC 5819; RFC 6154; RFC 6851; RFC 7162 3.1.3, 3.2.5; RFC 7889;
// RFC 9208 4.1; RFC 6855 4 (APPEND UTF8).
#include "imapd/imap_command.h"

#include <array>
#include <bit>

#include "imapd/imap_command_parser.h"

namespace hikyaku::imap {
namespace {

struct VerbName {
    std::string_view name;
    Verb verb;
};

constexpr std::array<VerbName, 38> kVerbs{{
    {"CAPABILITY", Verb::capability},
    {"NOOP", Verb::noop},
    {"LOGOUT", Verb::logout},
    {"STARTTLS", Verb::starttls},
    {"AUTHENTICATE", Verb::authenticate},
    {"LOGIN", Verb::login},
    {"ENABLE", Verb::enable},
    {"SELECT", Verb::select},
    {"EXAMINE", Verb::examine},
    {"CREATE", Verb::create},
    {"DELETE", Verb::delete_mailbox},
    {"RENAME", Verb::rename},
    {"SUBSCRIBE", Verb::subscribe},
    {"UNSUBSCRIBE", Verb::unsubscribe},
    {"LIST", Verb::list},
    {"LSUB", Verb::lsub},
    {"NAMESPACE", Verb::namespace_},
    {"STATUS", Verb::status},
    {"APPEND", Verb::append},
    {"IDLE", Verb::idle},
    {"CHECK", Verb::check},
    {"CLOSE", Verb::close},
    {"UNSELECT", Verb::unselect},
    {"EXPUNGE", Verb::expunge},
    {"SEARCH", Verb::search},
    {"FETCH", Verb::fetch},
    {"STORE", Verb::store},
    {"COPY", Verb::copy},
    {"MOVE", Verb::move},
    {"ID", Verb::id},
    {"SORT", Verb::sort},
    {"THREAD", Verb::thread},
    {"COMPRESS", Verb::compress},
    {"GETQUOTA", Verb::getquota},
    {"GETQUOTAROOT", Verb::getquotaroot},
    {"SETQUOTA", Verb::setquota},
    {"NOTIFY", Verb::notify},
    {"CANCELUPDATE", Verb::cancelupdate},
}};

struct StatusItemName {
    std::string_view name;
    StatusItem item;
};

constexpr std::array<StatusItemName, 10> kStatusItems{{
    {"MESSAGES", StatusItem::messages},
    {"UIDNEXT", StatusItem::uidnext},
    {"UIDVALIDITY", StatusItem::uidvalidity},
    {"UNSEEN", StatusItem::unseen},
    {"DELETED", StatusItem::deleted},
    {"SIZE", StatusItem::size},
    {"RECENT", StatusItem::recent},
    {"HIGHESTMODSEQ", StatusItem::highestmodseq},
    {"APPENDLIMIT", StatusItem::appendlimit},
    {"MAILBOXID", StatusItem::mailboxid},
}};

std::optional<Verb> find_verb(std::string_view name) {
    for (const VerbName& v : kVerbs)
        if (iequals(v.name, name)) return v.verb;
    return std::nullopt;
}

bool is_sequence_char(char c) { return (c >= '0' && c <= '9') || c == ':' || c == ',' || c == '*' || c == '$'; }

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

bool is_word_char(char c) { return is_atom_char(c); }

using detail::Parser;

// ---- one function per command ----------------------------------------------------------------

bool parse_authenticate(Parser& p, AuthenticateArgs& out) {
    if (!p.sp()) return false;
    const std::string_view mechanism = p.lex.atom();
    if (mechanism.empty()) return p.fail("expected an authentication mechanism");
    out.mechanism = ascii_upper(mechanism);
    if (p.lex.at_end()) return true;
    if (!p.sp()) return false;
    // initial-resp = base64 / "=" (RFC 4959)
    const std::string_view response = p.lex.atom();
    if (response.empty()) return p.fail("expected an initial response");
    for (char c : response)
        if (!is_base64_char(c)) return p.fail("initial response is not base64");
    out.initial_response = std::string(response);
    return p.end();
}

bool parse_login(Parser& p, LoginArgs& out) {
    return p.sp() && p.astring(out.user, "user name") && p.sp() && p.astring(out.password, "password") && p.end();
}

bool parse_enable(Parser& p, EnableArgs& out) {
    while (!p.lex.at_end()) {
        if (!p.sp()) return false;
        const std::string_view capability = p.lex.atom();
        if (capability.empty()) return p.fail("expected a capability name");
        if (out.capabilities.size() >= p.limits.max_enable_capabilities) return p.fail_limit("too many capabilities");
        out.capabilities.push_back(ascii_upper(capability));
    }
    if (out.capabilities.empty()) return p.fail("expected a capability name");
    return true;
}

// RFC 4978 3: "COMPRESS" SP algorithm (an atom; the session says which it knows).
bool parse_compress(Parser& p, CompressArgs& out) {
    if (!p.sp()) return false;
    const std::string_view algorithm = p.lex.atom();
    if (algorithm.empty()) return p.fail("expected a compression algorithm");
    out.algorithm = ascii_upper(algorithm);
    return p.end();
}

// select-params (RFC 4466 2.1, RFC 7162 3.1.8, 3.2.5)
bool parse_select(Parser& p, SelectArgs& out) {
    if (!p.sp() || !p.mailbox(out.mailbox)) return false;
    if (p.lex.at_end()) return true;
    if (!p.sp()) return false;
    if (!p.lex.take('(')) return p.fail("expected \"(\" before SELECT parameters");
    while (true) {
        if (p.lex.take_word("CONDSTORE", is_word_char)) {
            out.condstore = true;
        } else if (p.lex.take_word("QRESYNC", is_word_char)) {
            if (out.qresync) return p.fail("QRESYNC given twice");
            QresyncParams q;
            if (!p.sp() || !p.lex.take('(')) return p.fail("expected \"(\" after QRESYNC");
            auto uidvalidity = p.lex.nz_number();
            if (!uidvalidity) return p.fail_lex("invalid UIDVALIDITY in QRESYNC");
            q.uidvalidity = *uidvalidity;
            if (!p.sp() || !p.mod_sequence(q.modseq, false)) return false;
            if (p.lex.take(' ')) {
                if (p.lex.peek() != '(') {
                    SequenceSet known;
                    if (!p.sequence_set(known, false)) return false;
                    q.known_uids = std::move(known);
                    if (p.lex.take(' ') && p.lex.peek() != '(') return p.fail("expected \"(\" before seq-match-data");
                }
                if (p.lex.take('(')) {
                    SequenceSet seqs, uids;
                    if (!p.sequence_set(seqs, false) || !p.sp() || !p.sequence_set(uids, false)) return false;
                    if (!p.lex.take(')')) return p.fail("expected \")\" after seq-match-data");
                    q.known_sequence_set = std::move(seqs);
                    q.known_uid_set = std::move(uids);
                }
            }
            if (!p.lex.take(')')) return p.fail("expected \")\" after QRESYNC parameters");
            out.qresync = std::move(q);
        } else {
            return p.fail("unknown SELECT parameter " + detail::quote_for_error(p.lex.atom()));
        }
        if (p.lex.take(')')) break;
        if (!p.sp()) return false;
    }
    return p.end();
}

bool parse_mailbox_only(Parser& p, MailboxArgs& out) { return p.sp() && p.mailbox(out.mailbox) && p.end(); }

// CREATE mailbox [SP "(" "USE" SP "(" use-attr *(SP use-attr) ")" ")"] (RFC 4466, RFC 6154 3)
bool parse_create(Parser& p, MailboxArgs& out) {
    if (!p.sp() || !p.mailbox(out.mailbox)) return false;
    if (p.lex.at_end()) return true;
    if (!p.sp() || !p.lex.take('(')) return p.fail("expected \"(\" before CREATE parameters");
    if (!p.lex.take_word("USE", is_word_char)) return p.fail("unknown CREATE parameter");
    if (!p.sp() || !p.lex.take('(')) return p.fail("expected \"(\" after USE");
    while (true) {
        if (!p.lex.take('\\')) return p.fail("expected a special-use attribute");
        const std::string_view name = p.lex.atom();
        if (name.empty()) return p.fail("expected a special-use attribute");
        if (out.special_use.size() >= p.limits.max_flags) return p.fail_limit("too many special-use attributes");
        out.special_use.push_back("\\" + std::string(name));
        if (p.lex.take(')')) break;
        if (!p.sp()) return false;
    }
    if (!p.lex.take(')')) return p.fail("expected \")\" after CREATE parameters");
    return p.end();
}

bool parse_rename(Parser& p, RenameArgs& out) {
    return p.sp() && p.mailbox(out.from) && p.sp() && p.mailbox(out.to) && p.end();
}

// list-mailbox = 1*list-char / string
bool list_mailbox(Parser& p, std::string& out) {
    if (p.lex.peek() == '"' || p.lex.at_literal()) {
        auto s = p.lex.string();
        if (!s) return p.fail_lex("invalid mailbox pattern");
        out = std::move(*s);
        return true;
    }
    const std::string_view pattern = p.lex.list_atom();
    if (pattern.empty()) return p.fail("expected a mailbox pattern");
    out = std::string(pattern);
    return true;
}

// list-select-opts / list-return-opts words: atoms with "-" ("SPECIAL-USE").
std::string option_word(Parser& p) { return ascii_upper(p.lex.atom()); }

bool parse_list(Parser& p, ListArgs& out, bool lsub) {
    if (!p.sp()) return false;
    if (!lsub && p.lex.take('(')) {  // list-select-opts (RFC 5258 3.1)
        out.extended = true;
        bool other_than_remote = false;
        while (!p.lex.take(')')) {
            if (out.select_subscribed || out.select_remote || out.select_recursive_match || out.select_special_use)
                if (!p.sp()) return false;
            const std::string word = option_word(p);
            if (word == "SUBSCRIBED") {
                out.select_subscribed = true;
                other_than_remote = true;
            } else if (word == "REMOTE") {
                out.select_remote = true;
            } else if (word == "RECURSIVEMATCH") {
                out.select_recursive_match = true;
            } else if (word == "SPECIAL-USE") {
                out.select_special_use = true;
                other_than_remote = true;
            } else {
                return p.fail("unknown LIST selection option " + detail::quote_for_error(word));
            }
        }
        // RFC 5258 3.1: RECURSIVEMATCH needs another selection option (REMOTE does not count).
        if (out.select_recursive_match && !other_than_remote)
            return p.fail("RECURSIVEMATCH must be combined with another selection option");
        if (!p.sp()) return false;
    }
    if (!p.mailbox(out.reference) || !p.sp()) return false;
    if (!lsub && p.lex.take('(')) {  // patterns (RFC 5258 3)
        out.extended = true;
        while (true) {
            std::string pattern;
            if (!list_mailbox(p, pattern)) return false;
            if (out.patterns.size() >= p.limits.max_list_patterns) return p.fail_limit("too many LIST patterns");
            out.patterns.push_back(std::move(pattern));
            if (p.lex.take(')')) break;
            if (!p.sp()) return false;
        }
    } else {
        std::string pattern;
        if (!list_mailbox(p, pattern)) return false;
        out.patterns.push_back(std::move(pattern));
    }
    if (lsub || p.lex.at_end()) return p.end();
    // list-return-opts (RFC 5258 3.2, RFC 5819, RFC 6154)
    if (!p.sp() || !p.lex.take_word("RETURN", is_word_char) || !p.sp() || !p.lex.take('('))
        return p.fail("expected RETURN (...) after the LIST pattern");
    out.extended = true;
    bool first = true;
    while (!p.lex.take(')')) {
        if (!first && !p.sp()) return false;
        first = false;
        const std::string word = option_word(p);
        if (word == "SUBSCRIBED") {
            out.return_subscribed = true;
        } else if (word == "CHILDREN") {
            out.return_children = true;
        } else if (word == "SPECIAL-USE") {
            out.return_special_use = true;
        } else if (word == "STATUS") {
            if (out.return_status) return p.fail("STATUS return option given twice");
            std::vector<StatusItem> items;
            if (!p.sp() || !p.status_items(items)) return false;
            out.return_status = std::move(items);
        } else {
            return p.fail("unknown LIST return option " + detail::quote_for_error(word));
        }
    }
    return p.end();
}

bool parse_status(Parser& p, StatusArgs& out) {
    return p.sp() && p.mailbox(out.mailbox) && p.sp() && p.status_items(out.items) && p.end();
}

// append = "APPEND" SP mailbox 1*append-message (RFC 4466 2.3, RFC 3502, RFC 4469, RFC 3516)
bool parse_append(Parser& p, AppendArgs& out) {
    if (!p.sp() || !p.mailbox(out.mailbox)) return false;
    std::size_t urls = 0;  // in the whole command (MULTIAPPEND)
    do {
        AppendMessage message;
        if (!p.sp()) return false;
        if (p.lex.peek() == '(') {
            FlagList flags;
            if (!p.flag_list(flags) || !p.sp()) return false;
            message.flags = std::move(flags);
        }
        if (p.lex.peek() == '"') {
            DateTime when;
            if (!p.date_time(when) || !p.sp()) return false;
            message.internal_date = when;
        }
        if (p.lex.at_literal()) {
            auto data = p.lex.literal(true, &message.binary);
            if (!data) return p.fail_lex("invalid message literal");
            message.data = std::move(*data);
        } else if (p.lex.take_word("UTF8", is_word_char)) {
            // append-data =/ "UTF8" SP "(" literal8 ")" (RFC 6855 4)
            if (!p.sp() || !p.lex.take('(')) return p.fail("expected \"(\" after UTF8");
            bool binary = false;
            auto data = p.lex.literal(true, &binary);
            if (!data) return p.fail_lex("expected a literal8 after UTF8 (");
            if (!binary) return p.fail("UTF8 takes a literal8 (~{n})");
            if (!p.lex.take(')')) return p.fail("expected \")\" after the UTF8 literal");
            message.data = std::move(*data);
            message.utf8 = true;
        } else if (p.lex.take_word("CATENATE", is_word_char)) {
            if (!p.sp() || !p.lex.take('(')) return p.fail("expected \"(\" after CATENATE");
            std::vector<CatenatePart> parts;
            while (true) {
                CatenatePart part;
                if (p.lex.take_word("TEXT", is_word_char)) {
                    if (!p.sp()) return false;
                    auto data = p.lex.literal(true, &part.binary);
                    if (!data) return p.fail_lex("expected a literal after TEXT");
                    part.data = std::move(*data);
                } else if (p.lex.take_word("URL", is_word_char)) {
                    part.url = true;
                    if (!p.sp() || !p.astring(part.data, "URL")) return false;
                    if (part.data.empty()) return p.fail("empty URL in CATENATE");
                    if (part.data.size() > p.limits.max_catenate_url_length)
                        return p.fail_limit("URL too long in CATENATE");
                    if (++urls > p.limits.max_catenate_urls) return p.fail_limit("too many URLs in one APPEND");
                } else {
                    return p.fail("expected TEXT or URL in CATENATE");
                }
                if (parts.size() >= p.limits.max_catenate_parts) return p.fail_limit("too many CATENATE parts");
                parts.push_back(std::move(part));
                if (p.lex.take(')')) break;
                if (!p.sp()) return false;
            }
            message.catenate = std::move(parts);
        } else {
            return p.fail("expected the message literal");
        }
        if (out.messages.size() >= p.limits.max_append_messages) return p.fail_limit("too many messages in APPEND");
        out.messages.push_back(std::move(message));
    } while (!p.lex.at_end());
    return true;
}

bool parse_copy(Parser& p, CopyArgs& out) {
    return p.sp() && p.sequence_set(out.set) && p.sp() && p.mailbox(out.mailbox) && p.end();
}

// store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags (RFC 4466, RFC 7162 3.1.3)
bool parse_store(Parser& p, StoreArgs& out) {
    if (!p.sp() || !p.sequence_set(out.set) || !p.sp()) return false;
    if (p.lex.take('(')) {
        while (true) {
            if (!p.lex.take_word("UNCHANGEDSINCE", is_word_char))
                return p.fail("unknown STORE modifier " + detail::quote_for_error(p.lex.atom()));
            if (out.unchanged_since) return p.fail("UNCHANGEDSINCE given twice");
            std::uint64_t modseq = 0;
            if (!p.sp() || !p.mod_sequence(modseq, true)) return false;
            out.unchanged_since = modseq;
            if (p.lex.take(')')) break;
            if (!p.sp()) return false;
        }
        if (!p.sp()) return false;
    }
    if (p.lex.take('+')) out.operation = StoreOperation::add;
    else if (p.lex.take('-')) out.operation = StoreOperation::remove;
    const std::string_view item = p.lex.atom();
    if (iequals(item, "FLAGS.SILENT")) out.silent = true;
    else if (!iequals(item, "FLAGS")) return p.fail("expected FLAGS, +FLAGS or -FLAGS (with .SILENT)");
    if (!p.sp()) return false;
    if (p.lex.peek() == '(') return p.flag_list(out.flags) && p.end();
    // flag *(SP flag) without parentheses (RFC 9051 9 store-att-flags)
    while (true) {
        if (!p.flag(out.flags)) return false;
        if (p.lex.at_end()) return true;
        if (!p.sp()) return false;
    }
}

// id = "ID" SP id-params-list; id-params-list = "(" *(string SP nstring) ")" / nil (RFC 2971 4)
bool parse_id(Parser& p, IdArgs& out) {
    if (!p.sp()) return false;
    if (p.lex.take_word("NIL", is_word_char)) return p.end();
    if (!p.lex.take('(')) return p.fail("expected \"(\" or NIL");
    std::vector<std::pair<std::string, std::optional<std::string>>> params;
    while (!p.lex.take(')')) {
        if (!params.empty() && !p.sp()) return false;
        auto field = p.lex.string();
        if (!field) return p.fail_lex("expected an ID field name");
        if (field->size() > p.limits.max_id_field_length) return p.fail_limit("ID field name too long");
        if (!p.sp()) return false;
        bool nil = false;
        auto value = p.lex.nstring(&nil);
        if (!value && !nil) return p.fail_lex("expected an ID value or NIL");
        if (value && value->size() > p.limits.max_id_value_length) return p.fail_limit("ID value too long");
        if (params.size() >= p.limits.max_id_pairs) return p.fail_limit("too many ID parameters");
        params.emplace_back(std::move(*field), std::move(value));
    }
    out.parameters = std::move(params);
    return p.end();
}

// getquota = "GETQUOTA" SP quota-root-name; setquota = "SETQUOTA" SP quota-root-name SP
// setquota-list; setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")";
// setquota-resource = resource-name SP resource-limit (RFC 9208 7: an atom, a number64).
bool parse_quota(Parser& p, QuotaArgs& out, bool set) {
    if (!p.sp() || !p.astring(out.root, "a quota root name")) return false;
    if (!set) return p.end();
    if (!p.sp() || !p.lex.take('(')) return p.fail("expected \"(\" before the quota limits");
    while (!p.lex.take(')')) {
        if (!out.limits.empty() && !p.sp()) return false;
        const std::string_view name = p.lex.atom();
        if (name.empty()) return p.fail("expected a resource name");
        if (!p.sp()) return false;
        auto limit = p.lex.number64();
        if (!limit) return p.fail_lex("expected a resource limit");
        if (out.limits.size() >= p.limits.max_quota_resources) return p.fail_limit("too many quota resources");
        out.limits.emplace_back(ascii_upper(name), *limit);
    }
    return p.end();
}

bool parse_uid_expunge(Parser& p, ExpungeArgs& out) { return p.sp() && p.sequence_set(out.uids) && p.end(); }

}  // namespace

namespace detail {

std::string quote_for_error(std::string_view token) {
    std::string out;
    for (char c : token.substr(0, 40)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7F) ? c : '?';
    }
    if (token.size() > 40) out += "...";
    return out.empty() ? std::string("(empty)") : out;
}

bool Parser::fail(std::string reason) {
    if (error.empty()) error = std::move(reason);
    return false;
}

bool Parser::fail_limit(std::string reason) {
    if (error.empty()) limit_exceeded = true;
    return fail(std::move(reason));
}

bool Parser::fail_lex(std::string reason) {
    if (!lex.error().empty()) return fail(lex.error());
    return fail(std::move(reason));
}

bool Parser::sp() {
    if (lex.take(' ')) return true;
    if (lex.at_end()) return fail("missing arguments");
    return fail("expected a space");
}

bool Parser::end() {
    if (lex.at_end()) return true;
    return fail("unexpected extra arguments");
}

bool Parser::astring(std::string& out, std::string_view what) {
    auto s = lex.astring();
    if (!s) return fail_lex("expected " + std::string(what));
    out = std::move(*s);
    return true;
}

bool Parser::mailbox(std::string& out) { return astring(out, "a mailbox name"); }

bool Parser::sequence_set(SequenceSet& out, bool allow_star) {
    const std::string_view text = lex.take_while(is_sequence_char);
    if (text.empty()) return fail("expected a sequence set");
    auto set = SequenceSet::parse(text, limits.max_sequence_ranges);
    if (!set) {
        if (set.error().code == Errc::limit_exceeded) return fail_limit(set.error().message);
        return fail(set.error().message);
    }
    if (!allow_star && set->uses_star()) return fail("\"*\" is not allowed in this sequence set");
    out = std::move(*set);
    return true;
}

// flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
bool Parser::flag(FlagList& out) {
    if (out.keywords.size() + static_cast<std::size_t>(std::popcount(out.system)) >= limits.max_flags)
        return fail_limit("too many flags");
    if (lex.take('\\')) {
        const std::string_view name = lex.atom();
        static constexpr std::pair<std::string_view, storage::Flags> kSystem[] = {
            {"Seen", storage::flag_seen},       {"Answered", storage::flag_answered},
            {"Flagged", storage::flag_flagged}, {"Deleted", storage::flag_deleted},
            {"Draft", storage::flag_draft},
        };
        for (const auto& [system_name, bit] : kSystem) {
            if (iequals(name, system_name)) {
                out.system |= bit;
                return true;
            }
        }
        return fail("invalid system flag \\" + quote_for_error(name));
    }
    const std::string_view keyword = lex.atom();
    if (keyword.empty()) return fail("expected a flag");
    for (const std::string& k : out.keywords)
        if (iequals(k, keyword)) return true;  // keywords are case-insensitive: keep the first
    out.keywords.emplace_back(keyword);
    return true;
}

bool Parser::flag_list(FlagList& out) {
    if (!lex.take('(')) return fail("expected a flag list");
    if (lex.take(')')) return true;
    while (true) {
        if (!flag(out)) return false;
        if (lex.take(')')) return true;
        if (!sp()) return false;
    }
}

bool Parser::date(Date& out) {
    const bool quoted = lex.take('"');
    const std::string_view text = lex.take_while([](char c) { return is_atom_char(c) && c != '"'; });
    if (quoted && !lex.take('"')) return fail("unterminated quoted date");
    auto d = parse_date(text);
    if (!d) return fail("invalid date " + quote_for_error(text) + " (expected d-Mon-yyyy)");
    out = *d;
    return true;
}

bool Parser::date_time(DateTime& out) {
    if (!lex.take('"')) return fail("expected a quoted date-time");
    const std::string_view text = lex.take_while([](char c) { return c != '"'; });
    if (!lex.take('"')) return fail("unterminated date-time");
    auto dt = parse_date_time(text);
    if (!dt) return fail("invalid date-time (expected \"dd-Mon-yyyy hh:mm:ss +zzzz\")");
    out = *dt;
    return true;
}

// mod-sequence-value = 1*DIGIT (at most 2^63-1), mod-sequence-valzer = "0" / mod-sequence-value
bool Parser::mod_sequence(std::uint64_t& out, bool allow_zero) {
    auto v = lex.number64();
    if (!v) return fail_lex("expected a mod-sequence");
    if (*v == 0 && !allow_zero) return fail("mod-sequence must not be 0");
    out = *v;
    return true;
}

bool Parser::status_items(std::vector<StatusItem>& out) {
    if (!lex.take('(')) return fail("expected \"(\" before status items");
    while (true) {
        const std::string_view word = lex.atom();
        std::optional<StatusItem> item;
        for (const StatusItemName& s : kStatusItems)
            if (iequals(s.name, word)) item = s.item;
        if (!item) return fail("unknown status item " + quote_for_error(word));
        if (out.size() >= limits.max_status_items) return fail_limit("too many status items");
        out.push_back(*item);
        if (lex.take(')')) return true;
        if (!sp()) return false;
    }
}

}  // namespace detail

const char* verb_name(Verb verb) {
    for (const VerbName& v : kVerbs)
        if (v.verb == verb) return v.name.data();
    return "?";
}

const char* status_item_name(StatusItem item) {
    for (const StatusItemName& s : kStatusItems)
        if (s.item == item) return s.name.data();
    return "?";
}

const char* to_string(CommandErrorKind kind) {
    switch (kind) {
        case CommandErrorKind::tag_missing: return "tag_missing";
        case CommandErrorKind::unknown_command: return "unknown_command";
        case CommandErrorKind::syntax: return "syntax";
        case CommandErrorKind::limit_exceeded: return "limit_exceeded";
    }
    return "?";
}

bool sets_seen(const FetchItem& item) {
    switch (item.attribute) {
        case FetchAttribute::body_section:
        case FetchAttribute::binary: return !item.peek;
        case FetchAttribute::rfc822:
        case FetchAttribute::rfc822_text: return true;
        default: return false;
    }
}

ParseResult parse_command(FramedCommand command, const GrammarLimits& limits) {
    detail::Parser p(command, limits);
    const std::string_view tag = p.lex.tag();
    if (tag.empty() || (p.lex.peek() != ' ' && !p.lex.at_end()))
        return CommandError{std::nullopt, CommandErrorKind::tag_missing, std::nullopt,
                            "Error in IMAP command received by server: missing or invalid tag"};
    Command cmd;
    cmd.tag = std::string(tag);
    auto error = [&](CommandErrorKind kind, std::optional<Verb> verb, std::string text) -> ParseResult {
        return CommandError{cmd.tag, kind, verb, std::move(text)};
    };
    if (!p.lex.take(' ')) return error(CommandErrorKind::syntax, std::nullopt, "Missing command");
    std::string_view word = p.lex.atom();
    if (iequals(word, "UID")) {
        cmd.uid = true;
        if (!p.lex.take(' ')) return error(CommandErrorKind::syntax, std::nullopt, "UID: missing command");
        word = p.lex.atom();
    }
    const auto verb = find_verb(word);
    if (!verb)
        return error(CommandErrorKind::unknown_command, std::nullopt,
                     "Unknown command " + detail::quote_for_error(word));
    cmd.verb = *verb;
    if (cmd.uid && *verb != Verb::copy && *verb != Verb::move && *verb != Verb::fetch && *verb != Verb::search &&
        *verb != Verb::store && *verb != Verb::expunge && *verb != Verb::sort && *verb != Verb::thread)
        return error(CommandErrorKind::unknown_command, *verb, std::string("Unknown command UID ") + verb_name(*verb));
    // A verb glued to other octets ("NOOP(") is not that verb.
    if (!p.lex.at_end() && p.lex.peek() != ' ')
        return error(CommandErrorKind::unknown_command, std::nullopt,
                     "Unknown command " + detail::quote_for_error(word));

    bool ok = true;
    switch (*verb) {
        case Verb::capability:
        case Verb::noop:
        case Verb::logout:
        case Verb::starttls:
        case Verb::namespace_:
        case Verb::idle:
        case Verb::check:
        case Verb::close:
        case Verb::unselect: ok = p.end(); break;
        case Verb::expunge:
            if (cmd.uid) ok = parse_uid_expunge(p, cmd.args.emplace<ExpungeArgs>());
            else ok = p.end();
            break;
        case Verb::authenticate: ok = parse_authenticate(p, cmd.args.emplace<AuthenticateArgs>()); break;
        case Verb::login: ok = parse_login(p, cmd.args.emplace<LoginArgs>()); break;
        case Verb::enable: ok = parse_enable(p, cmd.args.emplace<EnableArgs>()); break;
        case Verb::select:
        case Verb::examine: ok = parse_select(p, cmd.args.emplace<SelectArgs>()); break;
        case Verb::create: ok = parse_create(p, cmd.args.emplace<MailboxArgs>()); break;
        case Verb::delete_mailbox:
        case Verb::subscribe:
        case Verb::unsubscribe: ok = parse_mailbox_only(p, cmd.args.emplace<MailboxArgs>()); break;
        case Verb::rename: ok = parse_rename(p, cmd.args.emplace<RenameArgs>()); break;
        case Verb::list: ok = parse_list(p, cmd.args.emplace<ListArgs>(), false); break;
        case Verb::lsub: ok = parse_list(p, cmd.args.emplace<ListArgs>(), true); break;
        case Verb::status: ok = parse_status(p, cmd.args.emplace<StatusArgs>()); break;
        case Verb::append: ok = parse_append(p, cmd.args.emplace<AppendArgs>()); break;
        case Verb::search: ok = p.search(cmd.args.emplace<SearchArgs>()); break;
        case Verb::fetch: ok = p.fetch(cmd.args.emplace<FetchArgs>(), cmd.uid); break;
        case Verb::store: ok = parse_store(p, cmd.args.emplace<StoreArgs>()); break;
        case Verb::copy:
        case Verb::move: ok = parse_copy(p, cmd.args.emplace<CopyArgs>()); break;
        case Verb::id: ok = parse_id(p, cmd.args.emplace<IdArgs>()); break;
        case Verb::sort: ok = p.sort(cmd.args.emplace<SortArgs>()); break;
        case Verb::thread: ok = p.thread(cmd.args.emplace<ThreadArgs>()); break;
        case Verb::compress: ok = parse_compress(p, cmd.args.emplace<CompressArgs>()); break;
        case Verb::getquotaroot: ok = parse_mailbox_only(p, cmd.args.emplace<MailboxArgs>()); break;
        case Verb::getquota:
        case Verb::setquota: ok = parse_quota(p, cmd.args.emplace<QuotaArgs>(), *verb == Verb::setquota); break;
        case Verb::notify: ok = p.notify(cmd.args.emplace<NotifyArgs>()); break;
        case Verb::cancelupdate: ok = p.cancel_update(cmd.args.emplace<CancelUpdateArgs>()); break;
    }
    if (!ok) {
        std::string prefix = cmd.uid ? "UID " : "";
        prefix += verb_name(*verb);
        return error(p.limit_exceeded ? CommandErrorKind::limit_exceeded : CommandErrorKind::syntax, *verb,
                     prefix + ": " + (p.error.empty() ? std::string("invalid arguments") : p.error));
    }
    return cmd;
}

bool is_idle_done(std::string_view line) { return iequals(line, "DONE"); }

AuthenticateResponse parse_authenticate_response(std::string_view line) {
    if (line == "*") return {true, {}};
    return {false, std::string(line)};
}

}  // namespace hikyaku::imap
