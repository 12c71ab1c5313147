// imap_query.h: `mailcli imap search`'s readable query language, translated to IMAP SEARCH
// keys (RFC 9051 6.4.4). A query is terms, joined by "and" (or nothing) and "or", negated
// by "not" or a leading "-", grouped with parentheses:
//
//   from:alice subject:"q3 report" since:2026-01-01 unseen larger:1M
//   (from:alice or from:bob) not flagged
//
// Terms: from: to: cc: bcc: subject: body: text: (a string), header:NAME:VALUE,
// since: before: on: sentsince: sentbefore: senton: (YYYY-MM-DD, today, yesterday, or Nd /
// Nw for N days / weeks ago), larger: smaller: (bytes, or with K, M, G: powers of 1024),
// uid:SET, keyword:NAME; the words all, seen, unseen, flagged, unflagged, answered,
// unanswered, deleted, undeleted, draft, undraft, new, old, recent; any other word is
// searched for in the whole message (TEXT). Words are case-insensitive; a quoted word is
// always text ("or" in quotes is searched for).
// Pure: the caller gives today's date. Must never: pass a string that is not a valid IMAP
// string (ImapCommand quotes it or makes it a literal), or accept a date that does not exist.
#pragma once

#include <chrono>
#include <string_view>

#include "mailcli/imap_client.h"

namespace hikyaku::mailcli {

// Parentheses one query may nest.
inline constexpr std::size_t kMaxQueryDepth = 32;

// The SEARCH keys for `query` ("ALL" when empty). CliError(usage) naming what is wrong.
ImapCommand translate_search_query(std::string_view query, std::chrono::sys_days today);

}  // namespace hikyaku::mailcli
