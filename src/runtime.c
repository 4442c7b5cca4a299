/*
 * runtime.c - the process-wide state of runtime.h.
 */
#include "runtime.h"

struct hg_key hg_key;
uint64_t hg_secret[2];
bool hg_ready;
bool hg_alloc_extras;
HG_TLS bool hg_tls_reentered;
