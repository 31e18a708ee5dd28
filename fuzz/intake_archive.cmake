# SPDX-License-Identifier: MIT
bw_fuzz(intake_archive SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_intake_archive.c DEPS bw_intake)
