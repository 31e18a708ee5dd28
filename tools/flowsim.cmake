# SPDX-License-Identifier: MIT
# tools/flowsim: simulated Zeek conn.log + truth file (issue 4, acceptance 2).
add_executable(flowsim ${CMAKE_CURRENT_SOURCE_DIR}/flowsim.c ${CMAKE_CURRENT_SOURCE_DIR}/flowsim_gen.c)
target_link_libraries(flowsim PRIVATE bw_util m)
