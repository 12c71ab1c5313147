// blocking_pool.h: a fixed set of threads for work that blocks (SQLite commits, argon2).
//
// A session on a worker's event loop must never block it: one slow fsync would stall every
// other session of that worker. Such calls go through `co_await pool.run(fn)`: fn runs on
// one of the pool's threads, and the session resumes on its own worker afterwards. The pool
// is bounded in threads ([server] blocking_threads); extra jobs queue.
// Must never: run a job on a worker thread, let a job's exception escape into the pool.
//
// Capture by reference in the lambda you pass: `co_await pool.run([&] { return f(name); })`.
// The calling coroutine's frame outlives the call, so references are safe. Do NOT capture a
// std::string (or anything with a non-trivial copy) by value in a lambda written inside the
// co_await expression: g++ 12 relocates such closure temporaries in the coroutine frame
// bitwise, and the string's destructor then frees a frame address (seen as an ASan
// "bad-free" in smtpd; GCC coroutine temporaries bug).
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <exception>
#include <optional>
#include <type_traits>

namespace hikyaku::net {

namespace asio = boost::asio;

class BlockingPool {
public:
    explicit BlockingPool(unsigned threads) : pool_(threads), threads_(threads) {}
    ~BlockingPool() { join(); }

    // Runs fn() on the pool and resumes the calling coroutine with its result.
    template <class F>
    asio::awaitable<std::invoke_result_t<F&>> run(F fn) {
        using R = std::invoke_result_t<F&>;
        std::exception_ptr failure;
        if constexpr (std::is_void_v<R>) {
            co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
                [&](auto handler) {
                    submit(
                        std::move(handler), [&] { fn(); }, failure);
                },
                asio::use_awaitable);
            if (failure) std::rethrow_exception(failure);
        } else {
            std::optional<R> result;
            co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
                [&](auto handler) {
                    submit(
                        std::move(handler), [&] { result.emplace(fn()); }, failure);
                },
                asio::use_awaitable);
            if (failure) std::rethrow_exception(failure);
            co_return std::move(*result);
        }
    }

    unsigned threads() const { return threads_; }
    std::size_t queued() const { return queued_.load(); }
    void join() { pool_.join(); }

private:
    template <class Handler, class Job>
    void submit(Handler handler, Job job, std::exception_ptr& failure) {
        ++queued_;
        asio::post(pool_, [this, handler = std::move(handler), job = std::move(job), &failure]() mutable {
            --queued_;
            try {
                job();
            } catch (...) {
                failure = std::current_exception();
            }
            // Resume the session on its own executor (its worker thread).
            auto executor = asio::get_associated_executor(handler);
            asio::post(executor, std::move(handler));
        });
    }

    asio::thread_pool pool_;
    unsigned threads_;
    std::atomic<std::size_t> queued_{0};
};

}  // namespace hikyaku::net
