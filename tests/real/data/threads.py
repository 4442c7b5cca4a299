"""Threading workload: producers and consumers exchanging work over queues."""
import hashlib
import queue
import threading

N_PRODUCERS, N_CONSUMERS, ITEMS = 4, 4, 3000

work = queue.Queue(maxsize=200)
results = queue.Queue()
lock = threading.Lock()
shared = {}


def producer(pid):
    for i in range(ITEMS):
        work.put((pid, i, [pid * i + k for k in range(i % 50)]))


def consumer():
    while True:
        item = work.get()
        if item is None:
            work.task_done()
            return
        pid, i, payload = item
        text = ",".join(map(str, payload)) * 3
        h = hashlib.md5(text.encode()).hexdigest()
        with lock:
            shared.setdefault(h[:2], []).append((pid, i))
        results.put((pid, i, sum(payload), h))
        work.task_done()


consumers = [threading.Thread(target=consumer) for _ in range(N_CONSUMERS)]
producers = [threading.Thread(target=producer, args=(p,)) for p in range(N_PRODUCERS)]
for t in consumers + producers:
    t.start()
for t in producers:
    t.join()
for _ in consumers:
    work.put(None)
for t in consumers:
    t.join()

out = sorted(results.get() for _ in range(results.qsize()))
assert len(out) == N_PRODUCERS * ITEMS
print("threads", len(out), sum(r[2] for r in out), len(shared),
      hashlib.sha256(repr(out).encode()).hexdigest()[:16])

# a thread pool on top of the same machinery
from concurrent.futures import ThreadPoolExecutor

with ThreadPoolExecutor(max_workers=6) as pool:
    squares = list(pool.map(lambda n: sum(i * i for i in range(n)), range(2000)))
print("pool", len(squares), sum(squares) % 1000003)
