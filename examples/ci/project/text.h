#ifndef TEXT_H
#define TEXT_H

/* A copy of s in upper case; free() it. */
char *upper_copy(const char *s);

/* "a b" in a new string; free() it. */
char *join_words(const char *a, const char *b);

#endif
