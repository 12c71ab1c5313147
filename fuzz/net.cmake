# Fuzz target of the connection core's decoder of compressed input (common/net
# deflate_transport: IMAP COMPRESS=DEFLATE, RFC 4978).
hikyaku_fuzz_target(fuzz_deflate_transport fuzz_deflate_transport.cpp common)
