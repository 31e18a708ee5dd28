// SPDX-License-Identifier: MIT
// Hashing. Tables keyed by attacker-controlled data use keyed SipHash-2-4 with a random or
// stored key (CONVENTIONS 9); message identity uses SHA-256 of the message bytes (OpenSSL,
// with SHA-NI where the CPU has it), printed as lowercase hex.
#ifndef BOTWATCH_HASH_H
#define BOTWATCH_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct bw_hash_key {
    uint64_t k0, k1;
} bw_hash_key;

// Fills key from the OS random source. Returns 0, or -1 if none could be read.
int bw_hash_key_random(bw_hash_key *key);
uint64_t bw_siphash(const bw_hash_key *key, const void *data, size_t n);
// SipHash-1-3: the same keyed hash with fewer rounds (the variant Rust's HashMap and
// CPython's string hash use for hash tables), for the hottest tables (URL de-duplication).
uint64_t bw_siphash13(const bw_hash_key *key, const void *data, size_t n);

#define BW_SHA256_LEN 32
#define BW_SHA256_HEX_LEN 64
void bw_sha256(const void *data, size_t n, uint8_t out[BW_SHA256_LEN]);
// Writes 64 hex digits and a NUL into hex (65 bytes).
void bw_hex(const uint8_t *bytes, size_t n, char *hex);

#endif
