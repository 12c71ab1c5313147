# imap-fill: fills a user's INBOX in a hikyaku store directly (group-committed appends), for the
# IMAP workloads of bench/compare (100,000-message mailboxes in seconds rather than minutes
# through smtpd). Included by bench/CMakeLists.txt.
add_executable(imap-fill ${CMAKE_CURRENT_LIST_DIR}/imap_fill.cpp)
target_link_libraries(imap-fill PRIVATE storage)
