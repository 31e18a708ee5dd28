# SPDX-License-Identifier: MIT
bw_fuzz(mbox SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_mbox.c DEPS bw_intake)
