/*
 * heapguard-inspect.c - command line front end of the dump inspector.
 *
 *   heapguard-inspect [--json] [--html FILE] DUMP
 *   heapguard-inspect --version
 *
 * Owns argument handling and reading the file with a bounded size; all
 * interpretation is hgi_inspect() on the bytes read, the same function
 * the fuzzer drives. Exit status: 0 parsed and no damage found, 1 parsed
 * and damage found, 2 the dump could not be read or parsed (or usage).
 */
#include "inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heapguard.h"

static int usage(FILE *f)
{
  fprintf(f, "usage: heapguard-inspect [--json] [--html FILE] DUMP\n"
             "       heapguard-inspect --version\n"
             "  Verify and explain a heapguard forensic dump.\n"
             "  --json       print one JSON object instead of text\n"
             "  --html FILE  also write a self-contained HTML page to FILE\n"
             "  --version    print the version (that of the library it belongs to)\n"
             "  -h, --help   show this help\n"
             "exit status: 0 no damage found, 1 damage found, 2 unreadable "
             "or malformed dump\n"
             "See heapguard-inspect(1).\n");
  return HGI_EXIT_ERROR;
}

/*
 * Read at most HGI_MAX_DUMP_BYTES; the size is not taken from fstat alone
 * because the file may be a pipe or may grow while it is read.
 */
static uint8_t *read_bounded(const char *path, size_t *len, FILE *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(err, "heapguard-inspect: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(err, "heapguard-inspect: %s: is a directory\n", path);
    close(fd);
    return NULL;
  }
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (uint64_t)st.st_size > HGI_MAX_DUMP_BYTES) {
    fprintf(err, "heapguard-inspect: %s: %llu bytes, larger than the %zu-byte "
                 "limit for a dump\n",
            path, (unsigned long long)st.st_size, HGI_MAX_DUMP_BYTES);
    close(fd);
    return NULL;
  }
  /* One byte past the limit is room enough to tell "too large". */
  const size_t limit = HGI_MAX_DUMP_BYTES + 1;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    if (n == cap) {
      if (cap == limit) {
        fprintf(err, "heapguard-inspect: %s: larger than the %zu-byte limit "
                     "for a dump\n",
                path, HGI_MAX_DUMP_BYTES);
        goto fail;
      }
      size_t ncap = cap * 2 < limit ? cap * 2 : limit;
      uint8_t *nb = realloc(buf, ncap);
      if (!nb)
        break;
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      fprintf(err, "heapguard-inspect: %s: %s\n", path, strerror(errno));
      goto fail;
    }
    if (r == 0) {
      close(fd);
      *len = n;
      return buf;
    }
    n += (size_t)r;
  }
  fprintf(err, "heapguard-inspect: %s: out of memory\n", path);
fail:
  free(buf);
  close(fd);
  return NULL;
}

int main(int argc, char **argv)
{
  struct hgi_options o = {0};
  const char *html_path = NULL, *path = NULL;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      o.json = true;
    else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc)
      html_path = argv[++i];
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return usage(stdout), 0;
    else if (strcmp(argv[i], "--version") == 0)
      return printf("heapguard-inspect %s\n", HEAPGUARD_VERSION_STRING), 0;
    else if (strcmp(argv[i], "--") == 0 && i + 2 == argc && !path)
      path = argv[++i];
    else if (argv[i][0] == '-' && argv[i][1])
      return usage(stderr);
    else if (!path)
      path = argv[i];
    else
      return usage(stderr);
  }
  if (!path)
    return usage(stderr);

  size_t len;
  uint8_t *buf = read_bounded(path, &len, stderr);
  if (!buf)
    return HGI_EXIT_ERROR;
  if (html_path) {
    o.html = fopen(html_path, "w");
    if (!o.html) {
      fprintf(stderr, "heapguard-inspect: %s: %s\n", html_path,
              strerror(errno));
      free(buf);
      return HGI_EXIT_ERROR;
    }
  }
  o.name = path;
  int status = hgi_inspect(buf, len, &o, stdout, stderr);
  free(buf);
  if (o.html && fclose(o.html) != 0) {
    fprintf(stderr, "heapguard-inspect: %s: write failed\n", html_path);
    status = HGI_EXIT_ERROR;
  }
  /* Leave no half-written or empty page behind a failed parse. */
  if (html_path && status == HGI_EXIT_ERROR)
    unlink(html_path);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "heapguard-inspect: writing output failed\n");
    status = HGI_EXIT_ERROR;
  }
  return status;
}
