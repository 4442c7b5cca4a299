/*
 * flush.h - the program's own output, kept when heapguard ends the process.
 *
 * libc writes out stdio buffers at the very end of exit(), after every
 * destructor; abort() and _exit() write out nothing. heapguard ends
 * processes itself: after a report (abort, or exit_code), and at exit
 * after leaks or reports that let the run go on (exit_code, or 23). In
 * both cases what the program printed must reach its pipes and files as
 * it would without heapguard.
 */
#ifndef HG_FLUSH_H
#define HG_FLUSH_H

/*
 * Before a report ends the process: write out stdout's and stderr's
 * buffers, so that the program's output precedes the report. Best effort
 * and never blocking on a lock: a stream another thread is using, or whose
 * FILE lives in the (possibly damaged) heap, is left alone. SIGPIPE is
 * blocked from then on, so that a closed pipe cannot kill the process
 * before it reports.
 */
void hg_flush_before_death(void);

/*
 * From heapguard's exit-time destructor: let exit() go on (the other
 * libraries' destructors, libc writing out every stream) and end the
 * process with status once it is done.
 */
void hg_exit_status_at_end(int status);

#endif
