/*
 * options.h - run-time options, parsed once from HEAPGUARD_OPTIONS.
 *
 * The syntax is the sanitizers': key=value pairs separated by ':'.
 * Booleans take 0/1/true/false/yes/no; integers are decimal, or
 * hexadecimal after 0x. An unknown key or a bad value stops
 * the program at start-up with a message naming it.
 */
#ifndef HG_OPTIONS_H
#define HG_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "fmt.h"

#define HG_OPTION_STRING_MAX 256

struct hg_options {
#define HG_OPTION_BOOL(name, def, help) bool name;
#define HG_OPTION_UINT(name, def, lo, hi, help) uint64_t name;
#define HG_OPTION_STRING(name, def, help) char name[HG_OPTION_STRING_MAX];
#define HG_OPTION_CHOICE(name, def, words, help) unsigned name;
#include "options.inc"
#undef HG_OPTION_BOOL
#undef HG_OPTION_UINT
#undef HG_OPTION_STRING
#undef HG_OPTION_CHOICE
};

extern struct hg_options hg_options;

/* Values of the choice options, in the order their words are listed. */
enum { HG_REPORT_TEXT, HG_REPORT_JSON };
enum { HG_GUARD_OFF, HG_GUARD_ALL, HG_GUARD_SAMPLE };
/* guard_alignment's words are the powers of two: the value is a shift. */
#define HG_GUARD_ALIGNMENT(o) ((size_t)1 << (o).guard_alignment)

void hg_options_set_defaults(struct hg_options *o);

/*
 * Parse text into o (which holds the defaults). On failure returns false
 * and describes the first bad option in err.
 */
bool hg_options_parse(struct hg_options *o, const char *text,
                      struct hg_buf *err);

/*
 * Append the option table, one option a line, to out: "  name=VALUE  help",
 * VALUE the default, or (values not NULL) the value there followed by
 * "(default D)" where it differs.
 */
void hg_options_describe(struct hg_buf *out, const struct hg_options *values);

/* The options whose values differ from the defaults, as "name=value:...". */
void hg_options_changed(struct hg_buf *out, const struct hg_options *values);

/*
 * Set hg_options: the defaults, then what the program's
 * __heapguard_default_options() returns (heapguard.h), then
 * HEAPGUARD_OPTIONS, a later value winning; exits the process on an error.
 */
void hg_options_load(void);

#endif
