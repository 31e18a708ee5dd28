# SPDX-License-Identifier: MIT
bw_fuzz(rules SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_rules.c DEPS bw_rules)
