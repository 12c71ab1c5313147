# Fuzz targets of the SMTP protocol layer (smtpd/smtp_command, smtpd/data_reader): command lines
# (with the RFC 5321 path parser behind MAIL/RCPT) and DATA/BDAT message bytes.
hikyaku_fuzz_target(fuzz_smtp_command fuzz_smtp_command.cpp smtp_protocol)
hikyaku_fuzz_target(fuzz_smtp_data fuzz_smtp_data.cpp smtp_protocol)
