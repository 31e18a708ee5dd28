# SPDX-License-Identifier: MIT
# The ip-location-db ASN CSV loader (src/networks/asn_csv.c).
bw_fuzz(asn_csv SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_asn_csv.c DEPS bw_networks)
