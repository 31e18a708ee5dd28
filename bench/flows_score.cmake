# SPDX-License-Identifier: MIT
# bench/flows_score: beacon scoring of 10 M flows / 50 k hosts, time and peak RSS (issue 4, acceptance 3).
add_executable(bench_flows_score ${CMAKE_CURRENT_SOURCE_DIR}/bench_flows_score.c
               ${PROJECT_SOURCE_DIR}/tools/flowsim_gen.c)
target_include_directories(bench_flows_score PRIVATE ${PROJECT_SOURCE_DIR}/tools)
target_link_libraries(bench_flows_score PRIVATE bw_flowscore m)
