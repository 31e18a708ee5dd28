# SPDX-License-Identifier: MIT
# bench/parse: MIME parse throughput, botwatch beside GMime 3 on the same messages in one
# run (issue 2, acceptance 5). Run: build/bench/bench_parse [MBOX]
bw_pkg(GMIME gmime-3.0)
add_executable(bench_parse ${CMAKE_CURRENT_LIST_DIR}/bench_parse.c
               ${PROJECT_SOURCE_DIR}/tests/mime/mime_test_util.c)
target_include_directories(bench_parse PRIVATE ${PROJECT_SOURCE_DIR}/tests/mime)
target_link_libraries(bench_parse PRIVATE bw_mime PkgConfig::GMIME)
target_compile_definitions(bench_parse PRIVATE BW_DATA_DEFAULT="${BW_DATA}")
# Full extraction needs the mail module; its folder decides (targets of other folders are
# not known yet at this point of configure).
if(EXISTS ${PROJECT_SOURCE_DIR}/src/mail/CMakeLists.txt)
  target_link_libraries(bench_parse PRIVATE bw_mail)
  target_compile_definitions(bench_parse PRIVATE BW_BENCH_MAIL=1)
endif()
