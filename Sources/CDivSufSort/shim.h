#ifndef DELTAGEN_CDIVSUFSORT_SHIM_H
#define DELTAGEN_CDIVSUFSORT_SHIM_H
/* 64-bit suffix arrays, so bsdiff inputs are not limited to 2 GiB. */
#include <divsufsort64.h>
#endif
