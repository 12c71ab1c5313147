// object_id.cpp: see object_id.h. RFC 8474 4, 5.
#include "imapd/object_id.h"

namespace hikyaku::imap {

std::string mailbox_object_id(std::uint32_t uidvalidity) { return "M" + std::to_string(uidvalidity); }

std::string email_object_id(storage::MessageId message, storage::TimePoint internal_date) {
    return "E" + std::to_string(message) + "-" + std::to_string(internal_date.time_since_epoch().count());
}

}  // namespace hikyaku::imap
