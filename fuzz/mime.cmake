# SPDX-License-Identifier: MIT
# The MIME parser's fuzz target; corpus in fuzz/corpus/mime/ (real and crafted messages).
bw_fuzz(mime SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_mime.c DEPS bw_mime)
