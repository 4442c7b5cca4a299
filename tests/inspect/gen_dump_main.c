/*
 * gen_dump_main.c - command line wrapper of gen_dump(), used to make the
 * fuzz seed corpus and to look at a synthetic dump by hand:
 *
 *   gen-dump [--neighbours N] [--hostile-text] DAMAGE OUT
 *   gen-dump --list
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_dump.h"

static int usage(void)
{
  fprintf(stderr, "usage: gen-dump [--neighbours N] [--hostile-text] DAMAGE OUT\n"
                  "       gen-dump --list\n");
  return 2;
}

int main(int argc, char **argv)
{
  struct gen_options o = {.neighbours = 2};
  const char *damage = NULL, *out = NULL;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      for (int d = 0; d < GEN_DAMAGE_COUNT; d++)
        puts(gen_damage_name(d));
      return 0;
    } else if (strcmp(argv[i], "--neighbours") == 0 && i + 1 < argc) {
      o.neighbours = (unsigned)atoi(argv[++i]);
    } else if (strcmp(argv[i], "--hostile-text") == 0) {
      o.hostile_text = true;
    } else if (!damage) {
      damage = argv[i];
    } else if (!out) {
      out = argv[i];
    } else {
      return usage();
    }
  }
  if (!damage || !out)
    return usage();
  int d = 0;
  while (d < GEN_DAMAGE_COUNT && strcmp(gen_damage_name(d), damage) != 0)
    d++;
  if (d == GEN_DAMAGE_COUNT) {
    fprintf(stderr, "gen-dump: unknown damage %s (try --list)\n", damage);
    return 2;
  }
  o.damage = d;
  size_t len;
  uint8_t *buf = gen_dump(&o, &len);
  FILE *f = buf ? fopen(out, "wb") : NULL;
  if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
    perror(out);
    return 2;
  }
  free(buf);
  return 0;
}
