/*
 * test_stackdepot.c - the stack depot on its own: each distinct stack
 * stored once under one id, through the growth of its index, ids of
 * other threads kept apart, the memo in front of it, the look at the
 * record after the last one stored, and records packed as differences
 * where frames allow and read back as they were stored.
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
    uintptr_t ip[HG_STACK_FRAMES];
    size_t n;
    uint32_t tid;
    assert_true(hg_stack_get(ids[i], ip, &n, &tid));
    assert_int_equal(n, 1);
    assert_int_equal(ip[0], 0x1000 + i * 16);
    if (i > 0)
      assert_int_not_equal(ids[i], ids[i - 1]);
  }
}

static void unknown_ids_give_nothing(void **state)
{
  (void)state;
  uintptr_t ip[HG_STACK_FRAMES];
  size_t n = 99;
  uint32_t tid;
  assert_false(hg_stack_get(0, ip, &n, &tid));
  assert_int_equal(n, 0);
  assert_false(hg_stack_get(UINT32_MAX, ip, &n, &tid));
  assert_int_equal(n, 0);
}

static void *capture_in_thread(void *arg)
{
  *(uint32_t *)arg = hg_stack_capture(caller_at(0x1000));
  return NULL;
}

/* Two ids of the same frames stored by two threads: two records, each naming its thread. */
static void expect_threads_apart(uint32_t here, uint32_t there)
{
  assert_int_not_equal(there, 0);
  assert_int_not_equal(here, there);
  uintptr_t ip[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid_here, tid_there;
  assert_true(hg_stack_get(here, ip, &n, &tid_here));
  assert_true(hg_stack_get(there, ip, &n, &tid_there));
  assert_int_not_equal(tid_here, tid_there);
}

/* A stack names its thread: the same frames in another thread are another stack. */
static void threads_get_their_own_ids(void **state)
{
  (void)state;
  uint32_t here = hg_stack_capture(caller_at(0x1000)), there = 0;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, capture_in_thread, &there), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  expect_threads_apart(here, there);
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
  uintptr_t ip[HG_STACK_FRAMES];
  size_t n;
  uint32_t tid;
  assert_true(hg_stack_get(first, ip, &n, &tid));
  assert_true(n >= 2);
}

/* Store frames and read them back: the same frames, the same id again. */
static uint32_t round_trip(const uintptr_t *frames, size_t n)
{
  uint32_t id = hg_stack_store(frames, n);
  assert_int_not_equal(id, 0);
  assert_int_equal(hg_stack_store(frames, n), id);
  uintptr_t back[HG_STACK_FRAMES];
  size_t got;
  uint32_t tid;
  assert_true(hg_stack_get(id, back, &got, &tid));
  size_t kept = n < HG_STACK_FRAMES ? n : HG_STACK_FRAMES;
  assert_int_equal(got, kept);
  assert_memory_equal(back, frames, kept * sizeof *frames);
  return id;
}

/*
 * Frames within 2 GiB of the one before are kept as differences, the
 * others whole; either way they come back as they were, and frames that
 * differ only where one form gives way to the other are other stacks.
 */
static void stored_stacks_come_back_whole_packed_or_not(void **state)
{
  (void)state;
  const uintptr_t near[HG_STACK_FRAMES] = { 0x555555601234, 0x555555600010, 0x555555700000,
                                            0x5555556fffff, 0x555555400000, 0x555555401000,
                                            0x555555401008, 0x555555401001 };
  const uintptr_t far[HG_STACK_FRAMES] = { 0x555555601234, 0x7f00aabb0010, 0x555555700000,
                                           0x7f00aabb1000, 0x7f00aabb0000, 0x555555401000,
                                           0x1000, 0xffffffffff600000 };
  const uintptr_t edge[3] = { 0x7f0000000000, 0x7f0000000000 + 0x7fffffff,
                              0x7f0000000000 + 0x7fffffff - 0x80000000 };
  const uintptr_t past_edge[3] = { 0x7f0000000000, 0x7f0000000000 + 0x80000000,
                                   0x7f0000000000 };
  const uintptr_t nine[HG_STACK_FRAMES + 1] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  uint32_t ids[] = { round_trip(near, HG_STACK_FRAMES), round_trip(far, HG_STACK_FRAMES),
                     round_trip(edge, 3), round_trip(past_edge, 3),
                     round_trip(near, 3), round_trip(nine, HG_STACK_FRAMES + 1),
                     round_trip(near, 0) };
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
    for (size_t j = 0; j < i; j++)
      assert_int_not_equal(ids[i], ids[j]);
  assert_int_equal(round_trip(nine, HG_STACK_FRAMES), ids[5]);
}

/*
 * Eight frames of one module take 44 bytes, not 72: the next id is 11
 * words on; four that go into another module and back take two words
 * for each frame stored whole and one for the other (9 words).
 */
static void packed_stacks_take_a_word_a_frame(void **state)
{
  (void)state;
  uintptr_t frames[HG_STACK_FRAMES];
  for (size_t i = 0; i < HG_STACK_FRAMES; i++)
    frames[i] = 0x555555600000 + i * 0x40 + 0x1234567;
  uint32_t first = round_trip(frames, HG_STACK_FRAMES);
  frames[HG_STACK_FRAMES - 1] += 8;
  assert_int_equal(round_trip(frames, HG_STACK_FRAMES), first + 11);
  uintptr_t mixed[4] = { 0x555555601000, 0x7f00aabb0010, 0x7f00aabb2000, 0x555555601100 };
  uint32_t crossing = round_trip(mixed, 4);
  mixed[3] += 8;
  assert_int_equal(round_trip(mixed, 4), crossing + 9);
}

/* The frames of the record named id, as hg_stack_get gives them back. */
static void expect_stack(uint32_t id, const uintptr_t *frames, size_t n)
{
  uintptr_t back[HG_STACK_FRAMES];
  size_t got;
  uint32_t tid;
  assert_true(hg_stack_get(id, back, &got, &tid));
  assert_int_equal(got, n);
  assert_memory_equal(back, frames, n * sizeof *frames);
}

/*
 * A store looks first at the record after the one the thread's last
 * store gave: taken only when it holds the same frames, all of them,
 * and as many.
 */
static void the_record_after_the_last_one_is_taken_only_when_it_matches(void **state)
{
  (void)state;
  const uintptr_t a[3] = { 0x555555601000, 0x555555602000, 0x555555603000 };
  const uintptr_t b[3] = { 0x555555605000, 0x555555606000, 0x555555607000 };
  const uintptr_t last_differs[3] = { 0x555555605000, 0x555555606000, 0x555555607008 };
  const uintptr_t shorter[2] = { 0x555555605000, 0x555555606000 };
  uint32_t id_a = hg_stack_store(a, 3), id_b = hg_stack_store(b, 3);
  assert_int_equal(hg_stack_store(a, 3), id_a);
  uint32_t id_last_differs = hg_stack_store(last_differs, 3);
  assert_int_equal(hg_stack_store(a, 3), id_a);
  uint32_t id_shorter = hg_stack_store(shorter, 2);
  assert_int_equal(hg_stack_store(a, 3), id_a);
  assert_int_equal(hg_stack_store(b, 3), id_b);
  assert_int_not_equal(id_last_differs, id_b);
  assert_int_not_equal(id_shorter, id_b);
  assert_int_not_equal(id_shorter, id_last_differs);
  expect_stack(id_b, b, 3);
  expect_stack(id_last_differs, last_differs, 3);
  expect_stack(id_shorter, shorter, 2);

  assert_int_equal(hg_stack_store(a, 3), id_a);
  assert_int_equal(hg_stack_store(b, 3), id_b);
}

static pthread_barrier_t turns;
static const uintptr_t first_frames[2] = { 0x555555611000, 0x555555612000 };
static const uintptr_t next_frames[2] = { 0x555555613000, 0x555555614000 };

/* Stores first_frames, lets the main thread store next_frames right after, then stores them too. */
static void *store_around_the_main_thread(void *arg)
{
  hg_stack_store(first_frames, 2);
  pthread_barrier_wait(&turns);
  pthread_barrier_wait(&turns);
  *(uint32_t *)arg = hg_stack_store(next_frames, 2);
  return NULL;
}

/* The record after a thread's last one may be another thread's record of the same frames. */
static void the_record_after_the_last_one_is_never_another_threads(void **state)
{
  (void)state;
  uint32_t theirs = 0;
  pthread_t t;
  assert_int_equal(pthread_barrier_init(&turns, NULL, 2), 0);
  assert_int_equal(pthread_create(&t, NULL, store_around_the_main_thread, &theirs), 0);
  pthread_barrier_wait(&turns);
  uint32_t mine = hg_stack_store(next_frames, 2);
  pthread_barrier_wait(&turns);
  assert_int_equal(pthread_join(t, NULL), 0);
  pthread_barrier_destroy(&turns);
  expect_threads_apart(mine, theirs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(stored_stacks_come_back_whole_packed_or_not),
    cmocka_unit_test(packed_stacks_take_a_word_a_frame),
    cmocka_unit_test(each_stack_is_stored_once),
    cmocka_unit_test(unknown_ids_give_nothing),
    cmocka_unit_test(threads_get_their_own_ids),
    cmocka_unit_test(a_repeated_capture_gives_the_same_id),
    cmocka_unit_test(the_record_after_the_last_one_is_taken_only_when_it_matches),
    cmocka_unit_test(the_record_after_the_last_one_is_never_another_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
