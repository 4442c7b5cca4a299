// Legal C++ under heapguard: containers, strings, aligned and nothrow new,
// new and delete across threads, exceptions, and std::bad_alloc from an
// allocation that cannot be served (after the new_handler gives up).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "check failed at line %d: %s\n", __LINE__, #cond); \
      std::exit(1);                                                          \
    }                                                                        \
  } while (0)

struct alignas(64) Line {
  char bytes[64];
};

struct alignas(4096) Page {
  char bytes[4096];
};

struct Tracked {
  static int live;
  std::string name;
  explicit Tracked(std::string n) : name(std::move(n)) { live++; }
  ~Tracked() { live--; }
};
int Tracked::live = 0;

struct Base {
  virtual ~Base() = default;
  int id = 0;
};
struct Derived : Base {
  char payload[200] = {};
};

static void containers_and_strings()
{
  std::vector<std::string> words;
  for (int i = 0; i < 5000; i++)
    words.push_back("word number " + std::to_string(i) + std::string(i % 40, 'x'));
  std::map<std::string, int> counts;
  std::unordered_map<int, std::vector<int>> buckets;
  for (const auto &w : words) {
    counts[w]++;
    buckets[(int)w.size()].push_back((int)w.size());
  }
  CHECK(counts.size() == 5000);
  words.clear();
  words.shrink_to_fit();
  auto shared = std::make_shared<std::vector<long>>(1000, 7L);
  std::unique_ptr<int[]> none(new int[0]);
  std::unique_ptr<Base> poly(new Derived); // virtual destructor: right size
  CHECK(shared->at(999) == 7);
}

static void aligned_and_nothrow()
{
  Line *l = new Line;
  CHECK(reinterpret_cast<std::uintptr_t>(l) % 64 == 0);
  delete l;
  Line *ls = new Line[7];
  CHECK(reinterpret_cast<std::uintptr_t>(ls) % 64 == 0);
  delete[] ls;
  Page *pg = new Page;
  CHECK(reinterpret_cast<std::uintptr_t>(pg) % 4096 == 0);
  delete pg;
  Line *ln = new (std::nothrow) Line;
  CHECK(ln && reinterpret_cast<std::uintptr_t>(ln) % 64 == 0);
  delete ln;
  int *n = new (std::nothrow) int(5);
  CHECK(n && *n == 5);
  delete n;
  int *na = new (std::nothrow) int[100];
  CHECK(na);
  delete[] na;
  void *r = ::operator new(100, std::align_val_t(8)); // below 16: served at 16
  CHECK(reinterpret_cast<std::uintptr_t>(r) % 16 == 0);
  ::operator delete(r, 100, std::align_val_t(8));
  r = ::operator new(24, std::align_val_t(16)); // asked for: kept with guard_alignment=1
  CHECK(reinterpret_cast<std::uintptr_t>(r) % 16 == 0);
  ::operator delete(r, std::align_val_t(16));
  r = ::operator new[](3, std::align_val_t(256), std::nothrow);
  CHECK(r && reinterpret_cast<std::uintptr_t>(r) % 256 == 0);
  ::operator delete[](r, std::align_val_t(256), std::nothrow);
  void *z1 = ::operator new(0), *z2 = ::operator new(0);
  CHECK(z1 && z2 && z1 != z2);
  ::operator delete(z1, std::size_t(0));
  ::operator delete(z2);
  Tracked *t = new Tracked[3]{ Tracked("a"), Tracked("b"), Tracked("c") }; // cookie
  CHECK(Tracked::live == 3);
  delete[] t; // sized delete[] with the cookie included
  CHECK(Tracked::live == 0);
}

static void across_threads()
{
  const int per = 2000;
  std::vector<int *> made(4 * per);
  std::vector<std::thread> makers;
  for (int t = 0; t < 4; t++)
    makers.emplace_back([&, t] {
      for (int i = 0; i < per; i++)
        made[t * per + i] = new int[1 + i % 50];
    });
  for (auto &th : makers)
    th.join();
  std::vector<std::thread> freers;
  for (int t = 0; t < 4; t++)
    freers.emplace_back([&, t] { // each frees another thread's blocks
      int from = (t + 1) % 4;
      for (int i = 0; i < per; i++)
        delete[] made[from * per + i];
    });
  for (auto &th : freers)
    th.join();
}

static void exceptions()
{
  int caught = 0;
  for (int i = 0; i < 100; i++) {
    try {
      std::string big(100 + i, 'e');
      throw std::runtime_error("thrown " + big);
    } catch (const std::exception &e) {
      caught += std::string(e.what()).size() > 100;
    }
  }
  CHECK(caught == 100);
  try {
    std::vector<int> v;
    v.at(3) = 1;
  } catch (const std::out_of_range &) {
    caught++;
  }
  CHECK(caught == 101);
}

static int handler_calls;
static void give_up_after_three()
{
  if (++handler_calls == 3)
    std::set_new_handler(nullptr);
}

static void bad_alloc_is_thrown()
{
  volatile std::size_t huge = std::size_t(1) << 50; // beyond any heap
  bool thrown = false;
  try {
    void *p = ::operator new(huge);
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  thrown = false;
  try {
    char *p = new char[huge];
    delete[] p;
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  thrown = false;
  try {
    void *p = ::operator new(huge, std::align_val_t(64));
    ::operator delete(p, std::align_val_t(64));
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  CHECK(::operator new(huge, std::nothrow) == nullptr);
  CHECK(::operator new[](huge, std::align_val_t(128), std::nothrow) == nullptr);

  std::set_new_handler(give_up_after_three);
  thrown = false;
  try {
    void *p = ::operator new(huge);
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown && handler_calls == 3);
  CHECK(std::get_new_handler() == nullptr);
}

int main()
{
  containers_and_strings();
  aligned_and_nothrow();
  across_threads();
  exceptions();
  bad_alloc_is_thrown();
  std::puts("cxx operators ok");
  return 0;
}
