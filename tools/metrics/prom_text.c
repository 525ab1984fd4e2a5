/* Prometheus text format (see prom_text.h). */
#include "prom_text.h"

#include <math.h>
#include <stdlib.h>

/* HELP text: '\' and newline escaped; a label value also escapes '"'. */
static void write_escaped(FILE *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (*s == quote)
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

void prom_write_label_value(FILE *out, const char *s)
{
    write_escaped(out, s, '"');
}

void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s ", name);
    write_escaped(out, help, 0);
    fprintf(out, "\n# TYPE %s %s\n", name, type);
}

static void write_series(FILE *out, const char *name, const char *suffix,
                         const struct prom_label *labels)
{
    fputs(name, out);
    if (suffix)
        fputs(suffix, out);
    if (!labels || !labels[0].name)
        return;
    fputc('{', out);
    for (const struct prom_label *l = labels; l->name; l++) {
        fprintf(out, "%s%s=\"", l == labels ? "" : ",", l->name);
        prom_write_label_value(out, l->value ? l->value : "");
        fputc('"', out);
    }
    fputc('}', out);
}

void prom_sample_u64(FILE *out, const char *name, const char *suffix,
                     const struct prom_label *labels, uint64_t value)
{
    write_series(out, name, suffix, labels);
    fprintf(out, " %llu\n", (unsigned long long)value);
}

void prom_sample_double(FILE *out, const char *name, const char *suffix,
                        const struct prom_label *labels, double value)
{
    char buf[32];
    write_series(out, name, suffix, labels);
    if (isnan(value))
        fputs(" NaN\n", out);
    else if (isinf(value))
        fputs(value > 0 ? " +Inf\n" : " -Inf\n", out);
    else
        fprintf(out, " %s\n", prom_format_double(value, buf, sizeof(buf)));
}

const char *prom_format_double(double v, char *buf, size_t len)
{
    /* The shortest of 15 or 17 digits that reads back as v: 0.1 stays "0.1". */
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
    return buf;
}
