// attachments.cpp: attachment files and their libmagic content types (see attachments.h).
// Must never: read more than kMaxAttachmentSize bytes of a file.
#include "mailcli/attachments.h"

#include <magic.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mailcli/errors.h"

namespace hikyaku::mailcli {

std::string detect_content_type(const std::string& data) {
    const std::string fallback = "application/octet-stream";
    magic_t cookie = magic_open(MAGIC_MIME_TYPE);
    if (!cookie) return fallback;
    std::string type = fallback;
    if (magic_load(cookie, nullptr) == 0) {
        const char* t = magic_buffer(cookie, data.data(), data.size());
        if (t && std::strchr(t, '/')) type = t;
    }
    magic_close(cookie);
    // libmagic says "application/x-empty" or "inode/x-empty" for empty input.
    if (type.find("x-empty") != std::string::npos) type = "text/plain";
    return type;
}

mime::ComposeAttachment load_attachment(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError(ExitCode::failure, "cannot read attachment " + path + ": " + std::strerror(errno));
    std::string data;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        data.append(buf, static_cast<std::size_t>(in.gcount()));
        if (data.size() > kMaxAttachmentSize) {
            throw CliError(ExitCode::failure,
                           "attachment " + path + " is larger than " + std::to_string(kMaxAttachmentSize) + " bytes");
        }
    }
    if (in.bad()) throw CliError(ExitCode::failure, "cannot read attachment " + path);
    mime::ComposeAttachment a;
    const std::size_t slash = path.rfind('/');
    a.filename = slash == std::string::npos ? path : path.substr(slash + 1);
    a.content_type = detect_content_type(data);
    a.data = std::move(data);
    return a;
}

}  // namespace hikyaku::mailcli
