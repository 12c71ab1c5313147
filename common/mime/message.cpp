// message.cpp: the MIME structure parser (see message.h).
// Must never: read outside the raw message, recurse deeper than max_depth, create more than
// max_parts parts, or treat a line as a boundary unless it is one (RFC 2046 5.1.1).
// RFC 2045 5-8, RFC 2046 5.1 and 5.2.1, RFC 2183, RFC 3501 7.4.2.
#include "common/mime/message.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hikyaku::mime {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2045 5.1 token: any CHAR except SPACE, CTLs and tspecials. 8-bit bytes are accepted
// (broken mail carries them; Dovecot keeps them too).
bool is_token_char(char ch) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
    return std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

class ValueLexer {
public:
    explicit ValueLexer(std::string_view s) : s_(s) {}

    bool at_end() const { return p_ >= s_.size(); }
    char peek() const { return s_[p_]; }
    void advance() { ++p_; }

    // RFC 822 comments and whitespace.
    void skip_cfws() {
        while (!at_end()) {
            char c = s_[p_];
            if (is_wsp(c)) {
                ++p_;
            } else if (c == '(') {
                int depth = 0;
                while (!at_end()) {
                    char d = s_[p_++];
                    if (d == '\\' && !at_end()) {
                        ++p_;
                    } else if (d == '(') {
                        ++depth;
                    } else if (d == ')' && --depth == 0) {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    std::string token() {
        std::size_t start = p_;
        while (!at_end() && is_token_char(s_[p_])) ++p_;
        return std::string(s_.substr(start, p_ - start));
    }

    // Quoted string at '"': unquoted, quoted-pairs resolved, folding removed.
    std::string quoted() {
        std::string out;
        ++p_;
        while (!at_end()) {
            char c = s_[p_++];
            if (c == '"') break;
            if (c == '\\' && !at_end()) {
                out.push_back(s_[p_++]);
                continue;
            }
            if (c == '\r' || c == '\n') continue;
            out.push_back(c);
        }
        return out;
    }

    // Skips to just after the next ';' (or to the end).
    void skip_past_semicolon() {
        while (!at_end()) {
            char c = s_[p_];
            if (c == '"') {
                quoted();
                continue;
            }
            ++p_;
            if (c == ';') return;
        }
    }

private:
    std::string_view s_;
    std::size_t p_ = 0;
};

// RFC 2045 5.1: *(";" parameter), parameter = attribute "=" value, value = token / quoted.
void parse_params(ValueLexer& lx, ContentType& ct, std::size_t max_params) {
    while (true) {
        lx.skip_cfws();
        if (lx.at_end()) return;
        if (lx.peek() != ';') {
            lx.skip_past_semicolon();  // junk between parameters
            continue;
        }
        lx.advance();
        lx.skip_cfws();
        std::string name = lx.token();
        lx.skip_cfws();
        if (name.empty() || lx.at_end() || lx.peek() != '=') {
            if (!lx.at_end() && lx.peek() != ';') lx.skip_past_semicolon();
            continue;
        }
        lx.advance();
        lx.skip_cfws();
        std::string value;
        if (!lx.at_end() && lx.peek() == '"') {
            value = lx.quoted();
        } else {
            value = lx.token();
        }
        if (ct.params.size() >= max_params) {
            ct.params_truncated = true;
            continue;
        }
        ct.params.push_back(Param{std::move(name), std::move(value)});
    }
}

bool nonempty_value(std::string_view v) {
    for (char c : v)
        if (!is_wsp(c)) return true;
    return false;
}

// Content-ID/-Description/-MD5/-Location are kept raw (folds included); the IMAP writer
// removes line breaks the way Dovecot does.
std::string raw_value(const HeaderField& f) { return f.value; }

// Sets body_lines of every part with one pass over the message: the LF count of [a, b) is
// L(b) - L(a), L(x) being the LFs before x, and L is needed only at the parts' bounds.
// (Counting per part would rescan nested bodies once per level.)
void assign_line_counts(std::string_view raw, Part& root) {
    std::vector<Part*> parts;
    std::vector<Part*> stack{&root};
    while (!stack.empty()) {
        Part* p = stack.back();
        stack.pop_back();
        parts.push_back(p);
        for (Part& c : p->children) stack.push_back(&c);
    }
    std::vector<std::size_t> bounds;
    bounds.reserve(parts.size() * 2);
    for (const Part* p : parts) {
        bounds.push_back(p->body_offset);
        bounds.push_back(p->body_offset + p->body_size);
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    std::vector<std::size_t> lf_before(bounds.size());
    std::size_t count = 0, pos = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        while (pos < bounds[i]) {
            const void* nl = std::memchr(raw.data() + pos, '\n', bounds[i] - pos);
            if (nl == nullptr) {
                pos = bounds[i];
                break;
            }
            ++count;
            pos = static_cast<std::size_t>(static_cast<const char*>(nl) - raw.data()) + 1;
        }
        lf_before[i] = count;
    }
    auto at = [&](std::size_t offset) {
        return lf_before[static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), offset) -
                                                  bounds.begin())];
    };
    for (Part* p : parts) p->body_lines = at(p->body_offset + p->body_size) - at(p->body_offset);
}

// RFC 2046 5.1.1: a delimiter line is "--" boundary, then "--" for the close delimiter,
// then only transport padding (LWSP) up to the line end. A line that merely starts with the
// boundary ("--bbx") is body text (Dovecot disagrees; see the corpus test's exceptions).
bool match_delimiter(std::string_view line, std::string_view boundary, bool& close) {
    if (line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-') return false;
    if (line.compare(2, boundary.size(), boundary) != 0) return false;
    std::string_view rest = line.substr(2 + boundary.size());
    close = false;
    if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-') {
        close = true;
        rest.remove_prefix(2);
    }
    for (char c : rest)
        if (c != ' ' && c != '\t' && c != '\r') return false;
    return true;
}

// A line starting with "--": its offset and the length of its token (see below), which
// starts at offset + 2.
struct DashLine {
    std::uint32_t offset;
    std::uint32_t token_length;
};

// The boundary a "--" line may name: after "--", without trailing whitespace (transport
// padding, RFC 2046 5.1.1) and without one trailing "--" (the close delimiter).
std::string_view trim_right(std::string_view t) {
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.remove_suffix(1);
    return t;
}

std::string_view without_close_mark(std::string_view t) {
    t = trim_right(t);
    if (t.size() >= 2 && t.substr(t.size() - 2) == "--") t = trim_right(t.substr(0, t.size() - 2));
    return t;
}

std::string_view dash_line_token(std::string_view raw, std::size_t pos, std::size_t eol) {
    return without_close_mark(raw.substr(pos + 2, eol - pos - 2));
}

std::string_view token_of(std::string_view raw, const DashLine& d) {
    return raw.substr(std::size_t{d.offset} + 2, d.token_length);
}

struct DashLineLess {
    std::string_view raw;
    bool operator()(const DashLine& a, const DashLine& b) const {
        int c = token_of(raw, a).compare(token_of(raw, b));
        return c != 0 ? c < 0 : a.offset < b.offset;
    }
};

struct DashLineTokenLess {
    std::string_view raw;
    bool operator()(const DashLine& a, std::string_view t) const { return token_of(raw, a) < t; }
    bool operator()(std::string_view t, const DashLine& a) const { return t < token_of(raw, a); }
};

class Parser {
public:
    Parser(std::string_view raw, const ParseLimits& limits) : raw_(raw), limits_(limits) {}

    ParsedMessage run() {
        ParsedMessage msg;
        msg.size = raw_.size();
        parts_ = 1;
        msg.root = parse_entity(0, raw_.size(), 0, false, &msg.headers, &msg.envelope);
        assign_line_counts(raw_, msg.root);
        msg.degraded = degraded_;
        return msg;
    }

private:
    // Parses the entity raw[begin, end) (header block and body) at nesting depth `depth`.
    // With `headers`, the header fields are handed back; with `envelope`, it is built.
    Part parse_entity(std::size_t begin, std::size_t end, std::size_t depth, bool digest_child,
                      std::vector<HeaderField>* headers, Envelope* envelope) {
        Part part;
        HeaderBlock hb = parse_header_block(raw_, begin, end, limits_);
        degraded_ |= hb.degraded;
        part.header_offset = begin;
        part.header_size = hb.size;
        part.body_offset = begin + hb.size;
        part.body_size = end - part.body_offset;
        apply_content_fields(part, hb.fields, digest_child);
        if (envelope != nullptr) {
            bool truncated = false;
            *envelope = make_envelope(hb.fields, limits_.max_addresses, &truncated);
            if (truncated) degraded_ |= degraded_addresses;
        }
        if (headers != nullptr) *headers = std::move(hb.fields);

        if (iequals(part.type, "multipart")) {
            if (depth >= limits_.max_depth) {
                degrade_to_text(part, degraded_depth);
            } else {
                parse_multipart(part, depth);
            }
        } else if (iequals(part.type, "message") && iequals(part.subtype, "rfc822") && identity_encoding(part)) {
            if (depth >= limits_.max_depth) {
                degrade_to_text(part, degraded_depth);
            } else if (parts_ >= limits_.max_parts) {
                degrade_to_text(part, degraded_parts);
            } else {
                ++parts_;
                part.kind = PartKind::message;
                Envelope inner;
                part.children.push_back(parse_entity(part.body_offset, end, depth + 1, false, nullptr, &inner));
                part.envelope = std::move(inner);
            }
        }
        return part;
    }

    // RFC 2046 5.2.1: message/rfc822 may only be 7bit, 8bit or binary; anything else is
    // opaque (as in Dovecot).
    static bool identity_encoding(const Part& part) {
        if (!part.encoding) return true;
        return iequals(*part.encoding, "7bit") || iequals(*part.encoding, "8bit") || iequals(*part.encoding, "binary");
    }

    void degrade_to_text(Part& part, std::uint32_t why) {
        degraded_ |= why;
        part.kind = PartKind::leaf;
        part.type = "text";
        part.subtype = "plain";
        part.params.clear();
        part.children.clear();
    }

    void parse_multipart(Part& part, std::size_t depth) {
        part.kind = PartKind::multipart;
        const std::string* boundary = find_param(part.params, "boundary");
        // RFC 2046 5.1.1: without a boundary nothing can be split; like Dovecot, the
        // multipart then has no parts (writers show one empty text/plain part).
        if (boundary == nullptr || boundary->empty()) return;
        if (boundary->size() > limits_.max_boundary_length) {
            degraded_ |= degraded_boundary;
            return;
        }
        bool digest = iequals(part.subtype, "digest");
        std::size_t begin = part.body_offset;
        std::size_t end = part.body_offset + part.body_size;
        std::size_t part_start = 0;
        bool in_part = false;  // after the first delimiter
        // Looks at the line starting at pos; false once the multipart is complete.
        auto line = [&](std::size_t pos) {
            // Cheap rejection first: "--" and the boundary must follow (RFC 2046 5.1.1).
            if (end - pos < boundary->size() + 2 || raw_.compare(pos + 2, boundary->size(), *boundary) != 0)
                return true;
            const void* nl = std::memchr(raw_.data() + pos, '\n', end - pos);
            std::size_t next =
                nl == nullptr ? end : static_cast<std::size_t>(static_cast<const char*>(nl) - raw_.data()) + 1;
            std::size_t len = next - pos;
            if (len > 0 && raw_[pos + len - 1] == '\n') --len;
            bool close = false;
            if (len >= 2 && raw_[pos] == '-' && match_delimiter(raw_.substr(pos, len), *boundary, close)) {
                if (in_part && !add_child(part, part_start, body_end_before(part_start, pos), depth, digest))
                    return false;
                if (close) return false;  // the epilogue belongs to no part
                in_part = true;
                part_start = next;
            }
            return true;
        };
        if (raw_.size() <= UINT32_MAX) {
            // Only lines of the form "--" token can be delimiters. They are indexed once per
            // message by token, so each multipart visits just the lines naming its boundary, not
            // every line of its parent again (nesting would multiply the work by the depth).
            const std::vector<DashLine>& index = dash_lines();
            // Close delimiters are indexed under the boundary itself; open delimiters of a
            // boundary that ends in "--" under the boundary without it.
            std::string_view key = trim_right(*boundary);
            std::string_view open_key = without_close_mark(*boundary);
            auto lines_of = [&](std::string_view token) {
                auto [lo, hi] = std::equal_range(index.begin(), index.end(), token, DashLineTokenLess{raw_});
                auto first =
                    std::lower_bound(lo, hi, begin, [](const DashLine& d, std::size_t o) { return d.offset < o; });
                return std::pair(first, hi);
            };
            auto [a, a_end] = lines_of(key);
            auto [b, b_end] = open_key != key ? lines_of(open_key) : std::pair(a_end, a_end);
            while (true) {  // both ranges are in offset order: merge them
                bool take_a = a != a_end && a->offset < end;
                bool take_b = b != b_end && b->offset < end;
                if (!take_a && !take_b) break;
                if (take_a && take_b) take_b = b->offset < a->offset;
                std::size_t pos = take_b ? (b++)->offset : (a++)->offset;
                if (!line(pos)) return;
            }
        } else {
            std::size_t pos = begin;
            while (pos < end) {
                if (!line(pos)) return;
                const void* nl = std::memchr(raw_.data() + pos, '\n', end - pos);
                pos = nl == nullptr ? end : static_cast<std::size_t>(static_cast<const char*>(nl) - raw_.data()) + 1;
            }
        }
        // No close delimiter: the last part runs to the end of its parent (Dovecot).
        if (in_part) add_child(part, part_start, end, depth, digest);
    }

    // Every line "--" token of the message that could be a delimiter, sorted by token and
    // offset; the token leaves out trailing whitespace and one trailing "--" (so close
    // delimiters sort with their boundary). Built on first use.
    const std::vector<DashLine>& dash_lines() {
        if (dash_lines_built_) return dash_lines_;
        dash_lines_built_ = true;
        std::size_t pos = 0;
        while (pos < raw_.size()) {
            const void* nl = std::memchr(raw_.data() + pos, '\n', raw_.size() - pos);
            std::size_t eol =
                nl == nullptr ? raw_.size() : static_cast<std::size_t>(static_cast<const char*>(nl) - raw_.data());
            if (eol - pos >= 3 && raw_[pos] == '-' && raw_[pos + 1] == '-') {
                std::string_view token = dash_line_token(raw_, pos, eol);
                if (!token.empty() && token.size() <= limits_.max_boundary_length)
                    dash_lines_.push_back(
                        DashLine{static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(token.size())});
            }
            if (nl == nullptr) break;
            pos = eol + 1;
        }
        std::sort(dash_lines_.begin(), dash_lines_.end(), DashLineLess{raw_});
        return dash_lines_;
    }

    // RFC 2046 5.1.1: the line end before a delimiter belongs to the delimiter.
    std::size_t body_end_before(std::size_t part_start, std::size_t delimiter) const {
        std::size_t e = delimiter;
        if (e > part_start && raw_[e - 1] == '\n') {
            --e;
            if (e > part_start && raw_[e - 1] == '\r') --e;
        }
        return e;
    }

    bool add_child(Part& parent, std::size_t begin, std::size_t end, std::size_t depth, bool digest) {
        if (parts_ >= limits_.max_parts) {
            degraded_ |= degraded_parts;
            return false;
        }
        ++parts_;
        parent.children.push_back(parse_entity(begin, end, depth + 1, digest, nullptr, nullptr));
        return true;
    }

    void apply_content_fields(Part& part, const std::vector<HeaderField>& fields, bool digest_child) {
        if (const HeaderField* f = find_header(fields, "Content-Type")) {
            ContentType ct = parse_content_type(f->value, limits_.max_params);
            if (ct.params_truncated) degraded_ |= degraded_params;
            if (!ct.type.empty()) {
                part.content_type_present = true;
                part.type = std::move(ct.type);
                part.subtype = std::move(ct.subtype);
                part.params = std::move(ct.params);
            }
        }
        if (!part.content_type_present && digest_child) {
            // RFC 2046 5.1.5: in a digest, the default is message/rfc822.
            part.type = "message";
            part.subtype = "rfc822";
        }
        if (const HeaderField* f = find_header(fields, "Content-Transfer-Encoding")) {
            ValueLexer lx(f->value);
            lx.skip_cfws();
            std::string token = lx.token();
            if (!token.empty()) part.encoding = std::move(token);
        }
        if (const HeaderField* f = find_header(fields, "Content-ID")) part.id = raw_value(*f);
        if (const HeaderField* f = find_header(fields, "Content-Description")) part.description = raw_value(*f);
        if (const HeaderField* f = find_header(fields, "Content-MD5")) part.md5 = raw_value(*f);
        if (const HeaderField* f = find_header(fields, "Content-Location")) part.location = raw_value(*f);
        if (const HeaderField* f = find_header(fields, "Content-Disposition")) {
            ContentType cd = parse_content_disposition(f->value, limits_.max_params);
            if (cd.params_truncated) degraded_ |= degraded_params;
            if (!cd.type.empty()) {
                part.disposition = std::move(cd.type);
                part.disposition_params = std::move(cd.params);
            }
        }
        if (const HeaderField* f = find_header(fields, "Content-Language")) {
            // RFC 3282 2: a comma-separated list of language tags.
            ValueLexer lx(f->value);
            while (part.language.size() < limits_.max_params) {
                lx.skip_cfws();
                if (lx.at_end()) break;
                if (lx.peek() == ',') {
                    lx.advance();
                    continue;
                }
                std::string tag = lx.token();
                if (tag.empty()) {
                    lx.advance();
                    continue;
                }
                part.language.push_back(std::move(tag));
            }
        }
    }

    std::string_view raw_;
    const ParseLimits& limits_;
    std::size_t parts_ = 0;
    std::uint32_t degraded_ = 0;
    std::vector<DashLine> dash_lines_;
    bool dash_lines_built_ = false;
};

}  // namespace

bool Part::is_text() const { return iequals(type, "text"); }

ContentType parse_content_type(std::string_view value, std::size_t max_params) {
    ContentType ct;
    ValueLexer lx(value);
    lx.skip_cfws();
    ct.type = lx.token();
    lx.skip_cfws();
    if (!lx.at_end() && lx.peek() == '/') {
        lx.advance();
        lx.skip_cfws();
        ct.subtype = lx.token();
    }
    parse_params(lx, ct, max_params);
    return ct;
}

ContentType parse_content_disposition(std::string_view value, std::size_t max_params) {
    ContentType cd;
    ValueLexer lx(value);
    lx.skip_cfws();
    cd.type = lx.token();
    parse_params(lx, cd, max_params);
    return cd;
}

const std::string* find_param(const std::vector<Param>& params, std::string_view name) {
    for (const auto& p : params)
        if (iequals(p.name, name)) return &p.value;
    return nullptr;
}

Envelope make_envelope(const std::vector<HeaderField>& fields, std::size_t max_addresses, bool* truncated) {
    Envelope env;
    auto text = [&](const char* name, std::optional<std::string>& out) {
        if (const HeaderField* f = find_last_header(fields, name)) out = f->value;
    };
    auto addresses = [&](const char* name, std::vector<Address>& out) {
        const HeaderField* f = find_last_header(fields, name);
        if (f == nullptr || !nonempty_value(f->value)) return;
        AddressList list = parse_address_list(f->value, max_addresses);
        if (list.truncated && truncated != nullptr) *truncated = true;
        out = std::move(list.addresses);
    };
    text("Date", env.date);
    text("Subject", env.subject);
    addresses("From", env.from);
    addresses("Sender", env.sender);
    addresses("Reply-To", env.reply_to);
    addresses("To", env.to);
    addresses("Cc", env.cc);
    addresses("Bcc", env.bcc);
    text("In-Reply-To", env.in_reply_to);
    text("Message-ID", env.message_id);
    // RFC 3501 7.4.2: the server fills sender and reply-to from from when absent.
    if (env.sender.empty()) env.sender = env.from;
    if (env.reply_to.empty()) env.reply_to = env.from;
    return env;
}

Result<ParsedMessage> parse_message(std::string_view raw, const ParseLimits& limits) {
    if (raw.size() > limits.max_message_size)
        return make_error(Errc::limit_exceeded, "message larger than max_message_size");
    return Parser(raw, limits).run();
}

const Part* find_part(const ParsedMessage& message, const std::vector<std::uint32_t>& section) {
    const Part* cur = &message.root;
    bool message_context = true;  // cur is a message (top level or encapsulated)
    for (std::size_t i = 0; i < section.size(); ++i) {
        std::uint32_t n = section[i];
        if (n == 0) return nullptr;
        const Part* next = nullptr;
        if (cur->kind == PartKind::multipart) {
            if (n - 1 < cur->children.size()) next = &cur->children[n - 1];
        } else if (message_context && n == 1) {
            next = cur;  // RFC 3501 6.4.5: a non-multipart message has only part 1
        }
        if (next == nullptr) return nullptr;
        message_context = false;
        cur = next;
        if (i + 1 < section.size() && cur->kind == PartKind::message) {
            cur = &cur->children.front();
            message_context = true;
        }
    }
    return cur;
}

}  // namespace hikyaku::mime
