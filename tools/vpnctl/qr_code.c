/* QR codes on a terminal and in a PNG (see qr_code.h). */
#include "qr_code.h"

#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int qr_encode(const char *text, struct qr_modules *m)
{
    memset(m, 0, sizeof(*m));
    /* Case-sensitive with the 8-bit hint: keys are base64, which numeric and alphanumeric
     * modes (digits, upper case) cannot hold; libqrencode still uses them for runs that fit. */
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (!qr)
        return -1;
    size_t n = (size_t)qr->width * (size_t)qr->width;
    m->dark = malloc(n);
    if (m->dark) {
        m->width = qr->width;
        for (size_t i = 0; i < n; i++)
            m->dark[i] = qr->data[i] & 1;
    }
    sodium_memzero(qr->data, n);
    QRcode_free(qr);
    return m->dark ? 0 : -1;
}

void qr_release(struct qr_modules *m)
{
    if (m->dark) {
        sodium_memzero(m->dark, (size_t)m->width * (size_t)m->width);
        free(m->dark);
    }
    memset(m, 0, sizeof(*m));
}

/* Whether the module at (x, y) of the code with its quiet zone is dark. */
static bool dark_at(const struct qr_modules *m, int x, int y)
{
    x -= QR_QUIET;
    y -= QR_QUIET;
    return x >= 0 && y >= 0 && x < m->width && y < m->width && m->dark[y * m->width + x];
}

static const char LINE_START[] = "\033[30;107m", LINE_END[] = "\033[0m\n";

size_t qr_terminal_size(const struct qr_modules *m)
{
    size_t side = (size_t)m->width + 2 * QR_QUIET, lines = (side + 1) / 2;
    /* Each block character is 3 bytes of UTF-8. */
    return lines * (sizeof(LINE_START) - 1 + 3 * side + sizeof(LINE_END) - 1) + 1;
}

size_t qr_terminal_render(const struct qr_modules *m, char *out, size_t cap)
{
    /* By (top dark) | (bottom dark) << 1: nothing, upper half, lower half, full block. */
    static const char *const cell[4] = { " ", "\u2580", "\u2584", "\u2588" };
    int side = m->width + 2 * QR_QUIET;
    size_t at = 0;
    if (cap < qr_terminal_size(m))
        return 0;
    for (int y = 0; y < side; y += 2) {
        memcpy(out + at, LINE_START, sizeof(LINE_START) - 1);
        at += sizeof(LINE_START) - 1;
        for (int x = 0; x < side; x++) {
            /* An odd side leaves the last line's bottom half outside the code: light. */
            const char *c = cell[dark_at(m, x, y) | dark_at(m, x, y + 1) << 1];
            size_t n = strlen(c);
            memcpy(out + at, c, n);
            at += n;
        }
        memcpy(out + at, LINE_END, sizeof(LINE_END) - 1);
        at += sizeof(LINE_END) - 1;
    }
    out[at] = '\0';
    return at;
}

/* libpng's output, gathered in memory; grown by copies, so that no part of the image is left
 * behind in freed memory (realloc would). */
struct png_buffer {
    uint8_t *buf;
    size_t len, cap;
};

static void png_buffer_write(png_structp png, png_bytep data, png_size_t n)
{
    struct png_buffer *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = malloc(cap);
        if (!grown)
            png_error(png, "out of memory");
        if (b->len)
            memcpy(grown, b->buf, b->len);
        if (b->buf) {
            sodium_memzero(b->buf, b->len);
            free(b->buf);
        }
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
}

static void png_buffer_flush(png_structp png)
{
}

/* The image, row by row; libpng's errors come back through write_png's setjmp. */
static void write_rows(png_structp png, png_infop info, const struct qr_modules *m,
                       unsigned scale, uint8_t *row)
{
    unsigned side = ((unsigned)m->width + 2 * QR_QUIET) * scale;
    png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned y = 0; y < side; y++) {
        for (unsigned x = 0; x < side; x++)
            row[x] = dark_at(m, (int)(x / scale), (int)(y / scale)) ? 0 : 255;
        png_write_row(png, row);
    }
    png_write_end(png, info);
}

/* Kept apart from write_rows so that nothing of this frame changes between setjmp and a
 * longjmp back to it. */
static int write_png(png_structp png, png_infop info, const struct qr_modules *m,
                     unsigned scale, uint8_t *row, struct png_buffer *b)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, b, png_buffer_write, png_buffer_flush);
    write_rows(png, info, m, scale, row);
    return 0;
}

int qr_png_render(const struct qr_modules *m, unsigned scale, uint8_t **png, size_t *len)
{
    size_t side = ((size_t)m->width + 2 * QR_QUIET) * scale;
    struct png_buffer b = { NULL, 0, 0 };
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    uint8_t *row = malloc(side);
    int rc = p && info && row ? write_png(p, info, m, scale, row, &b) : -1;
    png_destroy_write_struct(p ? &p : NULL, info ? &info : NULL);
    if (row) {
        sodium_memzero(row, side);
        free(row);
    }
    if (rc != 0) {
        if (b.buf) {
            sodium_memzero(b.buf, b.len);
            free(b.buf);
        }
        return -1;
    }
    *png = b.buf;
    *len = b.len;
    return 0;
}
