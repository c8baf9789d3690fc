#ifndef DELTAGEN_CLZMA_SHIM_H
#define DELTAGEN_CLZMA_SHIM_H
#include <lzma.h>
#endif
