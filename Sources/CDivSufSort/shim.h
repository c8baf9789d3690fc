#ifndef DELTAGEN_CDIVSUFSORT_SHIM_H
#define DELTAGEN_CDIVSUFSORT_SHIM_H
/* 32-bit suffix arrays for files under 2 GiB, 64-bit ones above. */
#include <divsufsort.h>
#include <divsufsort64.h>
#endif
