"""Allocation-heavy stdlib workload for the heapguard real-software tests.

Everything printed is deterministic (PYTHONHASHSEED is fixed by the driver and
the results are digested or sorted), so two runs must print the same text.
"""
import collections
import dataclasses
import gc
import hashlib
import json
import random
import re
import string


def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


rng = random.Random(12345)


def random_word(lo=3, hi=12):
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(lo, hi)))


# --- json: build, dump, load nested documents -----------------------------
def make_doc(depth):
    if depth == 0:
        return rng.choice([rng.randint(-10**9, 10**9), rng.random(), random_word(), None, True])
    if rng.random() < 0.5:
        return [make_doc(depth - 1) for _ in range(rng.randint(1, 6))]
    return {random_word(): make_doc(depth - 1) for _ in range(rng.randint(1, 6))}


docs = [make_doc(5) for _ in range(120)]
text = json.dumps(docs, sort_keys=True)
back = json.loads(text)
assert back == docs
pretty = json.dumps(back, indent=2, sort_keys=True)
print("json", len(text), len(pretty), digest(text))

# --- re: tokenising and substituting a large text ---------------------------
words = [random_word() for _ in range(60000)]
corpus = " ".join(w if i % 17 else w.upper() + "=" + str(i) for i, w in enumerate(words))
tokens = re.findall(r"[A-Z]+=\d+|[a-z]+", corpus)
assigns = dict(m.groups() for m in re.finditer(r"([A-Z]+)=(\d+)", corpus))
swapped = re.sub(r"\b([a-z])([a-z]*)([a-z])\b", lambda m: m.group(3) + m.group(2) + m.group(1), corpus)
split = re.split(r"\s+", swapped)
print("re", len(tokens), len(assigns), len(split), digest(swapped[:5000]))

# --- collections ------------------------------------------------------------
counter = collections.Counter(w[:3] for w in words)
by_len = collections.defaultdict(list)
for w in words:
    by_len[len(w)].append(w)
ordered = collections.OrderedDict()
for i, w in enumerate(words[:20000]):
    ordered[w] = i
    if i % 3 == 0:
        ordered.move_to_end(w, last=False)
    if len(ordered) > 5000:
        ordered.popitem(last=False)
dq = collections.deque(maxlen=1000)
for w in words:
    dq.append(w)
    if len(w) % 5 == 0:
        dq.popleft()
Point = collections.namedtuple("Point", "x y z")
points = [Point(i, i * 2, str(i)) for i in range(30000)]
chain = collections.ChainMap({"a": 1}, {"b": 2}, dict.fromkeys(words[:1000], 0))
print("collections", counter.most_common(3), sorted((k, len(v)) for k, v in by_len.items())[:4],
      len(ordered), len(dq), sum(p.x for p in points), len(chain))

# --- dict / list churn --------------------------------------------------------
table = {}
for round_ in range(8):
    for i in range(40000):
        key = (round_ * 7919 + i * 31) % 50000
        table[key] = [key] * (key % 7) + [str(key)]
    for key in list(table):
        if key % (round_ + 2) == 0:
            del table[key]
lists = [list(range(i % 100)) for i in range(20000)]
for lst in lists[::3]:
    lst.extend(lst)
    lst.reverse()
    del lst[::2]
strings = ["".join(map(str, lst)) for lst in lists[:5000]]
print("churn", len(table), sum(map(len, lists)), digest(sorted(table.items())[:200]), len("".join(strings)))


# --- class-heavy workload -----------------------------------------------------
class Node:
    def __init__(self, value, children=()):
        self.value = value
        self.children = list(children)
        self.cache = {}

    def total(self):
        return self.value + sum(c.total() for c in self.children)


class Slotted:
    __slots__ = ("a", "b", "c")

    def __init__(self, a, b, c):
        self.a, self.b, self.c = a, b, c


@dataclasses.dataclass(order=True)
class Record:
    key: int
    name: str
    tags: list = dataclasses.field(default_factory=list)


def build(depth, value):
    if depth == 0:
        return Node(value)
    return Node(value, (build(depth - 1, value * 2 + i) for i in range(3)))


trees = [build(7, i) for i in range(6)]
totals = [t.total() for t in trees]
slotted = [Slotted(i, str(i), (i,)) for i in range(100000)]
records = sorted(Record(rng.randint(0, 1000), random_word(), [random_word() for _ in range(3)])
                 for _ in range(20000))
# reference cycles for the cyclic garbage collector
for i in range(20000):
    a = Node(i)
    b = Node(-i, [a])
    a.children.append(b)
    a.cache["self"] = a
del a, b, trees
collected = gc.collect()
print("classes", totals, sum(s.a for s in slotted), records[0].key, records[-1].key,
      digest([(r.key, r.name) for r in records[:100]]), collected > 0)
