# shellcheck shell=bash
# sort workload: a generated 600k-line file sorted several ways, with a small
# buffer so that GNU sort spills to temporary files and merges them.
# requires: sort awk md5sum
set -e
awk 'BEGIN { x = 1; for (i = 0; i < 600000; i++) {
  x = (x * 1103515245 + 12345) % 2147483648
  printf "%d %s%x key%d\n", x % 100000, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, 3), x, i % 977 } }' >input.txt
wc -l <input.txt
sort -S 8M --parallel=2 input.txt | md5sum
sort -S 8M -n -k1,1 -k2,2r input.txt | md5sum
sort -u -t' ' -k3,3 input.txt | wc -l
sort -S 8M --parallel=2 -o sorted.txt input.txt
sort -c sorted.txt && echo "sorted.txt is sorted"
sort -m sorted.txt sorted.txt | cut -d' ' -f1 | uniq -c | sort -k1,1nr -k2,2n | sed -n '1,3p'
