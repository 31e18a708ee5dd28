# SPDX-License-Identifier: MIT
# tools/spamsim: simulated spam-trap mbox + truth file for campaign clustering (issue 3).
add_executable(spamsim ${CMAKE_CURRENT_SOURCE_DIR}/spamsim.c ${CMAKE_CURRENT_SOURCE_DIR}/spamsim_gen.c)
target_link_libraries(spamsim PRIVATE bw_util m)
