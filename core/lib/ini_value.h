/* The value types of the schema engine (ini_schema.h): one parser and one "expected ..."
 * message per enum key_type. Private to core/lib: the engine is their only caller. */
#ifndef CORE_LIB_INI_VALUE_H
#define CORE_LIB_INI_VALUE_H

#include <stddef.h>

#include "vpn/ini_schema.h"

/* Parses value by at->key's type and stores it at at->obj + off (a setter for KEY_CUSTOM).
 * value is trimmed, and empty only for KEY_EMPTY_OK keys. Returns 0 or -1 with *err. */
int ini_value_store(const struct ini_at *at, const char *value, struct config_error *err)
    __attribute__((warn_unused_result));

/* Joins a relative path to dir ("" = as given); an absolute or empty one is kept. Returns 0,
 * or -1 when it does not fit len. */
int ini_value_resolve_path(const char *dir, const char *value, char *out, size_t len)
    __attribute__((warn_unused_result));

#endif
