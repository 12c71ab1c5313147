// imap_response.cpp: IMAP responses, client side (see imap_response.h).
// Must never: read past a frame's lines and literals, or recurse deeper than max_depth.
#include "common/client/imap_response.h"

#include <algorithm>
#include <charconv>

#include "common/client/line_scan.h"

namespace hikyaku::client {

namespace {

constexpr std::size_t kBadLineShown = 80;
constexpr std::size_t kFirstLineKept = 512;
// A literal's buffer grows as its octets arrive: a server that announces 200 MB and then
// stalls costs no more than it sent.
constexpr std::size_t kLiteralReserve = 64 * 1024;

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && upper(a) == upper(b); }

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <class T>
std::optional<T> to_number(std::string_view s) {
    if (!is_digits(s)) return std::nullopt;
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// A literal marker at the end of a line: "{N}", "{N+}" (RFC 7888) or "~{N}" (RFC 3516).
// Returns the marker's length and sets `size`; 0 when the line has none. `overflow` is set
// when N does not fit.
std::size_t literal_marker(std::string_view line, std::uint64_t& size, bool& overflow) {
    if (line.empty() || line.back() != '}') return 0;
    const std::size_t open = line.rfind('{');
    if (open == std::string_view::npos) return 0;
    std::string_view digits = line.substr(open + 1, line.size() - open - 2);
    if (digits.ends_with('+')) digits.remove_suffix(1);
    if (!is_digits(digits)) return 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    overflow = ec != std::errc() || p != digits.data() + digits.size();
    const bool binary = open > 0 && line[open - 1] == '~';
    return line.size() - open + (binary ? 1 : 0);
}

// Reads the values of a frame: atoms, quoted strings, literals, NIL and lists.
class ValueReader {
public:
    ValueReader(std::vector<std::string>& lines, std::vector<std::string>& literals, const ImapLimits& limits,
                std::size_t line, std::size_t pos)
        : lines_(lines), literals_(literals), limits_(limits), line_(line), pos_(pos) {}

    // Everything up to the end of the frame; false when malformed or over a bound
    // (`too_large` says which).
    bool read_all(std::vector<ImapValue>& out) { return read_values(out, 0) && at_end(); }
    bool too_large() const { return too_large_; }

private:
    static constexpr int kLiteral = -2;
    static constexpr int kEnd = -1;

    int peek() const {
        if (pos_ < lines_[line_].size()) return static_cast<unsigned char>(lines_[line_][pos_]);
        return line_ < literals_.size() ? kLiteral : kEnd;
    }
    bool at_end() const { return peek() == kEnd; }
    void skip_spaces() {
        while (peek() == ' ') ++pos_;
    }
    bool count_value() {
        if (++values_ > limits_.max_values) {
            too_large_ = true;
            return false;
        }
        return true;
    }

    // Values until ")" (depth > 0) or the end of the frame (depth 0).
    bool read_values(std::vector<ImapValue>& out, std::size_t depth) {
        for (;;) {
            skip_spaces();
            const int c = peek();
            if (c == kEnd) return depth == 0;
            if (c == ')') {
                if (depth == 0) return false;
                ++pos_;
                return true;
            }
            ImapValue v;
            if (!count_value() || !read_value(v, depth)) return false;
            out.push_back(std::move(v));
        }
    }

    bool read_value(ImapValue& v, std::size_t depth) {
        const int c = peek();
        if (c == kLiteral) {
            v.kind = ImapValue::Kind::string;
            v.literal = true;
            v.text = std::move(literals_[line_]);
            ++line_;
            pos_ = 0;
            return true;
        }
        if (c == '(') {
            if (depth + 1 > limits_.max_depth) {
                too_large_ = true;
                return false;
            }
            ++pos_;
            v.kind = ImapValue::Kind::list;
            return read_values(v.items, depth + 1);
        }
        if (c == '"') return read_quoted(v);
        return read_atom(v);
    }

    bool read_quoted(ImapValue& v) {
        const std::string& line = lines_[line_];
        v.kind = ImapValue::Kind::string;
        for (++pos_; pos_ < line.size(); ++pos_) {
            char c = line[pos_];
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c == '\0') return false;
            if (c == '\\') {
                if (++pos_ == line.size()) return false;
                c = line[pos_];
            }
            v.text += c;
        }
        return false;  // no closing quote before the line (or a literal) ends
    }

    // An atom, or NIL. Inside "[...]" (a FETCH section name) spaces and parentheses belong
    // to the atom.
    bool read_atom(ImapValue& v) {
        const std::string& line = lines_[line_];
        const std::size_t start = pos_;
        std::size_t brackets = 0;
        for (; pos_ < line.size(); ++pos_) {
            const unsigned char c = static_cast<unsigned char>(line[pos_]);
            if (c < 0x20 || c == 0x7f) return false;
            if (c == '[') ++brackets;
            else if (c == ']' && brackets > 0) --brackets;
            else if (brackets == 0 && (c == ' ' || c == '(' || c == ')' || c == '"')) break;
        }
        if (brackets > 0 || pos_ == start) return false;
        v.text = line.substr(start, pos_ - start);
        v.kind = iequals(v.text, "NIL") ? ImapValue::Kind::nil : ImapValue::Kind::atom;
        if (v.is_nil()) v.text.clear();
        return true;
    }

    std::vector<std::string>& lines_;
    std::vector<std::string>& literals_;
    const ImapLimits& limits_;
    std::size_t line_, pos_;
    std::size_t values_ = 0;
    bool too_large_ = false;
};

// A word of `s` from `pos` up to a space (or the end); `pos` moves past it and one space.
std::string_view next_word(std::string_view s, std::size_t& pos) {
    const std::size_t start = pos;
    const std::size_t sp = s.find(' ', pos);
    const std::size_t end = sp == std::string_view::npos ? s.size() : sp;
    pos = sp == std::string_view::npos ? s.size() : sp + 1;
    return s.substr(start, end - start);
}

bool is_status_word(std::string_view w) { return w == "OK" || w == "NO" || w == "BAD" || w == "PREAUTH" || w == "BYE"; }

// resp-text after the status word: optional "[CODE args]" then text (RFC 9051 7.1).
bool read_status_text(std::string_view rest, ImapResponse& r) {
    if (rest.starts_with('[')) {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) return false;
        std::string_view inside = rest.substr(1, close - 1);
        std::size_t pos = 0;
        r.code = upper(next_word(inside, pos));
        r.code_args = std::string(inside.substr(pos));
        rest.remove_prefix(close + 1);
        if (rest.starts_with(' ')) rest.remove_prefix(1);
    }
    r.text = std::string(rest);
    return true;
}

}  // namespace

const char* to_string(ImapParseStatus status) {
    switch (status) {
        case ImapParseStatus::incomplete: return "incomplete";
        case ImapParseStatus::complete: return "complete";
        case ImapParseStatus::malformed: return "not an IMAP response";
        case ImapParseStatus::line_too_long: return "line too long";
        case ImapParseStatus::literal_too_large: return "literal too large";
        case ImapParseStatus::response_too_large: return "response too large";
    }
    return "?";
}

std::optional<std::uint32_t> ImapValue::number() const {
    return kind == Kind::atom ? to_number<std::uint32_t>(text) : std::nullopt;
}

std::optional<std::uint64_t> ImapValue::number64() const {
    auto n = kind == Kind::atom ? to_number<std::uint64_t>(text) : std::nullopt;
    if (n && *n > 0x7fffffffffffffffull) return std::nullopt;  // RFC 9051 9 number64
    return n;
}

void ImapResponseParser::fail(ImapParseStatus status, std::string_view line) {
    status_ = status;
    bad_line_ = std::string(line.substr(0, kBadLineShown));
}

bool ImapResponseParser::take_line(std::string_view line) {
    octets_ += line.size() + 2;
    if (octets_ > limits_.max_response) {
        fail(ImapParseStatus::response_too_large);
        return false;
    }
    if (literals_.empty() && lines_.back().empty()) first_line_ = std::string(line.substr(0, kFirstLineKept));
    // A continuation request is one line whatever it ends with (RFC 9051 7.5).
    if (literals_.empty() && lines_.back().empty() && line.starts_with('+')) {
        lines_.back() = std::string(line);
        finish();
        return false;
    }
    std::uint64_t size = 0;
    bool overflow = false;
    const std::size_t marker = literal_marker(line, size, overflow);
    if (marker == 0) {
        lines_.back().append(line);
        finish();
        return false;
    }
    if (overflow || size > limits_.max_literal) {
        announced_ = overflow ? 0 : static_cast<std::size_t>(size);
        fail(ImapParseStatus::literal_too_large, line);
        return false;
    }
    if (literals_.size() + 1 > limits_.max_literals || octets_ + size > limits_.max_response) {
        fail(ImapParseStatus::response_too_large);
        return false;
    }
    lines_.back().append(line.substr(0, line.size() - marker));
    literals_.emplace_back().reserve(std::min<std::size_t>(static_cast<std::size_t>(size), kLiteralReserve));
    lines_.emplace_back();
    literal_left_ = static_cast<std::size_t>(size);
    in_literal_ = true;
    octets_ += literal_left_;
    return true;
}

std::size_t ImapResponseParser::feed(std::string_view input) {
    std::size_t taken = 0;
    while (!done()) {
        if (in_literal_) {
            const std::size_t n = std::min(literal_left_, input.size() - taken);
            literals_.back().append(input.substr(taken, n));
            taken += n;
            literal_left_ -= n;
            literal_octets_ += n;
            if (literal_left_ > 0) return taken;
            in_literal_ = false;
            continue;
        }
        std::string_view line;
        std::size_t length = 0;
        const LineScan scan = scan_line(input.substr(taken), limits_.max_line, line, length);
        if (scan == LineScan::incomplete) return taken;
        if (scan == LineScan::too_long) {
            fail(ImapParseStatus::line_too_long);
            return taken;
        }
        taken += length;
        take_line(line);
    }
    return taken;
}

void ImapResponseParser::finish() {
    ImapResponse& r = response_;
    const std::string first = first_line_.substr(0, kBadLineShown);
    auto malformed = [&] { fail(ImapParseStatus::malformed, first); };
    if (first.starts_with('+')) {
        r.kind = ImapResponse::Kind::continuation;
        const std::string& line = lines_[0];
        r.text = line.size() > 1 && line[1] == ' ' ? line.substr(2) : line.substr(1);
        status_ = ImapParseStatus::complete;
        return;
    }
    std::size_t pos = 0;
    const std::string_view head(lines_[0]);
    const std::string_view tag = next_word(head, pos);
    if (tag.empty()) return malformed();
    if (tag == "*") {
        r.kind = ImapResponse::Kind::untagged;
    } else {
        for (char c : tag) {
            if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '(' || c == ')' || c == '{' || c == '"' ||
                c == '\\' || c == '+')
                return malformed();
        }
        r.kind = ImapResponse::Kind::tagged;
        r.tag = std::string(tag);
    }
    std::string_view word = next_word(head, pos);
    if (r.kind == ImapResponse::Kind::untagged) {
        if (auto n = to_number<std::uint32_t>(word)) {
            r.number = n;
            word = next_word(head, pos);
        }
    }
    const std::string keyword = upper(word);
    if (keyword.empty()) return malformed();
    const bool status = is_status_word(keyword) && !r.number;
    if (r.kind == ImapResponse::Kind::tagged && (!status || keyword == "PREAUTH" || keyword == "BYE")) {
        return malformed();
    }
    if (status) {
        if (!literals_.empty()) return malformed();  // resp-text has no literals
        r.status = keyword;
        if (!read_status_text(head.substr(pos), r)) return malformed();
        status_ = ImapParseStatus::complete;
        return;
    }
    for (char c : keyword) {
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
            return malformed();
        }
    }
    r.keyword = keyword;
    ValueReader reader(lines_, literals_, limits_, 0, pos);
    if (!reader.read_all(r.values)) {
        if (reader.too_large()) return fail(ImapParseStatus::response_too_large, first);
        return malformed();
    }
    status_ = ImapParseStatus::complete;
}

std::string ImapResponseParser::error_message() const {
    switch (status_) {
        case ImapParseStatus::malformed: return "not an IMAP response: \"" + bad_line_ + "\"";
        case ImapParseStatus::line_too_long:
            return "the server sent a line longer than " + std::to_string(limits_.max_line) + " bytes";
        case ImapParseStatus::literal_too_large:
            return announced_ ? "the server announced a literal of " + std::to_string(announced_) +
                                    " bytes, more than the limit of " + std::to_string(limits_.max_literal)
                              : "the server announced a literal too large to count";
        case ImapParseStatus::response_too_large:
            return "a response larger than the limits (" + std::to_string(limits_.max_response) + " bytes, " +
                   std::to_string(limits_.max_literals) + " literals, " + std::to_string(limits_.max_values) +
                   " values, " + std::to_string(limits_.max_depth) + " nested lists)";
        case ImapParseStatus::incomplete:
        case ImapParseStatus::complete: break;
    }
    return {};
}

void ImapResponseParser::reset() {
    status_ = ImapParseStatus::incomplete;
    lines_.assign(1, std::string());
    literals_.clear();
    literal_left_ = 0;
    in_literal_ = false;
    octets_ = 0;
    literal_octets_ = 0;
    response_ = ImapResponse();
    bad_line_.clear();
    first_line_.clear();
    announced_ = 0;
}

// ---- readings -------------------------------------------------------------------------------

std::vector<std::string> parse_capabilities(const ImapResponse& response) {
    std::vector<std::string> out;
    if (response.keyword == "CAPABILITY") {
        for (const auto& v : response.values) {
            if (v.is_atom()) out.push_back(upper(v.text));
        }
    } else if (response.code == "CAPABILITY") {
        std::size_t pos = 0;
        while (pos < response.code_args.size()) {
            const std::string_view w = next_word(response.code_args, pos);
            if (!w.empty()) out.push_back(upper(w));
        }
    }
    return out;
}

bool has_capability(const std::vector<std::string>& capabilities, std::string_view name) {
    const std::string wanted = upper(name);
    return std::find(capabilities.begin(), capabilities.end(), wanted) != capabilities.end();
}

std::optional<std::uint64_t> code_number(const ImapResponse& response) {
    std::size_t pos = 0;
    return to_number<std::uint64_t>(next_word(response.code_args, pos));
}

bool ImapListEntry::has_attribute(std::string_view attribute) const {
    return std::any_of(attributes.begin(), attributes.end(),
                       [&](const std::string& a) { return iequals(a, attribute); });
}

std::optional<ImapListEntry> parse_list(const ImapResponse& response) {
    const auto& v = response.values;
    if ((response.keyword != "LIST" && response.keyword != "LSUB") || v.size() < 3 || !v[0].is_list() ||
        !(v[1].is_string() || v[1].is_nil()) || !v[2].is_text())
        return std::nullopt;
    ImapListEntry e;
    for (const auto& a : v[0].items) {
        if (!a.is_atom()) return std::nullopt;
        e.attributes.push_back(a.text);
    }
    e.delimiter = v[1].text;
    e.name = v[2].text;
    return e;
}

std::optional<ImapStatusEntry> parse_status(const ImapResponse& response) {
    const auto& v = response.values;
    if (response.keyword != "STATUS" || v.size() != 2 || !v[0].is_text() || !v[1].is_list()) return std::nullopt;
    ImapStatusEntry e;
    e.name = v[0].text;
    const auto& items = v[1].items;
    if (items.size() % 2 != 0) return std::nullopt;
    for (std::size_t i = 0; i < items.size(); i += 2) {
        if (!items[i].is_atom()) return std::nullopt;
        const auto n = items[i + 1].number64();
        if (!n) return std::nullopt;
        const std::string name = upper(items[i].text);
        if (name == "MESSAGES") e.messages = n;
        else if (name == "UNSEEN") e.unseen = n;
        else if (name == "UIDNEXT") e.uidnext = n;
        else if (name == "UIDVALIDITY") e.uidvalidity = n;
        else if (name == "SIZE") e.size = n;
        else if (name == "HIGHESTMODSEQ") e.highestmodseq = n;
        else if (name == "RECENT") e.recent = n;
    }
    return e;
}

std::optional<std::vector<std::uint32_t>> parse_search(const ImapResponse& response) {
    if (response.keyword != "SEARCH") return std::nullopt;
    std::vector<std::uint32_t> out;
    for (const auto& v : response.values) {
        if (v.is_list()) continue;  // (MODSEQ n)
        const auto n = v.number();
        if (!n || *n == 0) return std::nullopt;
        out.push_back(*n);
    }
    return out;
}

std::optional<ImapEsearch> parse_esearch(const ImapResponse& response) {
    if (response.keyword != "ESEARCH") return std::nullopt;
    ImapEsearch e;
    const auto& v = response.values;
    std::size_t i = 0;
    if (i < v.size() && v[i].is_list()) {
        const auto& c = v[i].items;
        if (c.size() == 2 && c[0].is_atom() && iequals(c[0].text, "TAG") && c[1].is_string()) e.tag = c[1].text;
        ++i;
    }
    if (i < v.size() && v[i].is_atom() && iequals(v[i].text, "UID")) {
        e.uid = true;
        ++i;
    }
    for (; i + 1 < v.size(); i += 2) {
        if (!v[i].is_atom()) return std::nullopt;
        const std::string name = upper(v[i].text);
        if (name == "MIN" || name == "MAX") {
            const auto n = v[i + 1].number();
            if (!n) return std::nullopt;
            (name == "MIN" ? e.min : e.max) = n;
        } else if (name == "COUNT") {
            e.count = v[i + 1].number64();
            if (!e.count) return std::nullopt;
        } else if (name == "ALL") {
            if (!v[i + 1].is_atom()) return std::nullopt;
            e.all = v[i + 1].text;
        }
    }
    if (i != v.size()) return std::nullopt;
    return e;
}

std::optional<std::vector<std::pair<std::uint32_t, std::uint32_t>>> parse_uid_ranges(std::string_view set,
                                                                                     std::size_t max_ranges) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    if (set.empty()) return out;
    std::size_t pos = 0;
    while (pos <= set.size()) {
        std::size_t comma = set.find(',', pos);
        if (comma == std::string_view::npos) comma = set.size();
        const std::string_view item = set.substr(pos, comma - pos);
        const std::size_t colon = item.find(':');
        const auto first = to_number<std::uint32_t>(item.substr(0, colon));
        const auto last = colon == std::string_view::npos ? first : to_number<std::uint32_t>(item.substr(colon + 1));
        if (!first || !last || *first == 0 || *last == 0 || out.size() == max_ranges) return std::nullopt;
        out.emplace_back(std::min(*first, *last), std::max(*first, *last));
        pos = comma + 1;
    }
    return out;
}

std::optional<std::vector<std::uint32_t>> expand_uid_set(std::string_view set, std::size_t max_members) {
    const auto ranges = parse_uid_ranges(set, max_members);
    if (!ranges) return std::nullopt;
    std::vector<std::uint32_t> out;
    for (const auto& [lo, hi] : *ranges) {
        if (out.size() + (static_cast<std::uint64_t>(hi) - lo + 1) > max_members) return std::nullopt;
        for (std::uint64_t n = lo; n <= hi; ++n) out.push_back(static_cast<std::uint32_t>(n));
    }
    return out;
}

const std::string* ImapFetch::section(std::string_view name) const {
    const std::string wanted = upper(name);
    for (const auto& s : sections) {
        if (s.first == wanted) return &s.second;
    }
    return nullptr;
}

std::optional<ImapFetch> parse_fetch(ImapResponse& response) {
    if (response.keyword != "FETCH" || !response.number || response.values.size() != 1 || !response.values[0].is_list())
        return std::nullopt;
    ImapFetch f;
    f.sequence = *response.number;
    auto& items = response.values[0].items;
    if (items.size() % 2 != 0) return std::nullopt;
    for (std::size_t i = 0; i < items.size(); i += 2) {
        if (!items[i].is_atom()) return std::nullopt;
        std::string name = upper(items[i].text);
        ImapValue& value = items[i + 1];
        if (name == "UID") {
            f.uid = value.number();
            if (!f.uid || *f.uid == 0) return std::nullopt;
        } else if (name == "FLAGS") {
            if (!value.is_list()) return std::nullopt;
            std::vector<std::string> flags;
            for (const auto& fl : value.items) {
                if (!fl.is_atom()) return std::nullopt;
                flags.push_back(fl.text);
            }
            f.flags = std::move(flags);
        } else if (name == "RFC822.SIZE") {
            f.size = value.number64();
            if (!f.size) return std::nullopt;
        } else if (name == "INTERNALDATE") {
            if (!value.is_string()) return std::nullopt;
            f.internal_date = value.text;
        } else if (name == "MODSEQ") {
            if (!value.is_list() || value.items.size() != 1 || !value.items[0].number64()) return std::nullopt;
            f.modseq = value.items[0].number64();
        } else if (name.starts_with("BODY[") || name.starts_with("BODY.PEEK[") || name.starts_with("BINARY[") ||
                   name == "RFC822" || name == "RFC822.HEADER" || name == "RFC822.TEXT") {
            if (!(value.is_string() || value.is_nil())) return std::nullopt;
            if (name.starts_with("BODY.PEEK[")) name.erase(4, 5);
            f.sections.emplace_back(std::move(name), std::move(value.text));
        }
        // Anything else (ENVELOPE, BODYSTRUCTURE, X-GM-...) is not read here.
    }
    return f;
}

std::optional<ImapVanished> parse_vanished(const ImapResponse& response) {
    if (response.keyword != "VANISHED") return std::nullopt;
    ImapVanished out;
    const auto& v = response.values;
    std::size_t i = 0;
    if (i < v.size() && v[i].is_list()) {
        if (v[i].items.size() != 1 || !iequals(v[i].items[0].text, "EARLIER")) return std::nullopt;
        out.earlier = true;
        ++i;
    }
    if (i + 1 != v.size() || !v[i].is_atom() || !parse_uid_ranges(v[i].text, kMaxUidRanges)) return std::nullopt;
    out.uids = v[i].text;
    return out;
}

std::optional<ImapAppendUid> parse_appenduid(const ImapResponse& response) {
    if (response.code != "APPENDUID") return std::nullopt;
    std::size_t pos = 0;
    const auto validity = to_number<std::uint32_t>(next_word(response.code_args, pos));
    const std::string_view uids = next_word(response.code_args, pos);
    if (!validity || uids.empty() || !parse_uid_ranges(uids, kMaxUidRanges)) return std::nullopt;
    return ImapAppendUid{*validity, std::string(uids)};
}

}  // namespace hikyaku::client
