# Fuzz target of deliverd's DNS record parsers and MX decisions (deliverd/dns_records,
# deliverd/routing): record data from any DNS server.
if(TARGET deliverd_core)
  hikyaku_fuzz_target(fuzz_deliverd_dns fuzz_deliverd_dns.cpp deliverd_core)
endif()
