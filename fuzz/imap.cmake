# Fuzz target of the IMAP protocol layer (imapd/: framer, grammar, names, sets, SEARCH).
hikyaku_fuzz_target(fuzz_imap_command fuzz_imap_command.cpp imap_protocol)
# SORT and THREAD over hostile headers (imapd/sort_thread).
hikyaku_fuzz_target(fuzz_imap_thread fuzz_imap_thread.cpp imap_protocol)
# APPEND's literal8 conversion to base64 (imapd/binary_append).
hikyaku_fuzz_target(fuzz_imap_binary_append fuzz_imap_binary_append.cpp imap_protocol)
