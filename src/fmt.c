/*
 * fmt.c - the appenders behind every report line.
 */
#include "fmt.h"

#include <stdbool.h>

void hg_buf_mem(struct hg_buf *b, const char *s, size_t n)
{
  for (size_t i = 0; i < n && b->len < b->cap; i++)
    b->p[b->len++] = s[i];
}

void hg_buf_str(struct hg_buf *b, const char *s)
{
  hg_buf_mem(b, s, hg_strlen(s));
}

void hg_buf_char(struct hg_buf *b, char c)
{
  hg_buf_mem(b, &c, 1);
}

void hg_buf_dec(struct hg_buf *b, uint64_t v)
{
  char tmp[20];
  size_t n = 0;
  do {
    tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  hg_buf_mem(b, tmp + sizeof tmp - n, n);
}

void hg_buf_sdec(struct hg_buf *b, int64_t v)
{
  if (v < 0)
    hg_buf_char(b, '-');
  hg_buf_dec(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

static const char hex_digits[] = "0123456789abcdef";

void hg_buf_hex(struct hg_buf *b, uint64_t v)
{
  char tmp[16];
  size_t n = 0;
  do {
    tmp[sizeof tmp - ++n] = hex_digits[v & 0xf];
    v >>= 4;
  } while (v);
  hg_buf_str(b, "0x");
  hg_buf_mem(b, tmp + sizeof tmp - n, n);
}

void hg_buf_hex_byte(struct hg_buf *b, uint8_t v)
{
  char two[2] = { hex_digits[v >> 4], hex_digits[v & 0xf] };
  hg_buf_mem(b, two, 2);
}

size_t hg_strlen(const char *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

int hg_strncmp(const char *a, const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i])
      return (unsigned char)a[i] - (unsigned char)b[i];
    if (!a[i])
      return 0;
  }
  return 0;
}

void hg_strlcpy(char *dst, const char *src, size_t cap)
{
  size_t i = 0;
  for (; i + 1 < cap && src[i]; i++)
    dst[i] = src[i];
  if (cap)
    dst[i] = 0;
}

/* ---- JSON, for report_format=json ---- */

void hg_json_str(struct hg_buf *out, const char *s)
{
  hg_buf_char(out, '"');
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      hg_buf_char(out, '\\');
      hg_buf_char(out, (char)c);
    } else if (c < 0x20) {
      hg_buf_str(out, "\\u00");
      hg_buf_hex_byte(out, c);
    } else {
      hg_buf_char(out, (char)c);
    }
  }
  hg_buf_char(out, '"');
}

void hg_json_key(struct hg_buf *out, const char *key)
{
  if (out->len && out->p[out->len - 1] != '{' && out->p[out->len - 1] != '[')
    hg_buf_char(out, ',');
  hg_json_str(out, key);
  hg_buf_char(out, ':');
}

void hg_json_hex(struct hg_buf *out, const char *key, uint64_t v)
{
  hg_json_key(out, key);
  hg_buf_char(out, '"');
  hg_buf_hex(out, v);
  hg_buf_char(out, '"');
}

void hg_json_dec(struct hg_buf *out, const char *key, uint64_t v)
{
  hg_json_key(out, key);
  hg_buf_dec(out, v);
}
