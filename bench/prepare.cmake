# SPDX-License-Identifier: MIT
# bench/prepare: CPU per message of campaign preparation (normalise + MinHash, what ingest's
# workers add per message) on the SpamAssassin corpus, parsed up front. Run under callgrind
# with --toggle-collect=bw_campaign_prepare_cached for instructions per message.
add_executable(bench_prepare ${CMAKE_CURRENT_LIST_DIR}/bench_prepare.c
               ${PROJECT_SOURCE_DIR}/tests/mime/mime_test_util.c)
target_include_directories(bench_prepare PRIVATE ${PROJECT_SOURCE_DIR}/tests/mime)
target_link_libraries(bench_prepare PRIVATE bw_ingest bw_campaign bw_mail bw_mime)
target_compile_definitions(bench_prepare PRIVATE BW_DATA_DEFAULT="${BW_DATA}")
