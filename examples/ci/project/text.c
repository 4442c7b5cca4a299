#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *upper_copy(const char *s)
{
  size_t n = strlen(s);
  char *r = malloc(n + 1);
  if (!r)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    r[i] = (char)toupper((unsigned char)s[i]);
  return r;
}

char *join_words(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  char *r = malloc(la + 1 + lb); /* BUG: no room for the terminating NUL */
  if (!r)
    return NULL;
  memcpy(r, a, la);
  r[la] = ' ';
  memcpy(r + la + 1, b, lb + 1);
  return r;
}
