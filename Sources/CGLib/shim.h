#ifndef DELTAGEN_CGLIB_SHIM_H
#define DELTAGEN_CGLIB_SHIM_H
#include <glib.h>
#include <gio/gio.h>
#endif
