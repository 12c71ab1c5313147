# Fuzz targets of mailcli: the renderer of received messages (untrusted bytes from any server).
hikyaku_fuzz_target(fuzz_mailcli_render fuzz_mailcli_render.cpp mailcli_render)
# The client side's parsers of server replies (common/client: SMTP replies and EHLO, POP3
# responses and listings, greetings): untrusted bytes from any server mailcli talks to.
hikyaku_fuzz_target(fuzz_mailcli_replies fuzz_mailcli_replies.cpp common_text)
# The client side's IMAP response parser (common/client/imap_response): mailcli imap reads
# every byte of any IMAP server through it.
hikyaku_fuzz_target(fuzz_imap_response fuzz_imap_response.cpp common_text)
# The client side of an ESMTP session (common/client/smtp_client_session), which deliverd and
# mailcli drive with whatever replies a server sends.
hikyaku_fuzz_target(fuzz_smtp_client_session fuzz_smtp_client_session.cpp common_text)
