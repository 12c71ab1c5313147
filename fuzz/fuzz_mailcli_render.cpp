// fuzz_mailcli_render.cpp: mailcli's renderer on arbitrary message bytes: render_message,
// format_rendered, extract_attachments, header_text, html_to_text and safe_filename.
// Must never: crash, read out of bounds, emit control characters or invalid UTF-8 in what a
// terminal would show, or produce a file name with a '/' or a leading dot.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/text/utf8.h"
#include "mailcli/render.h"

using namespace hikyaku::mailcli;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_terminal_safe(std::string_view s) {
    check(hikyaku::text::is_valid_utf8(s));
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        check(c >= 0x20 || c == '\n' || c == '\t');
        check(c != 0x7f);
        if (c == 0xc2 && i + 1 < s.size()) {
            unsigned char d = static_cast<unsigned char>(s[i + 1]);
            check(d < 0x80 || d > 0x9f);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    RenderedMessage r = render_message(raw);
    check_terminal_safe(format_rendered(r));
    for (const auto& a : r.attachments) check_terminal_safe(a.filename);
    for (const auto& a : extract_attachments(raw)) {
        const std::string name = safe_filename(a.info.filename, "attachment");
        check(!name.empty() && name.size() <= 200);
        check(name.find('/') == std::string::npos && name.front() != '.');
    }
    check_terminal_safe(header_text(raw, "Subject"));
    check(hikyaku::text::is_valid_utf8(terminal_safe(html_to_text(raw))));
    return 0;
}
