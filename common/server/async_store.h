// async_store.h: how a session uses the store without ever blocking its event loop (the
// asynchronous store facade of DESIGN "Connection core").
//
// Writes: `co_await store.deliver(...)` (and append, set_flags, ...) submits the write to the
// store and suspends the session; the store's writer thread runs the write in its next group
// commit and, once it is durable, posts the result to the session's own executor, which
// resumes the session. No thread waits for a commit, so a batch holds every write submitted
// while the previous one committed (up to [storage] max_batch), whatever the number of
// sessions. A large message is parsed (storage::prepare_message) on the blocking pool first.
// Reads: `co_await store.read([&] { return store->find_mailbox(...); })` first tries the read
// on the session's own thread inside a storage::CacheOnlyReads scope: answered from memory,
// it costs no thread hand-off; if it would have waited for the disk (Errc::would_block) it is
// run again on the blocking pool, so a disk miss stalls only this session. With [server]
// message_reads = "pool" every read goes to the pool.
// Must never: resume a session on another thread than its own executor; block the caller.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/config.h"
#include "common/net/blocking_pool.h"
#include "storage/message.h"
#include "storage/store.h"

namespace hikyaku::server {

namespace asio = boost::asio;

// Messages up to this size are parsed on the session's thread (about 0.25 ms); larger ones
// on the blocking pool.
inline constexpr std::size_t kInlineParseLimit = 256 * 1024;

class AsyncStore {
public:
    AsyncStore(storage::Store& store, net::BlockingPool& pool, MessageReads reads = MessageReads::worker)
        : store_(store), pool_(pool), reads_(reads) {}

    storage::Store& operator*() { return store_; }
    storage::Store* operator->() { return &store_; }
    net::BlockingPool& pool() { return pool_; }

    // Runs a read (a callable returning a Result or Status) as described above. Capture by
    // reference in `read` (see blocking_pool.h).
    template <class Read>
    asio::awaitable<std::invoke_result_t<Read&>> read(Read read) {
        if (reads_ == MessageReads::worker) {
            std::optional<std::invoke_result_t<Read&>> cached;
            {
                storage::CacheOnlyReads scope;
                cached.emplace(read());
            }
            if (cached->ok() || cached->error().code != Errc::would_block) co_return std::move(*cached);
        }
        co_return co_await pool_.run(read);
    }

    // A large read (many large messages' bytes at once) straight on the pool, with no
    // cache-only attempt first: another core copies the bytes while this one sends.
    template <class Read>
    asio::awaitable<std::invoke_result_t<Read&>> bulk_read(Read read) {
        co_return co_await pool_.run(read);
    }

    // ---- writes (each resumes the caller after the commit) ----------------------------------
    asio::awaitable<Result<storage::DeliveryReceipt>> deliver(std::string_view raw,
                                                              std::span<const storage::UserId> recipients,
                                                              storage::TimePoint internal_date);
    // Local delivery and queue entries for remote recipients in one write (storage/queue.h).
    asio::awaitable<Result<storage::SubmissionReceipt>> submit(std::string_view raw,
                                                               std::span<const storage::UserId> local,
                                                               const storage::OutboundEnvelope& outbound,
                                                               storage::TimePoint internal_date);
    asio::awaitable<Result<storage::AppendResult>> append(storage::MailboxId mailbox, std::string_view raw,
                                                          storage::Flags flags, std::span<const std::string> keywords,
                                                          storage::TimePoint internal_date);
    // RFC 3502 MULTIAPPEND: every message in one write, all or none. Each `items[i].message.raw`
    // is prepared (parsed) here; the rest is taken as given.
    asio::awaitable<Result<std::vector<storage::AppendResult>>> append_all(storage::MailboxId mailbox,
                                                                           std::vector<storage::AppendItem> items);
    asio::awaitable<Result<storage::FlagResult>> set_flags(storage::MailboxId mailbox,
                                                           std::span<const storage::Uid> uids,
                                                           const storage::FlagChange& change);
    asio::awaitable<Result<storage::CopyResult>> copy(storage::MailboxId from, std::span<const storage::Uid> uids,
                                                      storage::MailboxId to);
    asio::awaitable<Result<storage::CopyResult>> move(storage::MailboxId from, std::span<const storage::Uid> uids,
                                                      storage::MailboxId to);
    asio::awaitable<Result<storage::ExpungeResult>> expunge(storage::MailboxId mailbox,
                                                            std::span<const storage::Uid> uids);
    asio::awaitable<Result<storage::ExpungeResult>> expunge_deleted(storage::MailboxId mailbox,
                                                                    std::optional<std::span<const storage::Uid>> only);
    asio::awaitable<Result<storage::MailboxInfo>> create_mailbox(storage::UserId user, std::string_view name,
                                                                 storage::SpecialUse use);
    asio::awaitable<Status> rename_mailbox(storage::UserId user, std::string_view from, std::string_view to);
    asio::awaitable<Status> delete_mailbox(storage::UserId user, std::string_view name);
    asio::awaitable<Status> set_subscribed(storage::UserId user, std::string_view name, bool subscribed);
    asio::awaitable<Result<storage::RecentClaim>> claim_recent(storage::MailboxId mailbox);

    // Submits through start(completion) and resumes the caller, on its own executor, with the
    // completion's result. The arguments `start` passes must outlive the call (they do: they
    // live in the caller's coroutine frame).
    template <class T, class Start>
    static asio::awaitable<typename storage::CompletionOf<T>::result> submit(Start start);

private:
    asio::awaitable<storage::StoredMessage> prepare(std::string_view raw);

    storage::Store& store_;
    net::BlockingPool& pool_;
    MessageReads reads_;
};

namespace detail {
// Builds the completion that posts `result` to the awaiting handler's executor. A plain
// function (not a lambda inside a co_await expression: see blocking_pool.h).
template <class R, class Handler>
std::function<void(R)> post_to_handler(Handler handler) {
    auto shared = std::make_shared<Handler>(std::move(handler));
    return [shared](R result) {
        auto executor = asio::get_associated_executor(*shared);
        asio::post(executor, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
    };
}
}  // namespace detail

template <class T, class Start>
asio::awaitable<typename storage::CompletionOf<T>::result> AsyncStore::submit(Start start) {
    using R = typename storage::CompletionOf<T>::result;
    auto initiate = [&start](auto handler) { start(detail::post_to_handler<R>(std::move(handler))); };
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(initiate, asio::use_awaitable);
}

}  // namespace hikyaku::server
