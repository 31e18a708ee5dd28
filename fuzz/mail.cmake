# SPDX-License-Identifier: MIT
bw_fuzz(mail SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_mail.c DEPS bw_mail)
