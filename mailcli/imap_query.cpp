// imap_query.cpp: the readable search language to IMAP SEARCH keys (see imap_query.h).
// Must never: recurse past kMaxQueryDepth, or emit an OR or NOT without its operands.
#include "mailcli/imap_query.h"

#include <charconv>
#include <memory>
#include <vector>

#include "common/text/address.h"
#include "imapd/imap_lexer.h"
#include "mailcli/errors.h"

namespace hikyaku::mailcli {

namespace {

struct Token {
    enum Kind { word, open, close } kind = word;
    std::string text;           // the word with quotes removed
    bool quoted = false;        // some of it was quoted ("or" in quotes is no operator)
    bool whole_quoted = false;  // it starts with a quote: text, never key:value
};

std::string lower(std::string_view s) { return text::ascii_lowercase(s); }
std::string upper(std::string_view s) { return imap::ascii_upper(s); }

[[noreturn]] void bad(const std::string& why) { throw CliError(ExitCode::usage, "search: " + why); }

std::vector<Token> tokenize(std::string_view q) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < q.size()) {
        const char c = q[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            ++i;
            continue;
        }
        if (c == '(' || c == ')') {
            out.push_back({c == '(' ? Token::open : Token::close, std::string(1, c), false, false});
            ++i;
            continue;
        }
        Token t;
        t.whole_quoted = c == '"';
        while (i < q.size() && q[i] != ' ' && q[i] != '\t' && q[i] != '\n' && q[i] != '(' && q[i] != ')') {
            if (q[i] != '"') {
                t.text += q[i++];
                continue;
            }
            t.quoted = true;
            for (++i;; ++i) {
                if (i == q.size()) bad("a quote is not closed");
                if (q[i] == '"') break;
                if (q[i] == '\\' && i + 1 < q.size()) ++i;
                t.text += q[i];
            }
            ++i;
        }
        out.push_back(std::move(t));
    }
    return out;
}

// "2026-01-31" → "31-Jan-2026"; relative forms against `today`.
std::string imap_date(std::string_view text, std::chrono::sys_days today) {
    using namespace std::chrono;
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    year_month_day ymd{};
    const std::string t = lower(text);
    auto number = [](std::string_view s, int& v) {
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    int n = 0;
    if (t == "today") {
        ymd = year_month_day(today);
    } else if (t == "yesterday") {
        ymd = year_month_day(today - days(1));
    } else if (t.size() >= 2 && (t.back() == 'd' || t.back() == 'w') &&
               number(std::string_view(t).substr(0, t.size() - 1), n) && n >= 0 && n <= 100000) {
        ymd = year_month_day(today - days(t.back() == 'w' ? 7 * n : n));
    } else {
        int y = 0, m = 0, d = 0;
        if (t.size() != 10 || t[4] != '-' || t[7] != '-' || !number(std::string_view(t).substr(0, 4), y) ||
            !number(std::string_view(t).substr(5, 2), m) || !number(std::string_view(t).substr(8, 2), d))
            bad("\"" + std::string(text) + "\" is not a date (YYYY-MM-DD, today, yesterday, 7d, 2w)");
        ymd = year_month_day(year(y), month(static_cast<unsigned>(m)), day(static_cast<unsigned>(d)));
        if (!ymd.ok()) bad("\"" + std::string(text) + "\" is not a day of the calendar");
    }
    return std::to_string(static_cast<unsigned>(ymd.day())) + "-" + months[static_cast<unsigned>(ymd.month()) - 1] +
           "-" + std::to_string(static_cast<int>(ymd.year()));
}

std::string size_bytes(std::string_view text) {
    std::string t = lower(text);
    std::uint64_t unit = 1;
    if (!t.empty() && (t.back() == 'k' || t.back() == 'm' || t.back() == 'g')) {
        unit = t.back() == 'k' ? 1024 : t.back() == 'm' ? 1024 * 1024 : 1024ull * 1024 * 1024;
        t.pop_back();
    }
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (t.empty() || ec != std::errc() || p != t.data() + t.size() || n > (1ull << 62) / unit) {
        bad("\"" + std::string(text) + "\" is not a size (bytes, or with K, M or G)");
    }
    return std::to_string(n * unit);
}

bool is_uid_set(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || c == ':' || c == ',' || c == '*')) return false;
    }
    return true;
}

// One search key (a term) as IMAP.
ImapCommand term(const Token& t, std::chrono::sys_days today) {
    static const char* flag_words[] = {"all",      "seen",       "unseen",  "flagged",   "unflagged",
                                       "answered", "unanswered", "deleted", "undeleted", "draft",
                                       "undraft",  "new",        "old",     "recent"};
    if (t.whole_quoted) return ImapCommand("TEXT").astring(t.text);
    const std::size_t colon = t.text.find(':');
    const std::string key = lower(t.text.substr(0, colon));
    if (colon == std::string::npos) {
        for (const char* f : flag_words) {
            if (key == f) return ImapCommand(upper(f));
        }
        return ImapCommand("TEXT").astring(t.text);
    }
    const std::string value = t.text.substr(colon + 1);
    for (const char* k : {"from", "to", "cc", "bcc", "subject", "body", "text"}) {
        if (key != k) continue;
        if (value.empty()) bad(key + ": needs a value");
        return ImapCommand(upper(k)).astring(value);
    }
    for (const char* k : {"since", "before", "on", "sentsince", "sentbefore", "senton"}) {
        if (key == k) return ImapCommand(upper(k) + " " + imap_date(value, today));
    }
    if (key == "larger" || key == "smaller") return ImapCommand(upper(key) + " " + size_bytes(value));
    if (key == "uid") {
        if (!is_uid_set(value)) bad("\"" + value + "\" is not a UID set (1:5,7,10:*)");
        return ImapCommand("UID " + value);
    }
    if (key == "keyword") {
        if (!is_imap_atom(value)) bad("\"" + value + "\" is not a keyword");
        return ImapCommand("KEYWORD " + value);
    }
    if (key == "header") {
        const std::size_t second = value.find(':');
        const std::string name = value.substr(0, second);
        if (second == std::string::npos || !is_imap_atom(name)) bad("header: takes header:NAME:VALUE");
        return ImapCommand("HEADER").astring(name).astring(value.substr(second + 1));
    }
    bad("unknown term \"" + key +
        ":\" (from: to: cc: bcc: subject: body: text: header: since: before: on: "
        "sentsince: sentbefore: senton: larger: smaller: uid: keyword:)");
}

struct Node {
    enum Kind { key, all_of, any_of, negation } kind = key;
    ImapCommand keys;
    std::vector<std::unique_ptr<Node>> children;
};

class Parser {
public:
    Parser(std::vector<Token> tokens, std::chrono::sys_days today) : tokens_(std::move(tokens)), today_(today) {}

    std::unique_ptr<Node> parse() {
        auto n = parse_or(0);
        if (pos_ != tokens_.size()) bad("unexpected \")\"");
        return n;
    }

private:
    bool is_operator(const char* name) const {
        return pos_ < tokens_.size() && tokens_[pos_].kind == Token::word && !tokens_[pos_].quoted &&
               lower(tokens_[pos_].text) == name;
    }
    bool at_operand() const {
        return pos_ < tokens_.size() && tokens_[pos_].kind != Token::close && !is_operator("or") && !is_operator("and");
    }

    std::unique_ptr<Node> parse_or(std::size_t depth) {
        auto left = parse_and(depth);
        while (is_operator("or")) {
            ++pos_;
            auto n = std::make_unique<Node>();
            n->kind = Node::any_of;
            n->children.push_back(std::move(left));
            n->children.push_back(parse_and(depth));
            left = std::move(n);
        }
        return left;
    }

    std::unique_ptr<Node> parse_and(std::size_t depth) {
        auto n = std::make_unique<Node>();
        n->kind = Node::all_of;
        for (;;) {
            if (!at_operand())
                bad(pos_ < tokens_.size() ? "\"" + tokens_[pos_].text + "\" needs a term before it"
                                          : "the query ends where a term should be");
            n->children.push_back(parse_unary(depth));
            if (is_operator("and")) {
                ++pos_;
                continue;
            }
            if (!at_operand()) break;
        }
        if (n->children.size() == 1) return std::move(n->children.front());
        return n;
    }

    std::unique_ptr<Node> parse_unary(std::size_t depth) {
        if (depth > kMaxQueryDepth) bad("nested too deep");
        const Token& t = tokens_[pos_];
        if (is_operator("not") || (t.kind == Token::word && !t.quoted && t.text.size() > 1 && t.text[0] == '-')) {
            auto n = std::make_unique<Node>();
            n->kind = Node::negation;
            if (is_operator("not")) {
                ++pos_;
                if (!at_operand()) bad("\"not\" needs a term after it");
                n->children.push_back(parse_unary(depth + 1));
            } else {
                Token rest = t;
                rest.text.erase(0, 1);
                ++pos_;
                auto k = std::make_unique<Node>();
                k->keys = term(rest, today_);
                n->children.push_back(std::move(k));
            }
            return n;
        }
        if (t.kind == Token::open) {
            ++pos_;
            auto n = parse_or(depth + 1);
            if (pos_ == tokens_.size() || tokens_[pos_].kind != Token::close) bad("a \"(\" is not closed");
            ++pos_;
            return n;
        }
        auto n = std::make_unique<Node>();
        n->keys = term(t, today_);
        ++pos_;
        return n;
    }

    std::vector<Token> tokens_;
    std::chrono::sys_days today_;
    std::size_t pos_ = 0;
};

// Writes `n`; `single`: the place takes one search-key, so a conjunction is parenthesized.
void emit(const Node& n, bool single, ImapCommand& out) {
    switch (n.kind) {
        case Node::key: out.append(n.keys); return;
        case Node::negation:
            out.raw("NOT ");
            emit(*n.children[0], true, out);
            return;
        case Node::any_of:
            out.raw("OR ");
            emit(*n.children[0], true, out);
            out.raw(" ");
            emit(*n.children[1], true, out);
            return;
        case Node::all_of:
            if (single) out.raw("(");
            for (std::size_t i = 0; i < n.children.size(); ++i) {
                if (i) out.raw(" ");
                emit(*n.children[i], false, out);
            }
            if (single) out.raw(")");
            return;
    }
}

}  // namespace

ImapCommand translate_search_query(std::string_view query, std::chrono::sys_days today) {
    std::vector<Token> tokens = tokenize(query);
    if (tokens.empty()) return ImapCommand("ALL");
    Parser parser(std::move(tokens), today);
    auto tree = parser.parse();
    ImapCommand out;
    emit(*tree, false, out);
    return out;
}

}  // namespace hikyaku::mailcli
