// object_id.h: the object identifiers of RFC 8474 (OBJECTID) as imapd writes them.
//
// MAILBOXID is "M" and the mailbox's UIDVALIDITY: the store hands out UIDVALIDITY values from
// one counter that only grows (never two mailboxes alike, never reused), and RENAME keeps it,
// as RFC 8474 4.1 asks of a MAILBOXID (RENAME of INBOX makes a new mailbox, with a new one).
// EMAILID is "E", the id of the store's single stored copy of the message and its internal
// date ("E12-1700000000"): the same for every entry of that copy (COPY, MOVE, a delivery to
// several users), and the date keeps it from repeating should the backend hand out the id of
// a copy that was deleted again. THREADID is NIL (RFC 8474 5.2 allows it: no thread index).
// Pure: no I/O, no store.
#pragma once

#include <cstdint>
#include <string>

#include "storage/types.h"

namespace hikyaku::imap {

std::string mailbox_object_id(std::uint32_t uidvalidity);
std::string email_object_id(storage::MessageId message, storage::TimePoint internal_date);

}  // namespace hikyaku::imap
