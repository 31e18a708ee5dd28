# SPDX-License-Identifier: MIT
# bench/intake: mbox splitting and intake reading speed (plain and .gz) beside the floors
# of a memchr line scan, `grep -c '^From '` and `gzip -dc` on the same file in one run.
# Run: build/bench/bench_intake [MBOX]  (default: $BW_DATA/spamassassin.mbox)
add_executable(bench_intake ${CMAKE_CURRENT_LIST_DIR}/bench_intake.c)
target_link_libraries(bench_intake PRIVATE bw_intake)
target_compile_definitions(bench_intake PRIVATE BW_DATA_DEFAULT="${BW_DATA}")
