// rfc2047.cpp: encoded-word decoding (see rfc2047.h).
// Must never: return invalid UTF-8 or read past the input.
// RFC 2047 2, 4.1, 4.2, 5, 6.2; RFC 2231 5; RFC 6532 3.2.
#include "common/text/rfc2047.h"

#include <algorithm>

#include "common/text/ascii.h"
#include "common/text/base64.h"
#include "common/text/charset.h"
#include "common/text/qp.h"

namespace hikyaku::text {
namespace {

// RFC 2047 4.1 "B" is base64 read leniently (stray characters skipped, stops at '=').

struct EncodedWord {
    std::string_view charset;
    std::string bytes;
    std::size_t length = 0;  // of the whole "=?...?=" in the input
};

// RFC 2047 2 caps an encoded word at 75 characters; senders exceed that, so allow more, but
// bound the search so a header full of "=?" stays linear.
constexpr std::size_t kMaxEncodedWordLength = 4096;

// RFC 2047 2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?=", no whitespace.
bool parse_encoded_word(std::string_view all, std::size_t i, EncodedWord& w) {
    if (all.compare(i, 2, "=?") != 0) return false;
    std::string_view s = all.substr(0, std::min(all.size(), i + kMaxEncodedWordLength));
    std::size_t cs_start = i + 2;
    std::size_t q1 = s.find('?', cs_start);
    if (q1 == std::string_view::npos || q1 == cs_start || q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
    char enc = s[q1 + 1];
    if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') return false;
    std::size_t text_start = q1 + 3;
    std::size_t end = s.find("?=", text_start);
    if (end == std::string_view::npos) return false;
    for (std::size_t k = cs_start; k < end; ++k)
        if (s[k] == ' ' || s[k] == '\t') return false;
    std::string_view text = s.substr(text_start, end - text_start);
    w.charset = s.substr(cs_start, q1 - cs_start);
    w.bytes = (enc == 'B' || enc == 'b') ? base64_decode_lenient(text) : q_decode(text);
    w.length = end + 2 - i;
    return true;
}

class Decoder {
public:
    explicit Decoder(std::size_t input_size) : max_output_(16 * input_size + 64) {}

    void plain(std::string_view text) {
        flush_word();
        plain_.append(text);
    }

    void word(EncodedWord&& w) {
        flush_plain();
        if (!word_bytes_.empty() && !iequals(word_charset_, w.charset)) flush_word();
        word_charset_ = std::string(w.charset);
        word_bytes_ += w.bytes;
    }

    std::string finish() {
        flush_plain();
        flush_word();
        return std::move(out_);
    }

private:
    void flush_plain() {
        if (plain_.empty()) return;
        out_ += utf8_sanitize(plain_);
        plain_.clear();
    }

    void flush_word() {
        if (word_bytes_.empty()) return;
        Result<std::string> utf8 = charset_to_utf8(word_charset_, word_bytes_, max_output_);
        if (utf8.ok()) {
            out_ += utf8.value();
        } else {
            // Unknown charset: one U+FFFD per non-ASCII byte, ASCII kept.
            out_ += utf8_sanitize(word_bytes_);
        }
        word_bytes_.clear();
    }

    std::size_t max_output_;
    std::string out_;
    std::string plain_;
    std::string word_charset_;
    std::string word_bytes_;
};

}  // namespace

std::string rfc2047_decode(std::string_view header_value) {
    // RFC 5322 2.2.3: unfold first.
    std::string s;
    s.reserve(header_value.size());
    for (char c : header_value)
        if (c != '\r' && c != '\n') s.push_back(c);

    Decoder d(s.size());
    std::size_t i = 0;
    bool after_word = false;  // the last thing seen was an encoded word
    while (i < s.size()) {
        EncodedWord w;
        if (s[i] == '=' && parse_encoded_word(s, i, w)) {
            i += w.length;
            d.word(std::move(w));
            after_word = true;
            continue;
        }
        if (after_word && (s[i] == ' ' || s[i] == '\t')) {
            // RFC 2047 6.2: whitespace between two encoded words is dropped.
            std::size_t j = i;
            while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
            EncodedWord next;
            if (j < s.size() && s[j] == '=' && parse_encoded_word(s, j, next)) {
                i = j;
                continue;
            }
            d.plain(std::string_view(s).substr(i, j - i));
            i = j;
            after_word = false;
            continue;
        }
        std::size_t j = i + 1;
        while (j < s.size() && s[j] != '=' && s[j] != ' ' && s[j] != '\t') ++j;
        d.plain(std::string_view(s).substr(i, j - i));
        i = j;
        after_word = false;
    }
    return d.finish();
}

}  // namespace hikyaku::text
