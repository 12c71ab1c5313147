# Fuzz targets of the MIME code (common/mime, common/text/rfc2047): untrusted message bytes,
# cache blobs read back from disk, and header texts.
hikyaku_fuzz_target(fuzz_mime fuzz_mime.cpp common_text)
hikyaku_fuzz_target(fuzz_mime_cache fuzz_mime_cache.cpp common_text)
hikyaku_fuzz_target(fuzz_mime_rfc2047 fuzz_mime_rfc2047.cpp common_text)
