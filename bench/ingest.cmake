# SPDX-License-Identifier: MIT
# bench/ingest: end-to-end ingest (read + parse + analyze + store) of the SpamAssassin corpus
# x10 on 2 worker threads, without and with campaigns/rules/botnets; prints msgs/s, MB/s,
# the added time and peak RSS. Run: build/bench/bench_ingest [--repeat 3]
add_executable(bench_ingest ${CMAKE_CURRENT_LIST_DIR}/bench_ingest.c)
target_link_libraries(bench_ingest PRIVATE bw_ingest)
