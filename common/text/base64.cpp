// base64.cpp: see base64.h. RFC 4648 sections 3.5 (canonical encoding) and 4; RFC 2045 6.8.
#include "common/text/base64.h"

#include <array>
#include <cstdint>

namespace hikyaku::text {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int kInvalid = -1;

constexpr std::array<int, 256> make_table() {
    std::array<int, 256> t{};
    for (auto& v : t) v = kInvalid;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
    return t;
}
constexpr std::array<int, 256> kTable = make_table();

int value_of(char c) { return kTable[static_cast<unsigned char>(c)]; }

}  // namespace

const char* to_string(Base64Error e) {
    switch (e) {
        case Base64Error::bad_character: return "invalid base64 character";
        case Base64Error::bad_length: return "base64 length is not a multiple of 4";
        case Base64Error::bad_padding: return "invalid base64 padding";
    }
    return "invalid base64";
}

std::string base64_encode(std::string_view in, std::size_t wrap_at) {
    std::string out;
    const std::size_t encoded = (in.size() + 2) / 3 * 4;
    out.reserve(encoded + (wrap_at ? encoded / wrap_at * 2 : 0));
    std::size_t column = 0;
    auto put = [&](char c) {
        if (wrap_at && column == wrap_at) {
            out += "\r\n";
            column = 0;
        }
        out += c;
        ++column;
    };
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                                (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
        put(kAlphabet[(v >> 18) & 63]);
        put(kAlphabet[(v >> 12) & 63]);
        put(kAlphabet[(v >> 6) & 63]);
        put(kAlphabet[v & 63]);
    }
    const std::size_t rest = in.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
        put(kAlphabet[(v >> 18) & 63]);
        put(kAlphabet[(v >> 12) & 63]);
        put('=');
        put('=');
    } else if (rest == 2) {
        const std::uint32_t v =
            (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
        put(kAlphabet[(v >> 18) & 63]);
        put(kAlphabet[(v >> 12) & 63]);
        put(kAlphabet[(v >> 6) & 63]);
        put('=');
    }
    return out;
}

std::variant<std::string, Base64Error> base64_decode_strict(std::string_view in) {
    if (in.size() % 4 != 0) {
        // Report a bad character first: it is the more useful diagnosis.
        for (char c : in)
            if (value_of(c) == kInvalid && c != '=') return Base64Error::bad_character;
        return Base64Error::bad_length;
    }
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last_group = i + 4 == in.size();
        int v[4];
        int pads = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = in[i + k];
            if (c == '=') {
                // '=' only in the last group, only in positions 2 and 3, and only trailing.
                if (!last_group || k < 2) return Base64Error::bad_padding;
                ++pads;
                v[k] = 0;
                continue;
            }
            if (pads > 0) return Base64Error::bad_padding;  // data after '='
            v[k] = value_of(c);
            if (v[k] == kInvalid) return Base64Error::bad_character;
        }
        const std::uint32_t bits = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                                   (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
        out += static_cast<char>((bits >> 16) & 0xff);
        if (pads == 2) {
            if (bits & 0xffff) return Base64Error::bad_padding;  // RFC 4648 3.5: pad bits zero
            break;
        }
        out += static_cast<char>((bits >> 8) & 0xff);
        if (pads == 1) {
            if (bits & 0xff) return Base64Error::bad_padding;
            break;
        }
        out += static_cast<char>(bits & 0xff);
    }
    return out;
}

std::string base64_decode_lenient(std::string_view in) {
    std::string out;
    out.reserve(in.size() / 4 * 3 + 3);
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : in) {
        if (c == '=') break;
        const int v = value_of(c);
        if (v == kInvalid) continue;
        bits = (bits << 6) | std::uint32_t(v);
        if (++count == 4) {
            out += static_cast<char>((bits >> 16) & 0xff);
            out += static_cast<char>((bits >> 8) & 0xff);
            out += static_cast<char>(bits & 0xff);
            bits = 0;
            count = 0;
        }
    }
    // A trailing partial group: 2 symbols give one byte, 3 give two; 1 symbol gives nothing.
    if (count == 2) {
        out += static_cast<char>((bits >> 4) & 0xff);
    } else if (count == 3) {
        out += static_cast<char>((bits >> 10) & 0xff);
        out += static_cast<char>((bits >> 2) & 0xff);
    }
    return out;
}

}  // namespace hikyaku::text
