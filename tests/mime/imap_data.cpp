// imap_data.cpp: test-side IMAP data reader (see imap_data.h).
// Must never: read past the input.
// RFC 3501 4.1-4.5, 9 (atom, quoted, literal, nil, parenthesized lists).
#include "tests/mime/imap_data.h"

#include <cstdlib>

namespace hikyaku::test {
namespace {

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}

    bool values(std::vector<ImapValue>& out, bool in_list, std::string& error) {
        while (true) {
            while (p_ < in_.size() && in_[p_] == ' ') ++p_;
            if (p_ >= in_.size()) {
                if (in_list) {
                    error = "unterminated list";
                    return false;
                }
                return true;
            }
            char c = in_[p_];
            if (c == ')') {
                if (!in_list) {
                    error = "unexpected ')' at " + std::to_string(p_);
                    return false;
                }
                ++p_;
                return true;
            }
            ImapValue v;
            if (c == '(') {
                ++p_;
                v.kind = ImapValue::Kind::list;
                if (!values(v.items, true, error)) return false;
            } else if (c == '"') {
                v.kind = ImapValue::Kind::string;
                ++p_;
                bool closed = false;
                while (p_ < in_.size()) {
                    char d = in_[p_++];
                    if (d == '"') {
                        closed = true;
                        break;
                    }
                    if (d == '\\') {
                        if (p_ >= in_.size()) break;
                        d = in_[p_++];
                    }
                    if (d == '\r' || d == '\n') {
                        error = "CR/LF in quoted string";
                        return false;
                    }
                    v.text.push_back(d);
                }
                if (!closed) {
                    error = "unterminated quoted string";
                    return false;
                }
            } else if (c == '{') {
                std::size_t close = in_.find('}', p_);
                if (close == std::string_view::npos || close + 2 >= in_.size() + 0 ||
                    in_.compare(close + 1, 2, "\r\n") != 0) {
                    error = "bad literal header";
                    return false;
                }
                std::string digits(in_.substr(p_ + 1, close - p_ - 1));
                if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
                    error = "bad literal length";
                    return false;
                }
                std::size_t n = std::strtoul(digits.c_str(), nullptr, 10);
                std::size_t start = close + 3;
                if (n > in_.size() - start) {
                    error = "literal past the end";
                    return false;
                }
                v.kind = ImapValue::Kind::string;
                v.literal = true;
                v.text.assign(in_.substr(start, n));
                p_ = start + n;
            } else {
                std::size_t start = p_;
                while (p_ < in_.size() && in_[p_] != ' ' && in_[p_] != '(' && in_[p_] != ')' && in_[p_] != '"' &&
                       in_[p_] != '\r' && in_[p_] != '\n')
                    ++p_;
                if (p_ == start) {
                    error = "unexpected character at " + std::to_string(p_);
                    return false;
                }
                v.text.assign(in_.substr(start, p_ - start));
                bool nil = v.text.size() == 3 && (v.text[0] | 0x20) == 'n' && (v.text[1] | 0x20) == 'i' &&
                           (v.text[2] | 0x20) == 'l';
                v.kind = nil ? ImapValue::Kind::nil : ImapValue::Kind::atom;
            }
            out.push_back(std::move(v));
        }
    }

private:
    std::string_view in_;
    std::size_t p_ = 0;
};

}  // namespace

bool parse_imap_data(std::string_view in, std::vector<ImapValue>& out, std::string& error) {
    Reader r(in);
    return r.values(out, false, error);
}

std::string to_string(const ImapValue& v) {
    switch (v.kind) {
        case ImapValue::Kind::nil: return "NIL";
        case ImapValue::Kind::atom: return v.text;
        case ImapValue::Kind::string: {
            if (v.literal) return "{" + std::to_string(v.text.size()) + "}\r\n" + v.text;
            std::string s = "\"";
            for (char c : v.text) {
                if (c == '"' || c == '\\') s += '\\';
                s += c;
            }
            return s + "\"";
        }
        case ImapValue::Kind::list: {
            std::string s = "(";
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i > 0) s += ' ';
                s += to_string(v.items[i]);
            }
            return s + ")";
        }
    }
    return {};
}

}  // namespace hikyaku::test
