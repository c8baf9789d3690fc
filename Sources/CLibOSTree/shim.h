#ifndef DELTAGEN_CLIBOSTREE_SHIM_H
#define DELTAGEN_CLIBOSTREE_SHIM_H
#include <glib.h>
#include <gio/gio.h>
#include <ostree.h>
#endif
