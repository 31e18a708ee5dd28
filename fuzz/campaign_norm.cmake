# SPDX-License-Identifier: MIT
# Campaign normalisation, MinHash/index and the persistence loader (src/campaign).
bw_fuzz(campaign_norm SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_campaign_norm.c DEPS bw_campaign)
# The fast path is checked against the general one through the module's internal hook.
target_include_directories(replay_campaign_norm PRIVATE ${PROJECT_SOURCE_DIR}/src/campaign)
if(BW_FUZZ)
  target_include_directories(fuzz_campaign_norm PRIVATE ${PROJECT_SOURCE_DIR}/src/campaign)
endif()
