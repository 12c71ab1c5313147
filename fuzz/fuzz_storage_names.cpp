// fuzz_storage_names: the store's parsers of untrusted text: change datagrams (any process
// of the suite can write to the notification directory), and the validators of the names
// protocols pass through from clients (mailbox names, keywords, addresses, domains).
//
// Must never: crash, read out of bounds, or accept a name that validation would then refuse
// after normalisation, or a datagram line whose re-formatting differs from the line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/change_notifier.h"
#include "storage/store.h"

using namespace hikyaku::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    if (auto change = ChangeNotifier::parse(input)) {
        // Accepted lines are canonical: formatting the parsed change gives the line back.
        if (ChangeNotifier::format(*change) != input) std::abort();
    }

    if (validate_mailbox_name(input).ok()) {
        std::string normal = normalize_mailbox_name(input);
        if (!validate_mailbox_name(normal).ok()) std::abort();
        if (normal.size() != input.size()) std::abort();
    }
    (void)validate_keyword(input);
    if (validate_address(input).ok()) {
        if (!validate_address(normalize_address(input)).ok()) std::abort();
    }
    (void)validate_domain(input);
    return 0;
}
