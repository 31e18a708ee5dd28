# SPDX-License-Identifier: MIT
# The intake reader on arbitrary bytes as one in-memory input (libarchive formats and
# filters, nesting, detection, limits); corpus in fuzz/corpus/intake_archive/.
bw_fuzz(intake_archive SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_intake_archive.c DEPS bw_intake)
