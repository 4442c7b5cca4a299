/*
 * fault.h - the SIGSEGV/SIGBUS handler: a fault on heapguard's memory
 * becomes a report.
 *
 * Heapguard memory faults on purpose: guard pages around every segment,
 * read-only segment metadata, guard mode's inaccessible slots. The handler
 * asks the heap (hg_heap_fault) whether the faulting address is one of
 * those, and reports it with the faulting access, READ or WRITE, and the
 * backtrace from the faulting instruction. Any other fault goes to the
 * handler that was installed before, or to the default action.
 */
#ifndef HG_FAULT_H
#define HG_FAULT_H

/* At start-up: install the handler for SIGSEGV and SIGBUS. */
void hg_fault_init(void);

#endif
