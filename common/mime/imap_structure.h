// imap_structure.h: RFC 3501 7.4.2 ENVELOPE, BODY and BODYSTRUCTURE text of a parsed message,
// written byte for byte as Dovecot 2.3 writes them, so imapd can send them verbatim.
//
// Strings follow Dovecot's imap-quote.c: NIL for absent values; a quoted string normally;
// a literal {N}CRLF... when the text has 8-bit bytes or CR/LF, or more than four characters
// needing a backslash. Header texts (date, message-id, in-reply-to, Content-ID/-Description/
// -MD5/-Location) have their line breaks removed first; subject and display names are
// written "for humans" (runs of whitespace collapsed, and then always a literal). Types,
// subtypes, encodings and parameter names keep the case of the message; message/rfc822 is
// written "message" "rfc822"; a text part without charset gets ("charset" "us-ascii"); a
// multipart without parts shows one empty text/plain part (RFC 3501 requires one).
// Must never: emit a quoted string with CR, LF, NUL or 8-bit bytes.
#pragma once

#include <string>
#include <string_view>

#include "common/mime/message.h"

namespace hikyaku::mime {

// "(" date SP subject SP from ... message-id ")".
std::string imap_envelope(const Envelope& envelope);
// BODY: no extension data.
std::string imap_body(const ParsedMessage& message);
// BODYSTRUCTURE: with extension data (md5, disposition, language, location; for multiparts
// parameters, disposition, language, location).
std::string imap_bodystructure(const ParsedMessage& message);
// The same for one part (a FETCH of a part's structure is not in RFC 3501, but mailcli and
// tests use it).
std::string imap_part_structure(const Part& part, bool extended);

// IMAP string writers (RFC 3501 4.3, 9 "string"/"nstring"), as Dovecot's imap-quote.c.
void append_imap_string(std::string& out, std::string_view s);
void append_imap_nstring_nolf(std::string& out, const std::optional<std::string>& s);
void append_imap_string_for_humans(std::string& out, std::string_view s);

}  // namespace hikyaku::mime
