# SPDX-License-Identifier: MIT
bw_fuzz(html SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_html.c DEPS bw_html)
