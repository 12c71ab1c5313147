# Fuzz target of the POP3 protocol layer (pop3d/pop3_command, pop3d/pop3_reply).
hikyaku_fuzz_target(fuzz_pop3_command fuzz_pop3_command.cpp pop3_protocol)
