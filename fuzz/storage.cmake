# Fuzz target of the store's untrusted-text parsers (storage/change_notifier, storage/validation).
hikyaku_fuzz_target(fuzz_storage_names fuzz_storage_names.cpp storage)
