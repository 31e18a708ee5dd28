# SPDX-License-Identifier: MIT
bw_fuzz(url SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_url.c DEPS bw_url)
