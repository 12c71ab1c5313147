// result.h: errors cross layers as values (STYLE 15).
//
// Result<T> holds either a value or an Error (a code plus a one-line message).
// g++ 12 in C++20 mode has no std::expected, so this is the small subset we use.
// Never throws on the happy path; value() on an error is a programming bug and aborts.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace hikyaku {

// Error kinds that say what a protocol must answer (STYLE 19): each protocol maps them to
// its own replies in one table, so "too big" and "over quota" never collapse into one reply.
enum class Errc {
    invalid_argument,  // malformed input (bad address, bad mailbox name, ...)
    not_found,         // unknown user, mailbox, message
    already_exists,    // duplicate domain, user, mailbox
    limit_exceeded,    // a count or name length cap (keywords, UIDs exhausted, ...)
    too_big,           // a message over the maximum message size (IMAP TOOBIG, SMTP 552 5.3.4)
    over_quota,        // the message would exceed a recipient's quota (IMAP OVERQUOTA, 552 5.2.2)
    would_block,       // a read that asked not to wait for the disk would have (retry elsewhere)
    auth_failed,       // bad credentials
    busy,              // lock held by another session (POP3 IN-USE)
    io_error,          // storage or filesystem failure (transient)
    unsupported,       // schema too new, feature not available
    internal,          // bug or corrupted state
};

struct Error {
    Errc code = Errc::internal;
    std::string message;
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        check();
        return std::get<0>(v_);
    }
    const T& value() const& {
        check();
        return std::get<0>(v_);
    }
    T&& value() && {
        check();
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<1>(v_); }

private:
    void check() const {
        if (!ok()) std::abort();
    }
    std::variant<T, Error> v_;
};

// Result<void> equivalent.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : error_(std::move(error)), ok_(false) {}
    static Status success() { return {}; }
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace hikyaku
