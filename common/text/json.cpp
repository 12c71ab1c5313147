// json.cpp: JSON string literals (see json.h).
#include "common/text/json.h"

#include <cstdio>

#include "common/text/charset.h"

namespace hikyaku::text {

std::string json_string(std::string_view text_in) {
    const std::string text = utf8_sanitize(text_in);
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

}  // namespace hikyaku::text
