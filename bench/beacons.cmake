# SPDX-License-Identifier: MIT
# bench/beacons: beacon recall and false positives on flowsim traffic (issue 4, acceptance 2).
add_executable(bench_beacons ${CMAKE_CURRENT_SOURCE_DIR}/bench_beacons.c
               ${PROJECT_SOURCE_DIR}/tools/flowsim_gen.c)
target_include_directories(bench_beacons PRIVATE ${PROJECT_SOURCE_DIR}/tools)
target_link_libraries(bench_beacons PRIVATE bw_flowscore m)
