// delivery.h: the store's delivery role: one message into the INBOX of each recipient, as
// smtpd does after DATA, and with it the queue entries of its remote recipients.
//
// A delivery is one transaction: every recipient gets the message or none does, and the
// completion runs only after the commit is durable (DESIGN "Durability": the SMTP 250 waits
// for it). Concurrent deliveries may share one commit (group commit). The bytes are stored
// once however many recipients there are.
// Must never: acknowledge before the commit; store a message for some recipients only; parse
// the message itself (StoredMessage brings the structure: storage/message.h).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"
#include "storage/completion.h"
#include "storage/types.h"

namespace hikyaku::storage {

class Delivery {
public:
    virtual ~Delivery() = default;

    // `recipients` must be unique (unique_recipients() in storage/message.h); too_big past
    // max_message_size, over_quota if the message would take any recipient past their quota,
    // not_found for an unknown user id.
    virtual void deliver_async(const StoredMessage& message, std::span<const UserId> recipients,
                               TimePoint internal_date, Completion<DeliveryReceipt> done) = 0;
    // A submission: the message for local users (as deliver_async) and queue entries for
    // its remote recipients (storage/queue.h), in one transaction. invalid_argument when
    // there is no recipient at all or a remote recipient is malformed; otherwise as
    // deliver_async. Announces ChangeKind::queued when it queued anything.
    virtual void submit_async(const Submission& submission, Completion<SubmissionReceipt> done) = 0;
    virtual std::uint64_t max_message_size() const = 0;

    // Blocking form for mailctl and tests: prepares the message, removes duplicate
    // recipients and waits for the commit.
    Result<DeliveryReceipt> deliver(std::string_view raw, std::span<const UserId> recipients, TimePoint internal_date);
    Result<SubmissionReceipt> submit(std::string_view raw, std::span<const UserId> local,
                                     const OutboundEnvelope& outbound, TimePoint internal_date);
};

}  // namespace hikyaku::storage
