# SPDX-License-Identifier: MIT
bw_fuzz(zeek_json SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_zeek_json.c DEPS bw_flows)
