# SPDX-License-Identifier: MIT
# Helpers shared by every module, test and fuzz target. Keeping them here means a module
# folder says only what it is made of and what it needs.

# Where tests find data: ../shared/data beside the checkout, and the fetched cache
# (scripts/fetch-data.sh). Tests skip, saying so, when a data set is absent.
set(BW_SHARED_DATA "${PROJECT_SOURCE_DIR}/../shared/data" CACHE PATH "shared data sets")
if(DEFINED ENV{BW_DATA})
  set(BW_DATA_DEFAULT "$ENV{BW_DATA}")
else()
  set(BW_DATA_DEFAULT "$ENV{HOME}/.cache/botwatch")
endif()
set(BW_DATA "${BW_DATA_DEFAULT}" CACHE PATH "fetched data sets (scripts/fetch-data.sh)")

# bw_pkg(NAME pkgconfig-module): imported target PkgConfig::NAME, found once.
function(bw_pkg name module)
  if(NOT TARGET PkgConfig::${name})
    pkg_check_modules(${name} REQUIRED IMPORTED_TARGET GLOBAL ${module})
  endif()
endfunction()

# bw_module(NAME SOURCES ... [DEPS targets...]): static library bw_NAME, part of libbotwatch.
function(bw_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(bw_${name} STATIC ${M_SOURCES})
  target_include_directories(bw_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  if(M_DEPS)
    target_link_libraries(bw_${name} PUBLIC ${M_DEPS})
  endif()
  set_property(GLOBAL APPEND PROPERTY BW_MODULES bw_${name})
endfunction()

# bw_test(NAME SOURCES ... DEPS ... [ARGS ...] [LABELS ...]): cmocka test run by ctest.
# Tests find shared data through BW_SHARED_DATA and fetched data through BW_DATA.
function(bw_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;DEPS;ARGS;LABELS" ${ARGN})
  bw_pkg(CMOCKA cmocka)
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE
    BW_SOURCE_DIR="${PROJECT_SOURCE_DIR}" BW_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "BW_SHARED_DATA=${BW_SHARED_DATA};BW_DATA=${BW_DATA}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# bw_fuzz(NAME SOURCE file DEPS ...): a libFuzzer target (fuzz_NAME, with BW_FUZZ=ON) and,
# always, a replay test that runs the same LLVMFuzzerTestOneInput over fuzz/corpus/NAME/ so
# ordinary CI (gcc, ASan+UBSan) re-checks every corpus input.
function(bw_fuzz name)
  cmake_parse_arguments(F "" "SOURCE" "DEPS" ${ARGN})
  if(BW_FUZZ)
    add_executable(fuzz_${name} ${F_SOURCE})
    target_link_libraries(fuzz_${name} PRIVATE ${F_DEPS})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endif()
  add_executable(replay_${name} ${F_SOURCE} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
  target_link_libraries(replay_${name} PRIVATE ${F_DEPS})
  add_test(NAME fuzz_replay_${name}
           COMMAND replay_${name} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  set_tests_properties(fuzz_replay_${name} PROPERTIES TIMEOUT 600 LABELS fuzz)
endfunction()

# bw_link_all_modules(target): links target with every module, once all are declared
# (module folders are added in directory order, so this waits for the end of configure).
function(bw_link_all_modules_now target)
  get_property(mods GLOBAL PROPERTY BW_MODULES)
  target_link_libraries(${target} PRIVATE ${mods})
endfunction()
function(bw_link_all_modules target)
  # Deferred arguments are expanded when the call runs, so bake the name in now.
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${PROJECT_SOURCE_DIR}]] CALL bw_link_all_modules_now [[${target}]])")
endfunction()
