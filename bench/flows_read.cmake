# SPDX-License-Identifier: MIT
# bench_flows_read: Zeek conn.log parsing speed of the flow reader beside awk on the same file.
add_executable(bench_flows_read ${CMAKE_CURRENT_SOURCE_DIR}/bench_flows_read.c)
target_link_libraries(bench_flows_read PRIVATE bw_flows)
target_compile_definitions(bench_flows_read PRIVATE BW_SHARED_DATA_DEFAULT="${BW_SHARED_DATA}")
