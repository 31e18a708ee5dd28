# SPDX-License-Identifier: MIT
bw_fuzz(pcap SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_pcap.c DEPS bw_flows)
