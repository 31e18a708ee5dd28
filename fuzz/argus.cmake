# SPDX-License-Identifier: MIT
bw_fuzz(argus SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_argus.c DEPS bw_flows)
