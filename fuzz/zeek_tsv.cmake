# SPDX-License-Identifier: MIT
bw_fuzz(zeek_tsv SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_zeek_tsv.c DEPS bw_flows)
