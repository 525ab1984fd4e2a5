/* QR codes of a wg-quick configuration, for the WireGuard apps' "scan from QR code": encoded
 * by libqrencode (Debian's libqrencode4; byte mode, error correction level L, the smallest
 * version that holds the text, as `qrencode` makes them), drawn on a terminal with UTF-8 half
 * blocks (two rows of modules per line of text) or as a PNG by libpng. Both keep the quiet
 * zone of four light modules around the code that ISO/IEC 18004 asks for: scanners look for
 * it. The text holds a private key: every buffer here is erased before it is freed, except
 * libqrencode's and libpng's working memory, which their APIs do not let us reach. */
#ifndef VPNCTL_QR_CODE_H
#define VPNCTL_QR_CODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    QR_QUIET = 4,       /* modules of the quiet zone on each side */
    QR_PNG_SCALE = 8,   /* pixels per module in a PNG: about 600 px for a configuration */
};

/* The code's modules, row by row: dark[y * width + x] is 1 for a dark module. */
struct qr_modules {
    int width;
    uint8_t *dark;
};

/* Encodes text. Returns 0, or -1 (too long for any QR code, out of memory). */
int qr_encode(const char *text, struct qr_modules *m) __attribute__((warn_unused_result));
/* Erases and frees the modules. */
void qr_release(struct qr_modules *m);

/* Bytes qr_terminal_render may need, its NUL included. */
size_t qr_terminal_size(const struct qr_modules *m);

/* The code for a terminal into out (cap >= qr_terminal_size): each line starts by selecting
 * black on bright white (ANSI SGR 30;107, so that the code reads the same on a dark or a
 * light terminal) and ends by resetting it; each character is two modules, top and bottom
 * ("█" both dark, "▀" the top, "▄" the bottom, " " neither). Returns the length. */
size_t qr_terminal_render(const struct qr_modules *m, char *out, size_t cap);

/* The code as an 8-bit grayscale PNG in memory, scale pixels per module (dark 0, light 255).
 * Returns 0 with *png (malloc'd: erase and free it) and *len, or -1. */
int qr_png_render(const struct qr_modules *m, unsigned scale, uint8_t **png, size_t *len)
    __attribute__((warn_unused_result));

#endif
