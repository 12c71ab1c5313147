// completion.h: how the store reports the end of an asynchronous write.
//
// A write is submitted with a Completion: a callback that the store calls exactly once, after
// the write's transaction is durable (or has failed), from the store's writer thread (or, in
// a backend without one, from the calling thread before the call returns). It must return
// quickly: the protocol layer's facade (common/server/async_store.h) only posts the result
// to the session's own executor. Whatever the call's arguments refer to (message bytes, UID
// lists) must stay valid until the completion has run.
//
// wait_for() turns a submission into a blocking call, for mailctl and tests: it blocks the
// calling thread until the completion runs. Never use it on an event-loop thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "common/result.h"

namespace hikyaku::storage {

template <class T>
struct CompletionOf {
    using type = std::function<void(Result<T>)>;
    using result = Result<T>;
};
template <>
struct CompletionOf<void> {
    using type = std::function<void(Status)>;
    using result = Status;
};

// The callback of a write that yields a T (Status for void).
template <class T>
using Completion = typename CompletionOf<T>::type;

// Submits through start(completion) and waits for the completion; returns its result.
template <class T, class Start>
typename CompletionOf<T>::result wait_for(Start&& start) {
    using R = typename CompletionOf<T>::result;
    struct Waiter {
        std::mutex mutex;
        std::condition_variable done;
        std::optional<R> result;
    };
    auto waiter = std::make_shared<Waiter>();
    start(Completion<T>([waiter](R result) {
        std::lock_guard lock(waiter->mutex);
        waiter->result.emplace(std::move(result));
        waiter->done.notify_all();
    }));
    std::unique_lock lock(waiter->mutex);
    waiter->done.wait(lock, [&] { return waiter->result.has_value(); });
    return std::move(*waiter->result);
}

}  // namespace hikyaku::storage
