/*
 * unwind.c - the CFI walk of allocation and free stacks (see unwind.h).
 *
 * A step over a return address needs its rule: how to find the CFA (the
 * caller's stack pointer) and where the return address and the caller's
 * rbp are saved. The rule is computed once from the module's .eh_frame
 * (each thread going on from where its last run of the same FDE's
 * program stopped, with the CIE it parsed last) and kept in rule_cache;
 * the walk itself only reads the stack.
 */
#define _GNU_SOURCE
#include "unwind.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ucontext.h>

#include "backtrace.h"
#include "os.h"
#include "runtime.h"

#ifndef DLFO_EH_SEGMENT_TYPE
#error "heapguard needs _dl_find_object (glibc 2.35 or later)"
#endif

/* DWARF register numbers of x86-64. */
#define DW_RBP 6u
#define DW_RSP 7u
#define DW_RA 16u

/* ------------------------------------------------------------------ rules */

enum rule_kind {
  RULE_NONE,   /* an empty cache slot */
  RULE_STEP,   /* CFA = rsp or rbp + offset; return address at CFA-8 */
  RULE_END,    /* the return address is undefined: the outermost frame */
  RULE_SIGNAL, /* the kernel's rt_sigreturn trampoline: registers in a ucontext */
};

struct rule {
  enum rule_kind kind;
  bool cfa_on_fp;  /* CFA = rbp + cfa_off, else rsp + cfa_off */
  int64_t cfa_off;
  int64_t fp_off;  /* the caller's rbp is saved at CFA + fp_off; 0: rbp is unchanged */
};

/*
 * The cache: one word per slot, so that a reader never sees half of a
 * rule whatever other threads or signal handlers store. A word holds the
 * rule of one lookup address ("key": the return address - 1, or a
 * signal-interrupted pc), packed:
 *
 *   bits  0-1  kind
 *   bit   2    CFA on rbp
 *   bits  3-18 CFA offset / 8
 *   bits 19-26 -(rbp offset) / 8
 *   bits 27-63 key >> SET_BITS (the set holds the low bits)
 *
 * Two slots a set, the rule stored last in the first: two hot
 * return addresses whose low bits agree would otherwise push each other
 * out at every step (bash recomputed rules 46,000 times for 868
 * addresses). Rules that do not fit (huge frames, unusual save slots) are
 * not cached and are recomputed at each step over their address.
 *
 * Rules are never invalidated: the code a return address points into
 * cannot change while the frame is live, but after dlclose() another
 * module mapped at the same addresses would inherit the rules of the old
 * one (libunwind's trace cache has the same limit). A wrong rule can only
 * give wrong frames: every read stays inside the stack's bounds.
 */
#define SET_BITS 11u
#define SET_MASK ((1u << SET_BITS) - 1u)
#define TAG_SHIFT 27u
#define TAG_MASK (~(uint64_t)0 << TAG_SHIFT)
#define CFA_ON_FP ((uint64_t)1 << 2)
#define MAX_KEY ((uintptr_t)1 << (64u - TAG_SHIFT + SET_BITS))

static HG_LARGE_BSS _Alignas(HG_PAGE_SIZE) _Atomic uint64_t rule_cache[2u << SET_BITS];

/* The key's low bits: return addresses spread evenly over them. */
static _Atomic uint64_t *set_of(uintptr_t key)
{
  return &rule_cache[(key & SET_MASK) * 2];
}

static uint64_t tag_of(uintptr_t key)
{
  return (uint64_t)(key >> SET_BITS) << TAG_SHIFT;
}

/* The word of the set that holds key's rule, if one does (the caller checks its tag). */
static inline uint64_t cached_word(uintptr_t key)
{
  _Atomic uint64_t *set = set_of(key);
  uint64_t w = atomic_load_explicit(&set[0], memory_order_relaxed);
  return (w & TAG_MASK) == tag_of(key) ? w : atomic_load_explicit(&set[1], memory_order_relaxed);
}

/* Keep a rule first in its set; the first one there moves second, unless it is key's. */
static void store_rule(uintptr_t key, uint64_t word)
{
  _Atomic uint64_t *set = set_of(key);
  uint64_t first = atomic_load_explicit(&set[0], memory_order_relaxed);
  if (first && (first & TAG_MASK) != tag_of(key))
    atomic_store_explicit(&set[1], first, memory_order_relaxed);
  atomic_store_explicit(&set[0], word, memory_order_relaxed);
}

static bool fits_in_word(const struct rule *r, uintptr_t key)
{
  if (key >= MAX_KEY)
    return false;
  if (r->kind != RULE_STEP)
    return true;
  return r->cfa_off >= 0 && r->cfa_off % 8 == 0 && r->cfa_off / 8 < 1 << 16 &&
         r->fp_off <= 0 && r->fp_off % 8 == 0 && -r->fp_off / 8 < 1 << 8;
}

static uint64_t pack(const struct rule *r, uintptr_t key)
{
  return (uint64_t)r->kind | (uint64_t)r->cfa_on_fp << 2 | (uint64_t)(r->cfa_off / 8) << 3 |
         (uint64_t)(-r->fp_off / 8) << 19 | tag_of(key);
}

/* The fields of a packed word, as the walk uses them. */
static uintptr_t word_cfa_off(uint64_t w)
{
  return (uintptr_t)(w >> 3 & 0xffff) * 8;
}

static uintptr_t word_fp_below(uint64_t w)
{
  return (uintptr_t)(w >> 19 & 0xff) * 8;
}

static bool unpack(uint64_t w, uintptr_t key, struct rule *r)
{
  if ((w & TAG_MASK) != tag_of(key) || (w & 3) == RULE_NONE)
    return false;
  r->kind = (enum rule_kind)(w & 3);
  r->cfa_on_fp = (w & CFA_ON_FP) != 0;
  r->cfa_off = (int64_t)word_cfa_off(w);
  r->fp_off = -(int64_t)word_fp_below(w);
  return true;
}

/* ------------------------------------------------------- reading .eh_frame */

/*
 * A cursor over the bytes of .eh_frame_hdr or .eh_frame, end exclusive.
 * Reading past the end sets bad and gives 0; callers check bad once.
 */
struct cursor {
  const uint8_t *p, *end;
  bool bad;
};

static uint64_t take_fixed(struct cursor *c, size_t n)
{
  uint64_t v = 0;
  if ((size_t)(c->end - c->p) < n) {
    c->bad = true;
    return 0;
  }
  memcpy(&v, c->p, n); /* little-endian */
  c->p += n;
  return v;
}

static uint8_t take_u8(struct cursor *c)
{
  return (uint8_t)take_fixed(c, 1);
}

/* A LEB128 number and the byte after it; next is NULL if it runs past end. */
struct leb {
  uint64_t value;
  const uint8_t *next;
};

static __attribute__((noinline)) struct leb decode_leb(const uint8_t *p, const uint8_t *end,
                                                       bool is_signed)
{
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (is_signed && shift + 7 < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << (shift + 7);
      return (struct leb){ v, p };
    }
  }
  return (struct leb){ 0, NULL };
}

static uint64_t take_leb(struct cursor *c, bool is_signed)
{
  struct leb l = decode_leb(c->p, c->end, is_signed);
  c->bad |= !l.next;
  c->p = l.next ? l.next : c->end;
  return l.value;
}

/* Most operands fit in one byte: that case stays inline and in registers. */
static inline uint64_t take_uleb(struct cursor *c)
{
  if (c->p < c->end && !(*c->p & 0x80))
    return *c->p++;
  return take_leb(c, false);
}

static inline int64_t take_sleb(struct cursor *c)
{
  if (c->p < c->end && !(*c->p & 0x80)) {
    uint8_t b = *c->p++;
    return b & 0x40 ? (int64_t)b - 0x80 : (int64_t)b;
  }
  return (int64_t)take_leb(c, true);
}

static void skip_block(struct cursor *c)
{
  uint64_t n = take_uleb(c);
  if (n > (uint64_t)(c->end - c->p))
    c->bad = true;
  else
    c->p += n;
}

/* DW_EH_PE pointer encodings. */
#define PE_OMIT 0xffu
#define PE_FORMAT 0x0fu
#define PE_APPLY 0x70u
#define PE_INDIRECT 0x80u
#define PE_PCREL 0x10u
#define PE_DATAREL 0x30u
#define PE_DATAREL_SDATA4 0x3bu

/* The value of an encoded pointer; datarel_base is the start of .eh_frame_hdr. */
static uintptr_t take_encoded(struct cursor *c, uint8_t enc, uintptr_t datarel_base)
{
  uintptr_t here = (uintptr_t)c->p;
  uint64_t v;
  switch (enc & PE_FORMAT) {
  case 0x00: v = take_fixed(c, 8); break;                       /* absptr */
  case 0x01: v = take_uleb(c); break;                           /* uleb128 */
  case 0x02: v = take_fixed(c, 2); break;                       /* udata2 */
  case 0x03: v = take_fixed(c, 4); break;                       /* udata4 */
  case 0x04: v = take_fixed(c, 8); break;                       /* udata8 */
  case 0x09: v = (uint64_t)take_sleb(c); break;                 /* sleb128 */
  case 0x0a: v = (uint64_t)(int64_t)(int16_t)take_fixed(c, 2); break;
  case 0x0b: v = (uint64_t)(int64_t)(int32_t)take_fixed(c, 4); break;
  case 0x0c: v = take_fixed(c, 8); break;                       /* sdata8 */
  default: c->bad = true; return 0;
  }
  switch (enc & PE_APPLY) {
  case 0x00: break;
  case PE_PCREL: v += here; break;
  case PE_DATAREL: v += datarel_base; break;
  default: c->bad = true; return 0;
  }
  /* An indirect pointer is only skipped (the personality routine), never used. */
  return (enc & PE_INDIRECT) ? 0 : (uintptr_t)v;
}

/* ---------------------------------------------------------- finding the FDE */

/* The FDE covering pc in one module, from its .eh_frame_hdr search table. */
static const uint8_t *fde_from_table(const uint8_t *hdr, uintptr_t pc)
{
  struct cursor c = { hdr, hdr + 4 + 8 + 8, false };
  uint8_t version = take_u8(&c), frame_enc = take_u8(&c);
  uint8_t count_enc = take_u8(&c), table_enc = take_u8(&c);
  if (version != 1 || count_enc == PE_OMIT || table_enc != PE_DATAREL_SDATA4)
    return NULL;
  take_encoded(&c, frame_enc, (uintptr_t)hdr);
  size_t count = take_encoded(&c, count_enc, (uintptr_t)hdr);
  if (c.bad || count == 0)
    return NULL;
  const uint8_t *table = c.p;
  /* The last entry whose initial location is at or below pc. */
  size_t lo = 0, hi = count;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    int32_t loc;
    memcpy(&loc, table + mid * 8, 4);
    if ((uintptr_t)hdr + (intptr_t)loc <= pc)
      lo = mid;
    else
      hi = mid;
  }
  int32_t loc, fde;
  memcpy(&loc, table + lo * 8, 4);
  memcpy(&fde, table + lo * 8 + 4, 4);
  return (uintptr_t)hdr + (intptr_t)loc <= pc ? hdr + fde : NULL;
}

/* ------------------------------------------------ the call-frame program */

enum reg_how { REG_SAME, REG_UNDEFINED, REG_AT_CFA, REG_OTHER };

#define CFA_IS_EXPRESSION 0xffu

/* One row of the CFA table, for the registers the walk needs. */
struct row {
  uint8_t cfa_reg; /* a DWARF register number, or CFA_IS_EXPRESSION */
  uint8_t fp_how, ra_how;
  int64_t cfa_off;
  int64_t fp_off, ra_off; /* REG_AT_CFA: saved at CFA + off */
};

#define REMEMBERED_ROWS 8

/* What a CIE gives the programs of its FDEs. */
struct cie {
  uint64_t code_align;
  int64_t data_align;
  uint8_t fde_enc;
  bool has_augmentation_data;
  bool signal_frame;
  struct row initial;  /* after the CIE's own program: what DW_CFA_restore goes back to */
};

/* Only rbp and the return address matter; other registers' rules are skipped. */
static inline void set_reg(struct row *r, uint64_t reg, uint8_t how, int64_t off)
{
  if (reg == DW_RBP) {
    r->fp_how = how;
    r->fp_off = off;
  } else if (reg == DW_RA) {
    r->ra_how = how;
    r->ra_off = off;
  }
}

static inline void restore_reg(struct row *r, const struct row *initial, uint64_t reg)
{
  if (reg == DW_RBP || reg == DW_RA)
    set_reg(r, reg, reg == DW_RBP ? initial->fp_how : initial->ra_how,
            reg == DW_RBP ? initial->fp_off : initial->ra_off);
}

/*
 * A CFA program part-way: the operations not yet run, the location the
 * row covers from, the row, and the rows remembered by remember_state.
 */
struct program {
  struct cursor o;
  uintptr_t loc;
  struct row row;
  unsigned depth;
  struct row remembered[REMEMBERED_ROWS];
};

static void program_start(struct program *pg, struct cursor o, uintptr_t loc, struct row row)
{
  pg->o = o;
  pg->loc = loc;
  pg->row = row;
  pg->depth = 0;
}

/*
 * Run the program until the row that covers target is complete (the next
 * advance would pass it; *pg then stops at that advance, so that a later
 * target at or beyond pg->loc can go on from there) or the program ends.
 * False if the program is malformed or uses an operation that is not
 * known here (noted as bad, and not checked at each step: every step
 * consumes a byte, so the run still ends).
 */
static bool run_program(struct program *pg, const struct cie *cie, uintptr_t target)
{
  struct cursor o = pg->o;
  struct row r = pg->row;
  uintptr_t loc = pg->loc;
  uint64_t delta;
  while (o.p < o.end) {
    const uint8_t *at = o.p;
    uint8_t op = *o.p++;
    uint64_t reg;
    switch (op) {
    case 0x40 ... 0x7f: /* advance_loc */
      delta = op & 0x3f;
      goto advance;
    case 0x80 ... 0xbf: /* offset */
      set_reg(&r, op & 0x3f, REG_AT_CFA, (int64_t)take_uleb(&o) * cie->data_align);
      continue;
    case 0xc0 ... 0xff: /* restore */
      restore_reg(&r, &cie->initial, op & 0x3f);
      continue;
    case 0x00: /* nop */
      continue;
    case 0x01: /* set_loc: only absolute or pc-relative 8-byte forms are expected, and not supported */
      o.bad = true;
      continue;
    case 0x02: delta = take_fixed(&o, 1); goto advance;
    case 0x03: delta = take_fixed(&o, 2); goto advance;
    case 0x04: delta = take_fixed(&o, 4); goto advance;
    case 0x05: /* offset_extended */
      reg = take_uleb(&o);
      set_reg(&r, reg, REG_AT_CFA, (int64_t)take_uleb(&o) * cie->data_align);
      continue;
    case 0x06: restore_reg(&r, &cie->initial, take_uleb(&o)); continue;
    case 0x07: set_reg(&r, take_uleb(&o), REG_UNDEFINED, 0); continue;
    case 0x08: set_reg(&r, take_uleb(&o), REG_SAME, 0); continue;
    case 0x09: /* register: the value moved to another register, which is not followed */
      reg = take_uleb(&o);
      take_uleb(&o);
      set_reg(&r, reg, REG_OTHER, 0);
      continue;
    case 0x0a: /* remember_state */
      if (pg->depth == REMEMBERED_ROWS)
        o.bad = true;
      else
        pg->remembered[pg->depth++] = r;
      continue;
    case 0x0b: /* restore_state */
      if (pg->depth == 0)
        o.bad = true;
      else
        r = pg->remembered[--pg->depth];
      continue;
    case 0x0c: /* def_cfa */
      reg = take_uleb(&o);
      r.cfa_reg = reg < CFA_IS_EXPRESSION ? (uint8_t)reg : CFA_IS_EXPRESSION;
      r.cfa_off = (int64_t)take_uleb(&o);
      continue;
    case 0x0d: /* def_cfa_register: meaningless after an expression */
      reg = take_uleb(&o);
      if (r.cfa_reg != CFA_IS_EXPRESSION)
        r.cfa_reg = reg < CFA_IS_EXPRESSION ? (uint8_t)reg : CFA_IS_EXPRESSION;
      continue;
    case 0x0e: r.cfa_off = (int64_t)take_uleb(&o); continue; /* def_cfa_offset */
    case 0x0f: /* def_cfa_expression */
      r.cfa_reg = CFA_IS_EXPRESSION;
      skip_block(&o);
      continue;
    case 0x10: /* expression */
      set_reg(&r, take_uleb(&o), REG_OTHER, 0);
      skip_block(&o);
      continue;
    case 0x11: /* offset_extended_sf */
      reg = take_uleb(&o);
      set_reg(&r, reg, REG_AT_CFA, take_sleb(&o) * cie->data_align);
      continue;
    case 0x12: /* def_cfa_sf */
      reg = take_uleb(&o);
      r.cfa_reg = reg < CFA_IS_EXPRESSION ? (uint8_t)reg : CFA_IS_EXPRESSION;
      r.cfa_off = take_sleb(&o) * cie->data_align;
      continue;
    case 0x13: r.cfa_off = take_sleb(&o) * cie->data_align; continue; /* def_cfa_offset_sf */
    case 0x14: /* val_offset */
    case 0x15: /* val_offset_sf */
      set_reg(&r, take_uleb(&o), REG_OTHER, 0);
      take_uleb(&o);
      continue;
    case 0x16: /* val_expression */
      set_reg(&r, take_uleb(&o), REG_OTHER, 0);
      skip_block(&o);
      continue;
    case 0x2e: take_uleb(&o); continue; /* GNU_args_size */
    case 0x2f: /* GNU_negative_offset_extended */
      reg = take_uleb(&o);
      set_reg(&r, reg, REG_AT_CFA, -(int64_t)take_uleb(&o) * cie->data_align);
      continue;
    default:
      o.bad = true;
      continue;
    }
  advance:
    if (loc + delta * cie->code_align > target) {
      o.p = at;
      break;
    }
    loc += delta * cie->code_align;
  }
  pg->o = o;
  pg->row = r;
  pg->loc = loc;
  return !o.bad;
}

/* --------------------------------------------------------- CIE and FDE */

/* A CIE's or FDE's body: what follows its 32-bit length. */
static bool entry_body(const uint8_t *p, struct cursor *body)
{
  uint32_t len;
  memcpy(&len, p, 4);
  if (len == 0 || len == 0xffffffffu) /* terminator, or 64-bit DWARF: not in .eh_frame */
    return false;
  *body = (struct cursor){ p + 4, p + 4 + len, false };
  return true;
}

static bool parse_augmentation(const char *aug, struct cursor *c, struct cie *cie)
{
  if (aug[0] != 'z')
    return aug[0] == 0;
  cie->has_augmentation_data = true;
  uint64_t len = take_uleb(c);
  if (c->bad || len > (uint64_t)(c->end - c->p))
    return false;
  struct cursor data = { c->p, c->p + len, false };
  c->p += len;
  for (const char *a = aug + 1; *a; a++) {
    if (*a == 'R')
      cie->fde_enc = take_u8(&data);
    else if (*a == 'L')
      take_u8(&data);
    else if (*a == 'P')
      take_encoded(&data, take_u8(&data), 0);
    else if (*a == 'S')
      cie->signal_frame = true;
    else if (*a != 'B' && *a != 'G')
      break; /* an unknown letter: the rest of the data is not needed */
  }
  return !data.bad;
}

/* The CIE at p, its own program run to give the initial row. */
static bool parse_cie(const uint8_t *p, struct cie *cie)
{
  struct cursor c;
  if (!entry_body(p, &c) || take_fixed(&c, 4) != 0)
    return false;
  uint8_t version = take_u8(&c);
  const char *aug = (const char *)c.p;
  size_t aug_len = strnlen(aug, (size_t)(c.end - c.p));
  if (c.bad || (version != 1 && version != 3) || aug_len == (size_t)(c.end - c.p))
    return false;
  c.p += aug_len + 1;
  *cie = (struct cie){ .fde_enc = 0 };
  cie->code_align = take_uleb(&c);
  cie->data_align = take_sleb(&c);
  uint64_t ra_column = version == 1 ? take_u8(&c) : take_uleb(&c);
  if (c.bad || ra_column != DW_RA || !parse_augmentation(aug, &c, cie))
    return false;
  struct program pg;
  program_start(&pg, c, 0, (struct row){ .cfa_reg = CFA_IS_EXPRESSION, .fp_how = REG_SAME,
                                         .ra_how = REG_UNDEFINED });
  bool ok = run_program(&pg, cie, UINTPTR_MAX);
  cie->initial = pg.row;
  return ok;
}

/* The rt_sigreturn trampoline: mov $15, %rax; syscall. */
static const uint8_t sigreturn_code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
#define SIGRETURN_CODE_SIZE sizeof sigreturn_code

static bool is_sigreturn_code(uintptr_t pc)
{
  return memcmp((const void *)pc, sigreturn_code, SIGRETURN_CODE_SIZE) == 0;
}

static bool row_to_rule(const struct row *row, struct rule *out)
{
  if (row->ra_how == REG_UNDEFINED) {
    *out = (struct rule){ .kind = RULE_END };
    return true;
  }
  if ((row->cfa_reg != DW_RSP && row->cfa_reg != DW_RBP) || row->ra_how != REG_AT_CFA ||
      row->ra_off != -8 || (row->fp_how != REG_SAME && row->fp_how != REG_AT_CFA) ||
      (row->fp_how == REG_AT_CFA && row->fp_off == 0))
    return false;
  *out = (struct rule){ .kind = RULE_STEP, .cfa_on_fp = row->cfa_reg == DW_RBP,
                        .cfa_off = row->cfa_off,
                        .fp_off = row->fp_how == REG_AT_CFA ? row->fp_off : 0 };
  return true;
}

/*
 * Where this thread's last runs of FDE programs stopped. The return
 * addresses of a function tend to be met in the order of its code (one
 * call after another), so the next one in the same FDE mostly lies past
 * where the last run stopped and the run goes on from there: compiling a
 * C file, cc1 spent 9.3 million instructions in the FDE programs of its
 * 5,967 first steps run from their starts, and 2.4 million with these
 * four checkpoints. A run that stopped inside a remember_state keeps
 * none: that is in an epilogue, where no call is (none of cc1's did).
 *
 * Per thread, so that a run needs no lock; a signal handler that walks
 * while this thread is computing a rule does without them. After
 * dlclose(), an FDE at the same address and of the same length in the
 * next module would go on from the old one's state: as with the rules, a
 * wrong row only gives wrong frames.
 */
#define CHECKPOINTS 4u

struct checkpoint {
  const uint8_t *fde; /* NULL: empty */
  struct cie cie;
  uintptr_t start, range;
  const uint8_t *p; /* the next operation, in the FDE's body */
  uintptr_t loc;
  struct row row;
};

static HG_TLS struct checkpoint tls_checkpoints[CHECKPOINTS];
static HG_TLS bool tls_computing;

static struct checkpoint *checkpoint_of(const uint8_t *fde)
{
  return &tls_checkpoints[((uintptr_t)fde * 0x9e3779b97f4a7c15ull) >> 62];
}

/* The run of the FDE at fde, whose body is body, can go on from k up to key. */
static bool resumes(const struct checkpoint *k, const uint8_t *fde, struct cursor body,
                    uintptr_t key)
{
  return k->fde == fde && k->p >= body.p && k->p <= body.end && key >= k->loc &&
         key - k->start < k->range;
}

static void resume(const struct checkpoint *k, struct cursor body, struct program *pg)
{
  program_start(pg, (struct cursor){ k->p, body.end, false }, k->loc, k->row);
}

static void keep_checkpoint(struct checkpoint *k, const uint8_t *fde, const struct cie *cie,
                            uintptr_t start, uintptr_t range, const struct program *pg)
{
  if (pg->depth)
    k->fde = NULL;
  else
    *k = (struct checkpoint){ .fde = fde, .cie = *cie, .start = start, .range = range,
                              .p = pg->o.p, .loc = pg->loc, .row = pg->row };
}

/*
 * The CIE this thread parsed last, where it lies: a module's FDEs share a
 * few CIEs, so most first steps that go on from no checkpoint parse none
 * (cc1 parsed 58 for 5,979 first steps, 3,346 without this). Not when
 * nested (own), like the checkpoints; and the same dlclose() limit.
 */
static HG_TLS const uint8_t *tls_cie_at;
static HG_TLS struct cie tls_cie;

static bool cie_at(const uint8_t *p, bool own, struct cie *cie)
{
  if (own && p == tls_cie_at) {
    *cie = tls_cie;
    return true;
  }
  if (!parse_cie(p, cie))
    return false;
  if (own) {
    tls_cie = *cie;
    tls_cie_at = p;
  }
  return true;
}

/*
 * The FDE whose body is c, its CIE parsed and its header read: cie, where its
 * range starts and how long it is, and its program in *pg.
 */
static bool open_fde(struct cursor c, bool own, struct cie *cie, uintptr_t *start,
                     uintptr_t *range, struct program *pg)
{
  const uint8_t *id_at = c.p;
  uint32_t cie_offset = (uint32_t)take_fixed(&c, 4);
  if (cie_offset == 0 || !cie_at(id_at - cie_offset, own, cie))
    return false;
  *start = take_encoded(&c, cie->fde_enc, 0);
  *range = take_encoded(&c, cie->fde_enc & PE_FORMAT, 0);
  if (cie->has_augmentation_data)
    skip_block(&c);
  program_start(pg, c, *start, cie->initial);
  return !c.bad;
}

/*
 * The rule at key, from the FDE at fde; pc is the address the frame is
 * at (key + 1 for a return address), for the trampoline's code check.
 */
static bool rule_from_fde(const uint8_t *fde, uintptr_t key, uintptr_t pc, struct rule *out)
{
  struct cursor body;
  if (!entry_body(fde, &body))
    return false;
  /* Taken before the checkpoint is read: a handler's walk then leaves it whole. */
  bool own = !tls_computing;
  tls_computing = true;
  struct checkpoint *k = own ? checkpoint_of(fde) : NULL;
  struct program pg;
  struct cie cie;
  uintptr_t start, range;
  bool ok;
  if (k && resumes(k, fde, body, key)) {
    cie = k->cie;
    start = k->start;
    range = k->range;
    resume(k, body, &pg);
    ok = true;
  } else {
    ok = open_fde(body, own, &cie, &start, &range, &pg) && key >= start && key - start < range;
  }
  if (ok && cie.signal_frame) {
    *out = (struct rule){ .kind = RULE_SIGNAL };
    ok = range >= SIGRETURN_CODE_SIZE && pc - start <= range - SIGRETURN_CODE_SIZE &&
         is_sigreturn_code(pc);
  } else if (ok) {
    ok = run_program(&pg, &cie, key);
    if (k && ok)
      keep_checkpoint(k, fde, &cie, start, range, &pg);
    ok = ok && row_to_rule(&pg.row, out);
  }
  if (own)
    tls_computing = false;
  return ok;
}

static bool compute_rule(uintptr_t key, uintptr_t pc, struct rule *out)
{
  struct dl_find_object obj;
  if (_dl_find_object((void *)key, &obj) != 0 || !obj.dlfo_eh_frame)
    return false;
  const uint8_t *fde = fde_from_table(obj.dlfo_eh_frame, key);
  return fde && rule_from_fde(fde, key, pc, out);
}

/*
 * Rules spread over every page of the cache at once, and each page would
 * fault twice: read as the zero page by a probe, then copied when a rule
 * is stored. The first rule computed (the first walk's first step, after
 * one probe) faults them all in with one system call instead.
 */
static void populate_cache_once(void)
{
  static _Atomic bool populated;
  if (!atomic_load_explicit(&populated, memory_order_relaxed) &&
      !atomic_exchange_explicit(&populated, true, memory_order_relaxed))
    hg_os_populate(rule_cache, sizeof rule_cache);
}

static bool rule_for(uintptr_t key, uintptr_t pc, struct rule *r)
{
  populate_cache_once();
  if (unpack(cached_word(key), key, r))
    return true;
  if (!compute_rule(key, pc, r))
    return false;
  if (fits_in_word(r, key))
    store_rule(key, pack(r, key));
  return true;
}

/* ---------------------------------------------------------- stack bounds */

/* A stack: every word in [lo, hi) is readable. */
struct stack {
  uintptr_t lo, hi;
};

/* A bound for the main stack when RLIMIT_STACK is unlimited or huge. */
#define MAIN_STACK_MAX ((uintptr_t)1 << 30)

extern void *__libc_stack_end;

/*
 * The main thread's stack ends at __libc_stack_end (argv and the
 * environment lie above) and can grow down by RLIMIT_STACK; the kernel
 * keeps mappings out of that range. Set once; main_hi is published last.
 */
static uintptr_t main_lo;
static _Atomic uintptr_t main_hi;

/* This thread's own stack, read once from /proc/self/maps. */
static HG_TLS struct stack tls_stack;
static HG_TLS bool tls_stack_known;

static struct stack main_stack(void)
{
  uintptr_t hi = atomic_load_explicit(&main_hi, memory_order_acquire);
  if (__builtin_expect(hi == 0, 0)) {
    hi = (uintptr_t)__libc_stack_end & ~(uintptr_t)7;
    uint64_t limit = hg_os_stack_limit();
    main_lo = hi - (limit && limit < MAIN_STACK_MAX ? limit : MAIN_STACK_MAX);
    atomic_store_explicit(&main_hi, hi, memory_order_release);
  }
  return (struct stack){ main_lo, hi };
}

/*
 * Any other thread's stack lies below its static TLS block (glibc puts
 * the thread descriptor and TLS at the top of the stack mapping), so it
 * is the mapping of a TLS variable, up to that variable. The main
 * thread's TLS is not on a stack: it has none but the main stack.
 */
static void find_thread_stack(void)
{
  tls_stack_known = true;
  uintptr_t anchor = (uintptr_t)&tls_stack, lo, hi;
  if (hg_os_gettid() != hg_os_getpid() && hg_os_mapping_of(anchor, &lo, &hi))
    tls_stack = (struct stack){ lo, anchor };
}

static bool holds(struct stack s, uintptr_t sp)
{
  return sp >= s.lo && sp < s.hi;
}

/* The main stack or this thread's own, if sp lies on one; no system call once known. */
static bool own_stack_of(uintptr_t sp, struct stack *out)
{
  *out = main_stack();
  if (holds(*out, sp))
    return true;
  if (__builtin_expect(!tls_stack_known, 0))
    find_thread_stack();
  *out = tls_stack;
  return holds(*out, sp);
}

/*
 * The stack sp lies on: the thread's own, or its alternate signal stack
 * (one system call); anything else (a coroutine's stack) is not walked.
 */
static bool stack_of(uintptr_t sp, struct stack *out)
{
  if (own_stack_of(sp, out))
    return true;
  return hg_os_signal_stack(&out->lo, &out->hi) && holds(*out, sp);
}

/* ------------------------------------------------------------------ walk */

/* Where the walk is: a frame's pc, its stack and frame pointers, its stack. */
struct walk {
  uintptr_t pc, sp, fp;
  uintptr_t call_size; /* 1 when pc is a return address (its call is at pc - 1); 0 after a signal */
  struct stack stack;
  /* Where fp was loaded from: FP_OF_CALLER, FP_TRACED, or the address of its slot. */
  uintptr_t fp_slot;
  uintptr_t base;      /* the caller's stack pointer: trace offsets are from here */
  struct hg_unwind_trace *trace;
};

#define FP_OF_CALLER ((uintptr_t)0)
#define FP_TRACED ((uintptr_t)1)

typedef uintptr_t __attribute__((may_alias)) stack_word;

__attribute__((no_sanitize_address)) static uintptr_t load(uintptr_t addr)
{
  return *(const stack_word *)addr;
}

static void trace_read(struct hg_unwind_trace *t, uintptr_t base, uintptr_t addr, uintptr_t value)
{
  if (t->reads == HG_UNWIND_READS || addr - base > UINT32_MAX) {
    t->repeatable = false;
    return;
  }
  t->offset[t->reads] = (uint32_t)(addr - base);
  t->value[t->reads++] = value;
}

/* A step found the CFA from rbp: the value rbp had there must hold again. */
static uintptr_t trace_fp_use(struct hg_unwind_trace *t, uintptr_t base, uintptr_t fp_slot,
                              uintptr_t fp)
{
  if (fp_slot == FP_OF_CALLER)
    t->uses_fp = true;
  else if (fp_slot != FP_TRACED)
    trace_read(t, base, fp_slot, fp);
  return FP_TRACED;
}

/*
 * Where the caller's frame is, from its CFA and where the caller's rbp was
 * saved (fp_below bytes below the CFA; 0: not saved): the return address
 * and the saved rbp must lie in the current frame or above it, below the
 * top of the stack, so a CFA that does not move up ends the walk.
 */
static bool caller_frame_ok(uintptr_t sp, uintptr_t hi, uintptr_t cfa, uintptr_t fp_below)
{
  return cfa >= sp + 8 && cfa <= hi && (!fp_below || cfa - fp_below >= sp);
}

static bool move_to_caller(struct walk *w, bool cfa_on_fp, uintptr_t cfa, uintptr_t fp_below)
{
  if (!caller_frame_ok(w->sp, w->stack.hi, cfa, fp_below))
    return false;
  if (w->trace && cfa_on_fp)
    w->fp_slot = trace_fp_use(w->trace, w->base, w->fp_slot, w->fp);
  if (fp_below) {
    w->fp = load(cfa - fp_below);
    w->fp_slot = cfa - fp_below;
  }
  w->pc = load(cfa - 8);
  w->sp = cfa;
  w->call_size = 1;
  if (w->trace)
    trace_read(w->trace, w->base, cfa - 8, w->pc);
  return w->pc != 0;
}

/*
 * Through the kernel's signal frame: the ucontext lies where the
 * trampoline's stack pointer is, and the interrupted frame may be on
 * another stack (the handler ran on an alternate one). The interrupted
 * pc has not executed yet: it is looked up as it is.
 */
static bool step_over_signal(struct walk *w)
{
  uintptr_t gregs = w->sp + offsetof(ucontext_t, uc_mcontext.gregs);
  if (gregs + NGREG * sizeof(greg_t) > w->stack.hi)
    return false;
  uintptr_t pc = load(gregs + REG_RIP * sizeof(greg_t));
  uintptr_t sp = load(gregs + REG_RSP * sizeof(greg_t));
  uintptr_t fp = load(gregs + REG_RBP * sizeof(greg_t));
  if (holds(w->stack, sp) ? sp <= w->sp : !own_stack_of(sp, &w->stack))
    return false;
  if (w->trace)
    w->trace->repeatable = false;
  w->pc = pc;
  w->sp = sp;
  w->fp = fp;
  w->fp_slot = FP_TRACED;
  w->call_size = 0;
  return pc != 0;
}

/* A step by the rule computed in full: not cached, or not a plain call frame. */
static __attribute__((noinline)) bool step_slow(struct walk *w)
{
  struct rule r;
  if (!rule_for(w->pc - w->call_size, w->pc, &r))
    return false;
  if (r.kind == RULE_SIGNAL)
    return step_over_signal(w);
  return r.kind == RULE_STEP &&
         move_to_caller(w, r.cfa_on_fp, (r.cfa_on_fp ? w->fp : w->sp) + (uintptr_t)r.cfa_off,
                        (uintptr_t)-r.fp_off);
}

/* Steps over heapguard's own frames, before the first frame kept. */
#define MAX_OWN_FRAMES 16u

static bool skip_own_frames(struct walk *w)
{
  for (unsigned i = 0; hg_backtrace_is_own(w->pc); i++)
    if (i == MAX_OWN_FRAMES || !step_slow(w))
      return false;
  return true;
}

/*
 * The walk proper. A step over a return address whose rule is cached as
 * a plain call frame is done here, in registers: a cache probe and one
 * or two loads; every other step goes through step_slow(). Inlined twice,
 * with and without a trace, so that the untraced walk pays nothing for it.
 */
static inline __attribute__((always_inline)) size_t
walk_up(struct walk *w, uintptr_t *ips, size_t max, struct hg_unwind_trace *t)
{
  uintptr_t pc = w->pc, sp = w->sp, fp = w->fp, hi = w->stack.hi;
  uintptr_t call_size = w->call_size, fp_slot = w->fp_slot;
  size_t n = 0;
  for (;;) {
    ips[n++] = pc;
    if (n == max)
      return n;
    uintptr_t key = pc - call_size;
    uint64_t word = cached_word(key);
    uint64_t tag = tag_of(key);
    if (__builtin_expect((word & (TAG_MASK | 3)) == (tag | RULE_STEP) && call_size, 1)) {
      uintptr_t cfa = ((word & CFA_ON_FP) ? fp : sp) + word_cfa_off(word);
      uintptr_t fp_below = word_fp_below(word);
      if (!caller_frame_ok(sp, hi, cfa, fp_below))
        return n;
      if (t && (word & CFA_ON_FP))
        fp_slot = trace_fp_use(t, w->base, fp_slot, fp);
      if (fp_below) {
        fp = load(cfa - fp_below);
        fp_slot = cfa - fp_below;
      }
      pc = load(cfa - 8);
      sp = cfa;
      if (t)
        trace_read(t, w->base, cfa - 8, pc);
      if (pc == 0)
        return n;
      continue;
    }
    if ((word & (TAG_MASK | 3)) == (tag | RULE_END))
      return n;
    *w = (struct walk){ .pc = pc, .sp = sp, .fp = fp, .call_size = call_size,
                        .stack = w->stack, .fp_slot = fp_slot, .base = w->base, .trace = t };
    if (!step_slow(w))
      return n;
    pc = w->pc;
    sp = w->sp;
    fp = w->fp;
    hi = w->stack.hi;
    call_size = w->call_size;
    fp_slot = w->fp_slot;
  }
}

static size_t walk_untraced(struct walk *w, uintptr_t *ips, size_t max)
{
  return walk_up(w, ips, max, NULL);
}

static size_t walk_traced(struct walk *w, uintptr_t *ips, size_t max)
{
  return walk_up(w, ips, max, w->trace);
}

size_t hg_unwind(struct hg_caller from, uintptr_t *ips, size_t max, struct hg_unwind_trace *trace)
{
  struct walk w = { .pc = hg_caller_ra(from), .sp = from.sp, .fp = from.fp, .call_size = 1,
                    .fp_slot = FP_OF_CALLER, .base = from.sp, .trace = trace };
  if (trace) {
    trace->repeatable = true;
    trace->uses_fp = false;
    trace->reads = 0;
  }
  if (max == 0)
    return 0;
  if (!own_stack_of(w.sp, &w.stack)) {
    if (trace)
      trace->repeatable = false;
    if (!stack_of(w.sp, &w.stack)) {
      /* Not walkable, but the caller is known without reading the stack. */
      ips[0] = w.pc;
      return hg_backtrace_is_own(w.pc) ? 0 : 1;
    }
  }
  if (!skip_own_frames(&w))
    return 0;
  return trace ? walk_traced(&w, ips, max) : walk_untraced(&w, ips, max);
}
