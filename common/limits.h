// limits.h: defaults that more than one layer must agree on, kept in one place.
//
// The configuration (common/config.h) and the store (storage/store.h) both start from these,
// so a daemon, mailctl and a test that builds StoreOptions by hand see the same limit.
// Must never: hold anything but constants.
#pragma once

#include <cstdint>

namespace hikyaku {

// Largest message a client may send (SMTP SIZE, IMAP APPENDLIMIT): [storage] max_message_size.
inline constexpr std::uint64_t kDefaultMaxMessageSize = 25ull * 1024 * 1024;

// What smtpd prepends to a message (Return-Path, Received, Date, Message-ID) comes on top of
// the client's max_message_size; the store accepts that much more than the client limit.
inline constexpr std::uint64_t kTraceHeaderAllowance = 16 * 1024;

}  // namespace hikyaku
