// attachments.h: reading files to attach: their bytes, a file name without directories, and
// the content type libmagic detects from the content (not from the name).
// Must never: follow a name into a different file than the one given, or guess a type
// that is not "type/subtype" (application/octet-stream when unsure).
#pragma once

#include <string>

#include "common/mime/compose.h"

namespace hikyaku::mailcli {

inline constexpr std::size_t kMaxAttachmentSize = 64 * 1024 * 1024;

// CliError(failure) when the file cannot be read or is larger than kMaxAttachmentSize.
mime::ComposeAttachment load_attachment(const std::string& path);

// libmagic's MIME type for the bytes, or application/octet-stream.
std::string detect_content_type(const std::string& data);

}  // namespace hikyaku::mailcli
