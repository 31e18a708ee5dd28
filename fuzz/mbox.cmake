# SPDX-License-Identifier: MIT
# The mbox splitter's fuzz target (whole vs chunked feeding must agree); corpus in
# fuzz/corpus/mbox/ (first byte: chunk size and the any-line flag, then the mbox).
bw_fuzz(mbox SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_mbox.c DEPS bw_intake)
