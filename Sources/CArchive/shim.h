#ifndef DELTAGEN_CARCHIVE_SHIM_H
#define DELTAGEN_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
