// store_snapshot.h: what a store holds for some users, as text, through the storage interface
// only (no schema): the tests of imapd compare it before and after commands that must change
// nothing (issue 12: "nothing a client sends changes the store except what the command
// means"), and check the mailboxes, entries and subscriptions a session leaves behind. Shared by
// the daemon-level runner (through imap-store-tool) and the in-process test, so both read the
// same lines. Test-only; reads, never writes.
//
// Lines, per user in the order given:
//   mailboxes ADDRESS: NAME, NAME, ...            every mailbox, by name
//   subscribed ADDRESS: NAME, NAME, ...           every subscription, by name
//   mailbox ADDRESS NAME: UID(FLAGS) UID(FLAGS)   one per mailbox: its entries, flags and
//                                                 keywords in a fixed order ("1(\Seen $Junk)")
//   detail ...                                    everything else a command could change:
//                                                 UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special
//                                                 use, each entry's modseq, internal date, size
//                                                 and a hash of its bytes, the quota
#pragma once

#include <string>
#include <vector>

#include "storage/store.h"

namespace hikyaku::test {

// The snapshot, or "error: ..." as its only line when the store cannot be read.
std::string store_snapshot(storage::Store& store, const std::vector<std::string>& addresses);

// The seconds since the epoch every seeded message gets as its internal date (both runners),
// so INTERNALDATE can be written in a transcript: 14-Nov-2023 22:13:20 +0000.
inline constexpr long long kSeedInternalDate = 1700000000;

// A message of `depth` nested multipart/mixed levels around one text/plain leaf (the deep
// MIME attack class: Dovecot CVE-2020-12100); imap-store-tool "nested" delivers it.
std::string nested_multipart(std::size_t depth);

}  // namespace hikyaku::test
