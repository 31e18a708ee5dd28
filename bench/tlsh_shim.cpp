// SPDX-License-Identifier: MIT
// A C face for Debian's libtlsh, which is C++ only (class Tlsh, no C API): just enough for
// bench/campaigns to hash a buffer and compare two hashes. Lives in bench/ only: the
// library never depends on TLSH.
#include <tlsh.h>

#include "tlsh_shim.h"

extern "C" void *tlsh_shim_hash(const unsigned char *data, size_t n)
{
    Tlsh *t = new Tlsh();
    t->update(data, (unsigned int)n);
    t->final();
    if (!t->getHash() || !*t->getHash()) {   // too short or too uniform to hash
        delete t;
        return nullptr;
    }
    return t;
}

extern "C" int tlsh_shim_diff(const void *a, const void *b)
{
    return static_cast<const Tlsh *>(a)->totalDiff(static_cast<const Tlsh *>(b));
}

extern "C" void tlsh_shim_free(void *h)
{
    delete static_cast<Tlsh *>(h);
}
