// imap_condstore.cpp: CONDSTORE and QRESYNC for the IMAP session (see imap_session_internal.h):
// turning CONDSTORE on, the QRESYNC part of SELECT/EXAMINE, and the VANISHED (EARLIER) of
// UID FETCH. MODSEQ in FETCH, CHANGEDSINCE, UNCHANGEDSINCE and SEARCH MODSEQ live with their
// commands (imap_messages.cpp); VANISHED in place of EXPUNGE in selected_mailbox.cpp.
//
// RFC 7162 3.1 (CONDSTORE-enabling commands: after one, MODSEQ and UID in every untagged
// FETCH, and "* OK [HIGHESTMODSEQ n]" if a mailbox is selected), 3.2.5 (SELECT ... (QRESYNC
// (uidvalidity modseq [known-uids [seq-match-data]]))), 3.2.6 (UID FETCH ... (CHANGEDSINCE n
// VANISHED)), 3.2.7 (VANISHED (EARLIER): the client's message count is unchanged).
//
// The store keeps every expunge of a mailbox for as long as the mailbox exists
// (storage/mailboxes.h), so the expunges since any modseq are known exactly and seq-match-data
// (3.2.5.2, for servers that forget) is not needed. Must never: list in VANISHED (EARLIER) a
// UID the client did not name, or a message still in the view (its removal is announced by a
// plain VANISHED, which counts).
#include <algorithm>

#include "imapd/imap_session_internal.h"
#include "storage/store.h"

namespace hikyaku::imap {

namespace {

std::string vanished_earlier(std::vector<storage::Uid>& uids) {
    if (uids.empty()) return {};
    std::sort(uids.begin(), uids.end());
    return "* VANISHED (EARLIER) " + format_number_set(uids) + "\r\n";
}

}  // namespace

void Session::enable_condstore() {
    if (condstore_) return;
    condstore_ = true;
    if (selected_)
        send(untagged_status(ResponseStatus::ok,
                             ResponseCode::with_number(ResponseCodeKind::highestmodseq, selected_->known_modseq()),
                             "Highest"));
}

void Session::send_qresync(const QresyncParams& params, const storage::Changes& changes) {
    const SelectedMailbox& box = *selected_;
    if (params.uidvalidity != box.info().uidvalidity) return;  // 3.2.5.1: a plain SELECT then
    // known-uids defaults to every UID (3.2.5); it never holds "*" (the grammar refuses it).
    std::vector<storage::Uid> gone;
    for (storage::Uid uid : changes.expunged)
        if (!params.known_uids || params.known_uids->contains(uid, storage::kMaxUid)) gone.push_back(uid);
    std::string out = vanished_earlier(gone);
    for (const storage::Entry& e : changes.changed) {
        auto seq = box.sequence_of(e.uid);
        if (!seq) continue;
        const auto& m = box.at(*seq);
        out += "* " + std::to_string(*seq) + " FETCH (UID " + std::to_string(e.uid) + " FLAGS " +
               format_flag_list(m.flags, box.keywords_of(m), !rev2_ && m.recent) + " MODSEQ (" +
               std::to_string(e.modseq) + "))\r\n";
        if (out.size() >= s_.fetch_chunk_size) {
            send(out);
            out.clear();
        }
    }
    if (!out.empty()) send(out);
}

asio::awaitable<bool> Session::send_vanished_earlier(const SequenceSet& set, storage::ModSeq since) {
    const storage::MailboxId mailbox = selected_->id();
    auto changes = co_await store().read([&] { return store()->changes_since(mailbox, since); });
    if (!changes) co_return false;
    // "*" in the set: up to the highest UID ever given, not only the highest still present.
    std::vector<storage::Uid> gone;
    for (storage::Uid uid : changes->expunged)
        if (set.contains(uid, storage::kMaxUid) && !selected_->sequence_of(uid)) gone.push_back(uid);
    const std::string out = vanished_earlier(gone);
    if (!out.empty()) send(out);
    co_return true;
}

}  // namespace hikyaku::imap
