// charset.cpp: MIME charset to UTF-8 conversion via iconv (see charset.h).
// Must never: return invalid UTF-8, exceed max_output, share an iconv handle between calls.
// RFC 2045 5.1 (charset parameter), RFC 2231 5 (language suffix), RFC 3629 (UTF-8).
#include "common/text/charset.h"

#include <iconv.h>

#include <cerrno>
#include <string>

#include "common/text/ascii.h"

namespace hikyaku::text {
namespace {

// MIME names iconv does not know, or knows under another name.
std::string iconv_name(std::string_view mime_name) {
    std::string name = ascii_lowercase(mime_name);
    if (auto star = name.find('*'); star != std::string::npos) name.resize(star);  // RFC 2231 5
    if (name == "utf8") return "UTF-8";
    if (name == "ks_c_5601-1987" || name == "ks_c_5601") return "CP949";
    if (name == "x-sjis" || name == "shift-jis") return "SHIFT_JIS";
    if (name == "iso-8859-8-i" || name == "iso-8859-8-e") return "ISO-8859-8";
    if (name == "iso-8859-6-i" || name == "iso-8859-6-e") return "ISO-8859-6";
    if (name == "x-unknown" || name == "unknown-8bit") return "ISO-8859-1";
    if (name == "gb2312" || name == "x-gbk") return "GBK";  // GBK is a superset
    return name;
}

}  // namespace

bool charset_is_utf8_compatible(std::string_view charset) {
    std::string name = iconv_name(charset);
    return name == "UTF-8" || name == "utf-8" || name == "us-ascii" || name == "ascii" || name == "ansi_x3.4-1968";
}

Result<std::string> charset_to_utf8(std::string_view charset, std::string_view bytes, std::size_t max_output) {
    if (charset_is_utf8_compatible(charset)) {
        std::string out = utf8_sanitize(bytes);
        if (out.size() > max_output) return make_error(Errc::limit_exceeded, "output too long");
        return out;
    }
    std::string name = iconv_name(charset);
    if (name.empty()) return make_error(Errc::unsupported, "empty charset name");
    iconv_t cd = iconv_open("UTF-8", name.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return make_error(Errc::unsupported, "unknown charset: " + name);
    std::string out;
    char buf[4096];
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    bool overflow = false;
    auto append = [&](const char* data, std::size_t n) {
        if (out.size() + n > max_output) {
            overflow = true;
            return;
        }
        out.append(data, n);
    };
    while (!overflow) {
        char* o = buf;
        std::size_t o_left = sizeof buf;
        std::size_t r = in_left > 0 ? iconv(cd, &in, &in_left, &o, &o_left)
                                    : iconv(cd, nullptr, nullptr, &o, &o_left);  // flush state
        int err = errno;
        append(buf, sizeof buf - o_left);
        if (r != static_cast<std::size_t>(-1)) {
            if (in_left == 0) {
                if (o == buf) break;  // flushed and nothing more
                continue;
            }
            continue;
        }
        if (err == E2BIG) continue;
        // EILSEQ (invalid byte) or EINVAL (truncated sequence at the end): one U+FFFD,
        // skip one byte, go on; reset the shift state (ISO-2022-JP escapes).
        append(kReplacementCharacter.data(), kReplacementCharacter.size());
        if (in_left == 0) break;
        ++in;
        --in_left;
        iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
    iconv_close(cd);
    if (overflow) return make_error(Errc::limit_exceeded, "output too long");
    // iconv's UTF-8 is valid, but keep the promise even if a converter misbehaves.
    return utf8_sanitize(out);
}

}  // namespace hikyaku::text
