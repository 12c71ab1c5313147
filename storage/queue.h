// queue.h: the store's outbound queue role: recipients in other domains waiting to be sent
// by the delivery agent (deliverd), each a row beside the one stored copy of its message.
//
// Entries are added by Delivery::submit_async in the same transaction that delivers the
// message to its local recipients, so a submission is one write: all or nothing, and the
// SMTP 250 only after it is durable. The agent reads due entries, tries them, and records
// what became of them with settle_async, which also stores the notices that go with the
// outcome (a bounce, a delay warning) in the same transaction: a crash between the two
// loses neither. A message stays stored while any queue entry or mailbox entry refers to it.
// Every write that adds or makes entries due announces ChangeKind::queued on the change
// feed, so the agent wakes without polling.
// Must never: lose an entry whose outcome was not settled; drop a message a queue entry
// still refers to; hand out a held entry as due.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/completion.h"
#include "storage/types.h"

namespace hikyaku::storage {

class QueueRole {
public:
    virtual ~QueueRole() = default;

    // Reads (each one consistent snapshot).
    // Every entry, held or not, oldest first (mailctl queue list).
    virtual Result<std::vector<QueuedRecipient>> list_queue() = 0;
    virtual Result<QueuedRecipient> find_queued(QueueId id) = 0;
    // Entries not held whose next attempt is at or before `now`, earliest first, at most
    // `limit`, leaving out the ids in `busy` (the agent's tries in progress; sorted, increasing).
    virtual Result<std::vector<QueuedRecipient>> due_recipients(TimePoint now, std::size_t limit,
                                                                std::span<const QueueId> busy) = 0;
    // When the earliest entry not held is due; nullopt when there is none.
    virtual Result<std::optional<TimePoint>> next_due() = 0;
    // The bytes of a queued message; not_found when no entry refers to it.
    virtual Result<std::string> read_queued_message(MessageId message) = 0;

    // Records outcomes (an unknown id is skipped: mailctl may have deleted it meanwhile) and
    // stores `notices` (bounces, delay warnings), all in one transaction.
    virtual void settle_async(std::span<const QueueOutcome> outcomes, std::span<const Submission> notices,
                              Completion<void> done) = 0;
    // mailctl: retry (due now; every entry when `id` is empty), remove, hold, release.
    // Returns how many entries changed; not_found for an unknown id.
    virtual void control_queue_async(QueueAction action, std::optional<QueueId> id, Completion<std::size_t> done) = 0;

    // Blocking forms for mailctl and tests.
    Status settle(std::span<const QueueOutcome> outcomes, std::span<const Submission> notices);
    Result<std::size_t> control_queue(QueueAction action, std::optional<QueueId> id);
};

}  // namespace hikyaku::storage
