/*
 * log.h - where heapguard's words go (log.c): reports, leak reports, the
 * exit summary and notes. A leaf: options, text formatting and system
 * calls only.
 */
#ifndef HG_LOG_H
#define HG_LOG_H

#include <stddef.h>

#include "fmt.h"

/* At start-up, after the options: the stream, and a copy of it. */
void hg_log_init(void);

/*
 * log_path's PREFIX.PID (a descriptor above 2), or stderr (2), or stdout
 * (1) with log_path=stdout; hg_log_close closes what was opened.
 */
int hg_log_open(void);
void hg_log_close(int fd);

/*
 * Write text to fd. Programs such as sort close stderr in their exit
 * handlers, before heapguard's exit-time reports: those go to the copy of
 * the stream taken at start-up instead of being lost.
 */
void hg_log_write(int fd, const char *text, size_t len);

/*
 * A note that is not a report (a warning, a statistic): written only when
 * verbosity is at least level, since a program under heapguard prints
 * exactly what it prints without it until a bug is found.
 */
void hg_log_note(unsigned level, const char *text, size_t len);

/* "==PID== heapguard", how every line of heapguard's own but a report opens. */
void hg_log_line_start(struct hg_buf *b);

#endif
