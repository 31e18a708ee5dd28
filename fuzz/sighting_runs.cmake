# SPDX-License-Identifier: MIT
# The botnet step's sighting_runs blobs (src/ingest/botnets.c): read back from the store,
# where a damaged or foreign file may hold anything.
bw_fuzz(sighting_runs SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_sighting_runs.c DEPS bw_ingest)
target_include_directories(replay_sighting_runs PRIVATE ${PROJECT_SOURCE_DIR}/src/ingest)
if(BW_FUZZ)
  target_include_directories(fuzz_sighting_runs PRIVATE ${PROJECT_SOURCE_DIR}/src/ingest)
endif()
