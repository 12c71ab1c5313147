# Fuzz targets of mailcli: the renderer of received messages (untrusted bytes from any server).
hikyaku_fuzz_target(fuzz_mailcli_render fuzz_mailcli_render.cpp mailcli_render)
