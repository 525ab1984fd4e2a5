/* The Prometheus text exposition format, version 0.0.4 (what Prometheus, promtool and
 * node_exporter's textfile collector read): the one place where metric lines are written.
 *
 *   # HELP name text          text with '\' and newline escaped
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} 123
 *
 * Label values escape '\', '"' and newline; everything else is copied (the status JSON's
 * strings are valid UTF-8, as the format requires). Metric and label names are the caller's
 * literals. A family's samples must follow its HELP and TYPE lines without another family in
 * between: callers write one family at a time. */
#ifndef METRICS_PROM_TEXT_H
#define METRICS_PROM_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A label list: pairs of name and value, ended by a NULL name. */
struct prom_label {
    const char *name;
    const char *value;
};

/* The HELP and TYPE lines of a family. */
void prom_family(FILE *out, const char *name, const char *type, const char *help);

/* One sample of family name (suffix appended for a histogram's _bucket, _sum, _count; "" or
 * NULL otherwise); labels may be NULL. */
void prom_sample_u64(FILE *out, const char *name, const char *suffix,
                     const struct prom_label *labels, uint64_t value);
void prom_sample_double(FILE *out, const char *name, const char *suffix,
                        const struct prom_label *labels, double value);

/* A finite double as the format writes it (also in "le" labels): the shortest of %.15g and
 * %.17g that reads back exactly. Returns buf. */
const char *prom_format_double(double v, char *buf, size_t len);

/* Writes s as a label value would be escaped (without the quotes); exposed for the tests. */
void prom_write_label_value(FILE *out, const char *s);

#endif
