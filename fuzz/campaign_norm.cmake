# SPDX-License-Identifier: MIT
# Campaign normalisation, MinHash/index and the persistence loader (src/campaign).
bw_fuzz(campaign_norm SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_campaign_norm.c DEPS bw_campaign)
