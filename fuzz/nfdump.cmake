# SPDX-License-Identifier: MIT
bw_fuzz(nfdump SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_nfdump.c DEPS bw_flows)
