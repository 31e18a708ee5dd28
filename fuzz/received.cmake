# SPDX-License-Identifier: MIT
bw_fuzz(received SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_received.c DEPS bw_received)
