/*
 * test_stackdepot.c - the stack depot on its own: each distinct stack
 * stored once under one id, through the growth of its index, ids of
 * other threads kept apart, and the memo in front of it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>

#include "stackdepot.h"

bool hg_backtrace_is_own(uintptr_t ip)
{
  (void)ip;
  return false;
}

/* Not a stack: a capture from here is its caller's return address alone. */
static uintptr_t not_a_stack[16];

static struct hg_caller caller_at(uintptr_t ra)
{
  not_a_stack[0] = ra;
  return (struct hg_caller){ (uintptr_t)&not_a_stack[1], 0 };
}

#define STACKS 20000u

static uint32_t ids[STACKS];

static void each_stack_is_stored_once(void **state)
{
  (void)state;
  for (uintptr_t i = 0; i < STACKS; i++) {
    ids[i] = hg_stack_capture(caller_at(0x1000 + i * 16));
    assert_int_not_equal(ids[i], 0);
  }
  for (uintptr_t i = 0; i < STACKS; i++) {
    assert_int_equal(hg_stack_capture(caller_at(0x1000 + i * 16)), ids[i]);
    size_t n;
    uint32_t tid;
    const uintptr_t *ip = hg_stack_get(ids[i], &n, &tid);
    assert_non_null(ip);
    assert_int_equal(n, 1);
    assert_int_equal(ip[0], 0x1000 + i * 16);
    if (i > 0)
      assert_int_not_equal(ids[i], ids[i - 1]);
  }
}

static void unknown_ids_give_nothing(void **state)
{
  (void)state;
  size_t n = 99;
  uint32_t tid;
  assert_null(hg_stack_get(0, &n, &tid));
  assert_int_equal(n, 0);
  assert_null(hg_stack_get(UINT32_MAX, &n, &tid));
  assert_int_equal(n, 0);
}

static void *capture_in_thread(void *arg)
{
  *(uint32_t *)arg = hg_stack_capture(caller_at(0x1000));
  return NULL;
}

/* A stack names its thread: the same frames in another thread are another stack. */
static void threads_get_their_own_ids(void **state)
{
  (void)state;
  uint32_t here = hg_stack_capture(caller_at(0x1000)), there = 0;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, capture_in_thread, &there), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_not_equal(there, 0);
  assert_int_not_equal(here, there);
  size_t n;
  uint32_t tid_here, tid_there;
  assert_non_null(hg_stack_get(here, &n, &tid_here));
  assert_non_null(hg_stack_get(there, &n, &tid_there));
  assert_int_not_equal(tid_here, tid_there);
}

/* Captures from a real stack, twice from one site: the second one is the memo's. */
static __attribute__((noinline)) uint32_t capture_here(void)
{
  uint32_t id = hg_stack_capture(HG_CALLER);
  __asm__ volatile("" ::: "memory");
  return id;
}

static void a_repeated_capture_gives_the_same_id(void **state)
{
  (void)state;
  uint32_t first = 0;
  /* A volatile count: the loop is not unrolled into three call sites. */
  for (volatile int i = 0; i < 3; i++) {
    uint32_t id = capture_here();
    assert_int_not_equal(id, 0);
    if (i == 0)
      first = id;
    assert_int_equal(id, first);
  }
  size_t n;
  uint32_t tid;
  assert_non_null(hg_stack_get(first, &n, &tid));
  assert_true(n >= 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(each_stack_is_stored_once),
    cmocka_unit_test(unknown_ids_give_nothing),
    cmocka_unit_test(threads_get_their_own_ids),
    cmocka_unit_test(a_repeated_capture_gives_the_same_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
