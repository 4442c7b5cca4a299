/*
 * fmt.h - bounded text building without stdio.
 *
 * Reports are composed into a caller's buffer with these appenders and
 * written with one write(2): no allocation, no locks, async-signal-safe.
 * Output past the capacity is dropped, never overflowed.
 */
#ifndef HG_FMT_H
#define HG_FMT_H

#include <stddef.h>
#include <stdint.h>

struct hg_buf {
  char *p;
  size_t len;
  size_t cap;
};

#define HG_BUF(storage) ((struct hg_buf){ (storage), 0, sizeof(storage) })

void hg_buf_str(struct hg_buf *b, const char *s);
void hg_buf_mem(struct hg_buf *b, const char *s, size_t n);
void hg_buf_char(struct hg_buf *b, char c);
void hg_buf_dec(struct hg_buf *b, uint64_t v);
void hg_buf_sdec(struct hg_buf *b, int64_t v);    /* with a '-' when negative */
void hg_buf_hex(struct hg_buf *b, uint64_t v);      /* 0x-prefixed */
void hg_buf_hex_byte(struct hg_buf *b, uint8_t v);  /* two digits */

/* JSON: a quoted, escaped string; a key (with the comma before it when one
 * is due); and members holding a hex string or a decimal number. */
void hg_json_str(struct hg_buf *b, const char *s);
void hg_json_key(struct hg_buf *b, const char *key);
void hg_json_hex(struct hg_buf *b, const char *key, uint64_t v);
void hg_json_dec(struct hg_buf *b, const char *key, uint64_t v);

size_t hg_strlen(const char *s);
int hg_strncmp(const char *a, const char *b, size_t n);
/* Copy at most cap-1 bytes and terminate. */
void hg_strlcpy(char *dst, const char *src, size_t cap);

#endif
