# store_bench: durable deliveries per second (1 and 16 writers) beside fsyncs per second.
# Included by bench/CMakeLists.txt. Run it from a Release build without sanitizers.
add_executable(store_bench ${CMAKE_CURRENT_LIST_DIR}/store_bench.cpp)
target_link_libraries(store_bench PRIVATE storage)
