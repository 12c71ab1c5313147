// fetch_oracle.cpp: the MIME corpus oracle (see fetch_oracle.h).
#include "tests/mime/fetch_oracle.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <optional>

#include "common/text/ascii.h"
#include "common/text/utf8.h"
#include "tests/mime/imap_data.h"

namespace hikyaku::test {

namespace {

std::optional<std::string> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Reads the oracle: one JSON object mapping names to strings (RFC 8259 escapes).
std::map<std::string, std::string> load_oracle(const std::string& json) {
    std::map<std::string, std::string> out;
    std::size_t p = 0;
    auto skip_ws = [&] {
        while (p < json.size() && (json[p] == ' ' || json[p] == '\n' || json[p] == '\r' || json[p] == '\t')) ++p;
    };
    auto string = [&](std::string& s) -> bool {
        if (p >= json.size() || json[p] != '"') return false;
        ++p;
        while (p < json.size() && json[p] != '"') {
            char c = json[p++];
            if (c != '\\') {
                s += c;
                continue;
            }
            if (p >= json.size()) return false;
            char e = json[p++];
            switch (e) {
                case 'n': s += '\n'; break;
                case 'r': s += '\r'; break;
                case 't': s += '\t'; break;
                case 'b': s += '\b'; break;
                case 'f': s += '\f'; break;
                case 'u': {
                    if (p + 4 > json.size()) return false;
                    unsigned cp = std::stoul(json.substr(p, 4), nullptr, 16);
                    p += 4;
                    if (cp >= 0xD800 && cp < 0xDC00 && p + 6 <= json.size() && json[p] == '\\') {
                        unsigned lo = std::stoul(json.substr(p + 2, 4), nullptr, 16);
                        p += 6;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    hikyaku::text::append_code_point(s, cp);
                    break;
                }
                default: s += e; break;
            }
        }
        if (p >= json.size()) return false;
        ++p;
        return true;
    };
    skip_ws();
    if (p >= json.size() || json[p] != '{') return out;
    ++p;
    while (true) {
        skip_ws();
        std::string key, value;
        if (!string(key)) break;
        skip_ws();
        if (p >= json.size() || json[p] != ':') break;
        ++p;
        skip_ws();
        if (!string(value)) break;
        out[key] = value;
        skip_ws();
        if (p < json.size() && json[p] == ',') ++p;
    }
    return out;
}

// Where we follow the RFC and Dovecot does not. Each entry replaces every occurrence of
// `dovecot` (which must occur in that message's oracle answer) by `rfc`.
}  // namespace

const OracleException kExceptions[] = {
    {"boundary-in-body",
     "RFC 2046 5.1.1: a delimiter line is \"--\" boundary followed only by optional "
     "whitespace; \"--bbx is not our boundary either\" is body text of part 1, not a "
     "delimiter opening an empty part (Dovecot matches the boundary as a line prefix)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 72 1)(\"text\" \"plain\" "
     "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 106 2)"},
    {"boundary-in-body", "RFC 2046 5.1.1, as above, in BODYSTRUCTURE",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 72 1 NIL NIL NIL NIL)"
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 106 2 NIL NIL NIL NIL)"},
    // The forwarded message ends "--i--" CRLF "--f--": RFC 2046 5.1.1's BNF has
    // close-delimiter := delimiter "--", delimiter := CRLF dash-boundary, and the optional
    // [CRLF epilogue] of the inner multipart would leave the outer delimiter without its
    // CRLF; so that CRLF belongs to the outer delimiter and the message/rfc822 body is 2
    // bytes and 1 line shorter than Dovecot says.
    {"rfc822-attached",
     "RFC 2046 5.1.1: the CRLF after an inner close delimiter that is directly followed by "
     "an outer delimiter belongs to the outer delimiter (message/rfc822 size)",
     "\"7bit\" 281 (", "\"7bit\" 279 ("},
    {"rfc822-attached", "RFC 2046 5.1.1, as above (BODY line count)", "\"alternative\") 16)", "\"alternative\") 15)"},
    {"rfc822-attached", "RFC 2046 5.1.1, as above (BODYSTRUCTURE line count)", "(\"boundary\" \"i\") NIL NIL NIL) 16 ",
     "(\"boundary\" \"i\") NIL NIL NIL) 15 "},
};

const std::size_t kExceptionCount = std::size(kExceptions);

std::string apply_exceptions(const std::string& name, std::string oracle, bool& stale) {
    stale = false;
    for (const auto& e : kExceptions) {
        if (name != e.message) continue;
        std::string_view from = e.dovecot, to = e.rfc;
        std::size_t at = oracle.find(from);
        if (at == std::string::npos) stale = true;
        for (; at != std::string::npos; at = oracle.find(from, at + to.size())) oracle.replace(at, from.size(), to);
    }
    return oracle;
}

namespace {

bool ieq(const std::string& a, const std::string& b) { return text::iequals(a, b); }

// Compares two values exactly as IMAP data (a literal equals a quoted string of the same
// bytes). `ci` makes atom/string text case-insensitive.
bool same(const ImapValue& a, const ImapValue& b, bool ci, std::string& diff, const std::string& where) {
    if (a.kind != b.kind) {
        diff = where + ": " + to_string(a) + " vs " + to_string(b);
        return false;
    }
    if (a.kind == ImapValue::Kind::list) {
        if (a.items.size() != b.items.size()) {
            diff = where + ": list of " + std::to_string(a.items.size()) + " vs " + std::to_string(b.items.size()) +
                   ": " + to_string(a) + " vs " + to_string(b);
            return false;
        }
        for (std::size_t i = 0; i < a.items.size(); ++i)
            if (!same(a.items[i], b.items[i], ci, diff, where + "/" + std::to_string(i))) return false;
        return true;
    }
    if (ci ? !ieq(a.text, b.text) : a.text != b.text) {
        diff = where + ": " + to_string(a) + " vs " + to_string(b);
        return false;
    }
    return true;
}

// A parameter list: names case-insensitive, values exact.
bool same_params(const ImapValue& a, const ImapValue& b, std::string& diff, const std::string& where) {
    if (a.kind != ImapValue::Kind::list || b.kind != ImapValue::Kind::list) return same(a, b, false, diff, where);
    if (a.items.size() != b.items.size()) return same(a, b, false, diff, where);
    for (std::size_t i = 0; i < a.items.size(); ++i)
        if (!same(a.items[i], b.items[i], i % 2 == 0, diff, where + "/param" + std::to_string(i))) return false;
    return true;
}

// body-fld-dsp: ("type" params) / NIL.
bool same_disposition(const ImapValue& a, const ImapValue& b, std::string& diff, const std::string& where) {
    if (a.kind == ImapValue::Kind::list && b.kind == ImapValue::Kind::list && a.items.size() == 2 &&
        b.items.size() == 2)
        return same(a.items[0], b.items[0], false, diff, where + "/dsp") &&
               same_params(a.items[1], b.items[1], diff, where + "/dsp-params");
    return same(a, b, false, diff, where);
}

bool same_body(const ImapValue& a, const ImapValue& b, std::string& diff, const std::string& where) {
    if (a.kind != ImapValue::Kind::list || b.kind != ImapValue::Kind::list || a.items.size() != b.items.size() ||
        a.items.empty())
        return same(a, b, false, diff, where);
    const auto& x = a.items;
    const auto& y = b.items;
    if (x[0].kind == ImapValue::Kind::list) {  // multipart: bodies, subtype, extension
        std::size_t i = 0;
        for (; i < x.size() && x[i].kind == ImapValue::Kind::list; ++i)
            if (!same_body(x[i], y[i], diff, where + "." + std::to_string(i + 1))) return false;
        if (i < x.size() && !same(x[i], y[i], true, diff, where + "/subtype")) return false;
        if (i + 1 < x.size() && !same_params(x[i + 1], y[i + 1], diff, where + "/params")) return false;
        if (i + 2 < x.size() && !same_disposition(x[i + 2], y[i + 2], diff, where)) return false;
        for (std::size_t k = i + 3; k < x.size(); ++k)
            if (!same(x[k], y[k], false, diff, where + "/ext" + std::to_string(k))) return false;
        return true;
    }
    if (x.size() < 7) return same(a, b, false, diff, where);
    if (!same(x[0], y[0], true, diff, where + "/type") || !same(x[1], y[1], true, diff, where + "/subtype") ||
        !same_params(x[2], y[2], diff, where + "/params") || !same(x[3], y[3], false, diff, where + "/id") ||
        !same(x[4], y[4], false, diff, where + "/description") || !same(x[5], y[5], true, diff, where + "/encoding") ||
        !same(x[6], y[6], false, diff, where + "/size"))
        return false;
    std::size_t k = 7;
    bool message = ieq(x[0].text, "message") && ieq(x[1].text, "rfc822");
    if (message && x.size() >= 10) {
        if (!same(x[7], y[7], false, diff, where + "/envelope") ||
            !same_body(x[8], y[8], diff, where + "/encapsulated") || !same(x[9], y[9], false, diff, where + "/lines"))
            return false;
        k = 10;
    }
    // Text lines (if text), then md5, disposition, language, location.
    bool text = ieq(x[0].text, "text");
    if (text && x.size() > 7) {
        if (!same(x[7], y[7], false, diff, where + "/lines")) return false;
        k = 8;
    }
    for (; k < x.size(); ++k) {
        bool dsp = k == (text ? 9u : message ? 11u : 8u);
        if (dsp ? !same_disposition(x[k], y[k], diff, where)
                : !same(x[k], y[k], false, diff, where + "/ext" + std::to_string(k)))
            return false;
    }
    return true;
}

}  // namespace

std::string compare_fetch(const std::string& ours_text, const std::string& oracle_text) {
    std::vector<ImapValue> oracle, ours;
    std::string error;
    if (!parse_imap_data(oracle_text, oracle, error)) return "oracle: " + error;
    if (oracle.size() != 4 || oracle[3].kind != ImapValue::Kind::list) return "oracle is not a FETCH response";
    if (!parse_imap_data(ours_text, ours, error)) return "ours: " + error;
    const auto& theirs = oracle[3].items;
    if (ours.size() != theirs.size()) return "different number of FETCH items";
    std::string diff;
    for (std::size_t i = 0; i + 1 < theirs.size(); i += 2) {
        const std::string& item = theirs[i].text;
        if (ours[i].text != item) return "item order: " + ours[i].text + " vs " + item;
        bool ok = item == "BODY" || item == "BODYSTRUCTURE" ? same_body(ours[i + 1], theirs[i + 1], diff, item)
                                                            : same(ours[i + 1], theirs[i + 1], false, diff, item);
        if (!ok) return diff;
    }
    return {};
}

const Corpus& corpus() {
    static const Corpus c = [] {
        Corpus loaded;
        const auto dir = corpus_dir();
        auto problem = [&](const std::string& line) { loaded.problems += line + "\n"; };
        auto json = read_file(dir / "dovecot-fetch.json");
        if (!json) {
            problem("missing " + (dir / "dovecot-fetch.json").string() + " (the oracle)");
            return loaded;
        }
        loaded.oracle = load_oracle(*json);
        if (loaded.oracle.size() != kCorpusMessages)
            problem((dir / "dovecot-fetch.json").string() + " names " + std::to_string(loaded.oracle.size()) +
                    " messages, not " + std::to_string(kCorpusMessages) + " (truncated or not the corpus' oracle)");
        for (const auto& [name, answer] : loaded.oracle) {
            auto raw = read_file(dir / (name + ".eml"));
            if (!raw) problem("missing " + (dir / (name + ".eml")).string() + " (named in dovecot-fetch.json)");
            else if (raw->empty()) problem("empty " + (dir / (name + ".eml")).string());
            else loaded.messages[name] = std::move(*raw);
        }
        std::error_code ec;
        for (const auto& file : std::filesystem::directory_iterator(dir, ec))
            if (file.path().extension() == ".eml" && loaded.oracle.count(file.path().stem().string()) == 0)
                problem(file.path().string() + " has no answer in dovecot-fetch.json");
        return loaded;
    }();
    // Names every missing file instead of failing on a bare count.
    if (!c.problems.empty()) FAIL("the MIME corpus is incomplete:\n" << c.problems);
    return c;
}

std::filesystem::path corpus_dir() { return HIKYAKU_MIME_CORPUS_DIR; }

}  // namespace hikyaku::test
