# SPDX-License-Identifier: MIT
# bench/campaigns: campaign clustering on a spamsim stream beside ssdeep (libfuzzy) and TLSH
# threshold clustering, B-cubed F1 and messages/s of each (issue 3, acceptance 1-2).
# TLSH is C++ only in Debian (libtlsh-dev: class Tlsh, no C API, no pkg-config file), so a
# tiny C++ shim is compiled here; libfuzzy ships no pkg-config file either. Messages go
# through the real parser (bw_mail) unless --records. Botnets are then inferred (bw_botnet)
# from the predicted campaigns and scored by purity against spamsim's botnets.
find_library(BW_FUZZY_LIB fuzzy)
find_library(BW_TLSH_LIB tlsh)
find_path(BW_TLSH_INCLUDE tlsh.h)
if(BW_FUZZY_LIB AND BW_TLSH_LIB AND BW_TLSH_INCLUDE)
  enable_language(CXX)
  add_library(bench_tlsh_shim STATIC ${CMAKE_CURRENT_SOURCE_DIR}/tlsh_shim.cpp)
  # The project's warning set is C's; C++ gets its own.
  set_property(TARGET bench_tlsh_shim PROPERTY COMPILE_OPTIONS -Wall -Wextra -Werror)
  target_include_directories(bench_tlsh_shim PRIVATE ${BW_TLSH_INCLUDE})
  add_executable(bench_campaigns ${CMAKE_CURRENT_SOURCE_DIR}/bench_campaigns.c
                 ${PROJECT_SOURCE_DIR}/tools/spamsim_gen.c)
  target_include_directories(bench_campaigns PRIVATE ${PROJECT_SOURCE_DIR}/tools)
  target_link_libraries(bench_campaigns PRIVATE bw_botnet bw_campaign bw_mail bench_tlsh_shim ${BW_TLSH_LIB} ${BW_FUZZY_LIB} m)
  set_target_properties(bench_campaigns PROPERTIES LINKER_LANGUAGE CXX)
else()
  message(STATUS "bench_campaigns skipped: libfuzzy or libtlsh not found")
endif()
