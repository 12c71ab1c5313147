// sort_thread.h: the SORT and THREAD algorithms over what is known of each message (its
// MessageFacts): ordering by sort criteria, the base subject, the ORDEREDSUBJECT and
// REFERENCES threading algorithms, and the THREAD response's thread lists. Pure: no I/O,
// no session, no store; the session builds the facts from a message's parsed header.
//
// RFC 5256 2.1 (base subject: RFC 2047 decoding, whitespace, subj-trailer "(fwd)", subj-leader
// "Re:"/"Fw:"/"Fwd:" after blobs, subj-blob "[...]", subj-fwd "[fwd: ...]", and which
// messages count as replies or forwards), 2.2 (sent date: the Date header, else INTERNALDATE;
// ties broken by sequence order), 3 (SORT keys ARRIVAL CC DATE FROM REVERSE SIZE SUBJECT TO;
// ORDEREDSUBJECT; REFERENCES steps 1-6), 4 (thread-list syntax); RFC 5957 (DISPLAYFROM,
// DISPLAYTO); RFC 4790 9.2 (i;ascii-casemap, the collation of every string key and of subject
// comparisons).
//
// Where the RFC leaves room (as Dovecot): a missing address sorts as the empty string; the
// address keys use the first address of the envelope, so a group sorts by its name; a
// Message ID is valid when it is "<...>" holding an "@" (comments and whitespace around and
// inside are dropped); Message IDs compare case-sensitively.
//
// Bounds (SortThreadLimits): at most max_messages messages (else Errc::limit_exceeded), at
// most max_references Message IDs kept from one References field (the first and the last
// ones: the thread's start and the nearest ancestors), and threads at most max_depth deep: a
// link is not made when the would-be parent is already max_depth deep (found by a walk up of
// at most max_depth steps, so a loop check costs at most that), and a message that would still
// end up deeper starts a thread of its own. Every recursion is bounded by max_depth.
// Must never: create a loop in a thread, recurse without bound, or drop a message from the
// result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime/message.h"
#include "common/result.h"
#include "imapd/imap_command.h"

namespace hikyaku::imap {

// Messages in one SORT or THREAD.
inline constexpr std::size_t kMaxSortThreadMessages = 1'000'000;
// Message IDs kept from one References field.
inline constexpr std::size_t kMaxThreadReferences = 256;
// Levels of one thread (a chain of replies).
inline constexpr std::size_t kMaxThreadDepth = 1000;
// Octets of one Message ID (RFC 5322 2.1.1's line length).
inline constexpr std::size_t kMaxMessageIdLength = 998;

struct SortThreadLimits {
    std::size_t max_messages = kMaxSortThreadMessages;
    std::size_t max_references = kMaxThreadReferences;
    std::size_t max_depth = kMaxThreadDepth;
};

// RFC 5256 2.1: the base subject of a Subject field's raw value, and whether extracting it
// removed a "Re:"/"Fwd:" leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper.
struct BaseSubject {
    std::string text;  // UTF-8, not case-mapped
    bool reply_or_forward = false;
    bool operator==(const BaseSubject&) const = default;
};
BaseSubject base_subject(std::string_view raw_subject);

// RFC 4790 9.2.1 i;ascii-casemap: a-z mapped to A-Z; keys compare as octets after it.
std::string ascii_casemap(std::string_view s);

// The valid Message IDs of a field value (Message-ID, References, In-Reply-To), in order,
// each as "<id>" with whitespace removed; at most `max` kept (the first and the last max-1).
std::vector<std::string> message_ids(std::string_view value, std::size_t max = kMaxThreadReferences);

// What SORT and THREAD use of one message. The facts of a SORT or THREAD come in mailbox
// order: that order breaks every tie (RFC 5256 3).
struct MessageFacts {
    std::uint32_t number = 0;               // what the reply shows: the sequence number or the UID
    std::int64_t arrival = 0;               // INTERNALDATE, seconds since the epoch
    std::int64_t sent = 0;                  // RFC 5256 2.2, seconds since the epoch (UTC)
    std::uint64_t size = 0;                 // RFC822.SIZE
    std::string subject;                    // base subject, case-mapped
    bool reply_or_forward = false;          // BaseSubject::reply_or_forward
    std::string from, to, cc;               // addr-mailbox of the first address, case-mapped
    std::string display_from, display_to;   // RFC 5957, decoded and case-mapped
    std::optional<std::string> message_id;  // the first valid one
    std::vector<std::string> references;    // References, else the first of In-Reply-To
};

MessageFacts message_facts(const mime::ParsedMessage& message, std::uint32_t number, std::int64_t internal_date,
                           std::uint64_t size, const SortThreadLimits& limits = {});

// SORT: the numbers of `messages` in the order of `criteria` (RFC 5256 3; REVERSE turns
// its own key only; ties in every key keep mailbox order).
std::vector<std::uint32_t> sort_messages(std::span<const MessageFacts> messages,
                                         std::span<const SortCriterion> criteria);

// One message of a thread; number 0 is a dummy (a message referred to but not there, or the
// parent made for threads of one subject): RFC 5256 4 shows only its children.
struct ThreadNode {
    std::uint32_t number = 0;
    std::vector<ThreadNode> children;
    bool operator==(const ThreadNode&) const = default;
};

// THREAD: the threads of `messages`, in order.
Result<std::vector<ThreadNode>> thread_messages(std::span<const MessageFacts> messages, ThreadAlgorithm algorithm,
                                                const SortThreadLimits& limits = {});

// RFC 5256 4: "(1 2 (3)(4))(5)"; "" for none.
std::string format_threads(std::span<const ThreadNode> threads);

}  // namespace hikyaku::imap
