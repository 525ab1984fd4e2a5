/* Texts in fixed buffers (see text.h). */
#include "vpn/text.h"

#include <stdarg.h>
#include <stdio.h>

bool text_append(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *len) {
        out[*len] = '\0';
        return false;
    }
    *len += (size_t)k;
    return true;
}
