// address.cpp: RFC 5322 3.4 / 4.4 address-list parsing into RFC 3501 address structures.
// Must never: loop without consuming input, keep more than max_addresses entries (group
// end markers included), or drop a group end whose start was kept.
// RFC 5322 3.2.2 (CFWS), 3.2.3 (atoms), 3.2.4 (quoted strings), 3.4, 4.4; RFC 3501 7.4.2.
#include "common/mime/address.h"

#include "common/text/ascii.h"

namespace hikyaku::mime {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 5322 3.2.3 atext, plus 8-bit bytes (RFC 6532 3.2: UTF-8 in header text).
bool is_atext(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 0x80 || text::is_atext(c);
}

class AddressParser {
public:
    AddressParser(std::string_view s, std::size_t max) : s_(s), max_(max) {}

    AddressList run() {
        while (true) {
            skip_cfws();
            if (at_end()) break;
            char c = s_[p_];
            if (c == ',' || c == ';') {  // empty list members (RFC 5322 4.4) and strays
                ++p_;
                continue;
            }
            std::size_t start = p_;
            if (try_group()) continue;
            p_ = start;
            parse_mailbox();
            skip_cfws();
            if (!at_end() && s_[p_] != ',') skip_junk(false);
        }
        return std::move(out_);
    }

private:
    bool at_end() const { return p_ >= s_.size(); }

    // RFC 5322 3.2.2: comments and whitespace; the text of the last comment is remembered
    // (Dovecot uses it as the display name of a bare addr-spec).
    void skip_cfws() {
        while (!at_end()) {
            char c = s_[p_];
            if (is_wsp(c)) {
                ++p_;
            } else if (c == '(') {
                parse_comment();
            } else {
                break;
            }
        }
    }

    void parse_comment() {
        std::string text;
        int depth = 0;
        while (!at_end()) {
            char c = s_[p_++];
            if (c == '\\' && !at_end()) {
                text.push_back(s_[p_++]);
                continue;
            }
            if (c == '(') {
                if (depth++ > 0) text.push_back(c);
                continue;
            }
            if (c == ')') {
                if (--depth == 0) break;
                text.push_back(c);
                continue;
            }
            if (c == '\r' || c == '\n') continue;
            text.push_back(c);
        }
        last_comment_ = std::move(text);
    }

    // RFC 5322 3.2.4; the quotes and quoted-pair backslashes removed, folding removed.
    void parse_quoted(std::string& out) {
        ++p_;  // opening quote
        while (!at_end()) {
            char c = s_[p_++];
            if (c == '"') return;
            if (c == '\\' && !at_end()) {
                out.push_back(s_[p_++]);
                continue;
            }
            if (c == '\r' || c == '\n') continue;
            out.push_back(c);
        }
    }

    // An atom; with allow_dot, '.' counts as atext (obs-phrase, RFC 5322 4.1).
    bool parse_atom(std::string& out, bool allow_dot) {
        std::size_t start = p_;
        while (!at_end() && (is_atext(s_[p_]) || (allow_dot && s_[p_] == '.'))) ++p_;
        out.append(s_.substr(start, p_ - start));
        return p_ > start;
    }

    // RFC 5322 3.2.5 phrase / 4.1 obs-phrase: words joined by one space.
    std::string parse_phrase() {
        std::string phrase;
        bool first = true;
        while (!at_end()) {
            char c = s_[p_];
            if (c != '"' && c != '.' && !is_atext(c)) break;
            if (!first) phrase.push_back(' ');
            first = false;
            if (c == '"') parse_quoted(phrase);
            else parse_atom(phrase, true);
            skip_cfws();
        }
        return phrase;
    }

    // RFC 5322 3.4.1 local-part: dot-atom / quoted-string / obs-local-part (words and dots).
    std::string parse_local_part() {
        std::string local;
        while (!at_end()) {
            char c = s_[p_];
            if (c == '"') {
                parse_quoted(local);
            } else if (!parse_atom(local, false)) {
                break;
            }
            skip_cfws();
            if (!at_end() && s_[p_] == '.') {
                local.push_back('.');
                ++p_;
                skip_cfws();
                continue;
            }
            break;
        }
        return local;
    }

    // RFC 5322 3.4.1 domain: dot-atom / domain-literal (kept with its brackets).
    std::string parse_domain() {
        std::string domain;
        if (!at_end() && s_[p_] == '[') {
            while (!at_end()) {
                char c = s_[p_++];
                if (c == '\\' && !at_end()) {
                    domain.push_back(s_[p_++]);
                    continue;
                }
                if (c == '\r' || c == '\n') continue;
                domain.push_back(c);
                if (c == ']') break;
            }
            skip_cfws();
            return domain;
        }
        while (!at_end()) {
            if (!parse_atom(domain, false)) break;
            skip_cfws();
            if (!at_end() && s_[p_] == '.') {
                domain.push_back('.');
                ++p_;
                skip_cfws();
                continue;
            }
            break;
        }
        return domain;
    }

    // addr-spec after the local part: "@" domain, if present.
    void parse_addr_spec(Address& a) {
        a.mailbox = parse_local_part();
        if (!at_end() && s_[p_] == '@') {
            ++p_;
            skip_cfws();
            a.host = parse_domain();
        }
    }

    // RFC 5322 3.4 mailbox = name-addr / addr-spec.
    void parse_mailbox() {
        std::size_t start = p_;
        Address a;
        std::string phrase = parse_phrase();
        if (!at_end() && s_[p_] == '<') {
            ++p_;
            skip_cfws();
            if (!at_end() && s_[p_] == '@') a.route = parse_route();
            parse_addr_spec(a);
            skip_cfws();
            if (!at_end() && s_[p_] == '>') ++p_;
            if (!phrase.empty()) a.name = std::move(phrase);
        } else {
            p_ = start;
            last_comment_.clear();
            parse_addr_spec(a);
            if (!last_comment_.empty()) a.name = last_comment_;
        }
        if (p_ == start) {  // nothing we understand here: step over it
            ++p_;
            return;
        }
        bool empty = (!a.mailbox || a.mailbox->empty()) && (!a.host || a.host->empty()) && !a.name && !a.route;
        if (empty) return;
        // Dovecot's MESSAGE_ADDRESS_PARSE_FLAG_FILL_MISSING.
        if (!a.mailbox || a.mailbox->empty()) a.mailbox = "MISSING_MAILBOX";
        if (!a.host || a.host->empty()) a.host = "MISSING_DOMAIN";
        add(std::move(a), in_group_ ? 1 : 0);
    }

    // RFC 5322 4.4 obs-route: "@" domain *("," ["@" domain]) ":". Returns "@a,@b".
    std::string parse_route() {
        std::string route;
        while (!at_end()) {
            if (s_[p_] == '@') {
                ++p_;
                skip_cfws();
                if (!route.empty()) route.push_back(',');
                route.push_back('@');
                route += parse_domain();
            } else if (s_[p_] == ',') {
                ++p_;
                skip_cfws();
            } else {
                break;
            }
        }
        if (!at_end() && s_[p_] == ':') ++p_;
        skip_cfws();
        return route;
    }

    // RFC 5322 3.4 group = display-name ":" [group-list] ";" [CFWS].
    bool try_group() {
        std::string phrase = parse_phrase();
        if (phrase.empty() || at_end() || s_[p_] != ':') return false;
        ++p_;
        bool kept = out_.addresses.size() + 2 <= max_;
        if (kept) {
            Address start;
            start.mailbox = std::move(phrase);
            out_.addresses.push_back(std::move(start));
        } else {
            out_.truncated = true;
        }
        in_group_ = kept;
        dropping_group_ = !kept;
        while (true) {
            skip_cfws();
            if (at_end()) break;
            char c = s_[p_];
            if (c == ';') {
                ++p_;
                break;
            }
            if (c == ',') {
                ++p_;
                continue;
            }
            parse_mailbox();
            skip_cfws();
            if (!at_end() && s_[p_] != ',' && s_[p_] != ';') skip_junk(true);
        }
        if (kept) out_.addresses.push_back(Address{});  // group end
        in_group_ = false;
        dropping_group_ = false;
        return true;
    }

    void add(Address a, std::size_t reserved) {
        if (dropping_group_ || out_.addresses.size() + 1 + reserved > max_) {
            out_.truncated = true;
            return;
        }
        out_.addresses.push_back(std::move(a));
    }

    // Skips unparsable bytes up to the next ',' (or ';' inside a group).
    void skip_junk(bool in_group) {
        while (!at_end()) {
            char c = s_[p_];
            if (c == ',' || (in_group && c == ';')) return;
            if (c == '"') {
                std::string ignored;
                parse_quoted(ignored);
            } else if (c == '(') {
                parse_comment();
            } else {
                ++p_;
            }
        }
    }

    std::string_view s_;
    std::size_t p_ = 0;
    std::size_t max_;
    std::string last_comment_;
    bool in_group_ = false;
    bool dropping_group_ = false;
    AddressList out_;
};

}  // namespace

AddressList parse_address_list(std::string_view value, std::size_t max_addresses) {
    return AddressParser(value, max_addresses).run();
}

}  // namespace hikyaku::mime
