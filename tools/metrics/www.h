/* The status page's files, compiled into vpn-metrics (embed.sh makes the table from
 * tools/metrics/www/ at build time). */
#ifndef METRICS_WWW_H
#define METRICS_WWW_H

#include <stddef.h>

struct www_file {
    const char *path;           /* "/index.html", "/status.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

extern const struct www_file www_files[];
extern const int www_files_count;

/* The file served at url ("/" is "/index.html"), or NULL. */
const struct www_file *www_find(const char *url);

#endif
