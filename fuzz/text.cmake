# Fuzz target of the SASL and base64 decoders (common/text/sasl, common/text/base64): AUTH
# responses straight from the network.
hikyaku_fuzz_target(fuzz_sasl fuzz_sasl.cpp common_text)
