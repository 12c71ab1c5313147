// render.h: a plain-text rendering of a received message for the terminal: decoded headers,
// the text/plain part (or text/html turned into plain text), and the list of attachments;
// and the decoded attachments themselves for `pop save`. Pure, built on common/mime.
// Must never: read outside the message, throw on broken MIME, pass terminal control
// characters (escape sequences) from the message to the output, return invalid UTF-8,
// produce a file name with a directory part.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hikyaku::mailcli {

struct AttachmentInfo {
    std::string filename;      // decoded (RFC 2231/2047), may be empty
    std::string content_type;  // "type/subtype", lower case
    std::size_t size = 0;      // decoded size
};

struct RenderedMessage {
    std::vector<std::pair<std::string, std::string>> headers;  // Date, From, To, Cc, Subject
    std::string body;                                          // UTF-8, LF line ends
    bool body_from_html = false;
    std::vector<AttachmentInfo> attachments;
};

RenderedMessage render_message(std::string_view raw);

// The rendering as text for a terminal (headers, blank line, body, attachment list).
std::string format_rendered(const RenderedMessage& message);

// HTML to readable plain text: tags dropped, block elements as line breaks, script/style
// content dropped, entities decoded, whitespace collapsed.
std::string html_to_text(std::string_view html);

// Replaces control characters other than LF and TAB (C0, DEL, C1) by U+FFFD, and invalid
// UTF-8 likewise; CRLF becomes LF.
std::string terminal_safe(std::string_view text);

struct AttachmentData {
    AttachmentInfo info;
    std::string data;
};
std::vector<AttachmentData> extract_attachments(std::string_view raw);

// A file name safe to create in a directory: no '/', no NUL or controls, not "." or "..",
// no leading dot, at most 200 bytes; `fallback` when nothing usable is left.
std::string safe_filename(std::string_view name, std::string_view fallback);

// Decoded header text (RFC 2047, unfolded, terminal-safe) of the first field `name` in the
// header block at the start of `raw`; empty if absent.
std::string header_text(std::string_view raw, std::string_view name);

}  // namespace hikyaku::mailcli
