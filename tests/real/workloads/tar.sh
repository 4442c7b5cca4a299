# shellcheck shell=bash
# tar workload: a generated directory tree packed with tar + gzip
# (reproducibly: sorted names, fixed mtime and owners), listed, extracted
# elsewhere and compared by checksums.
# requires: tar gzip md5sum
set -e
awk 'BEGIN {
  for (d = 0; d < 20; d++) {
    system("mkdir -p tree/d" d "/sub" d % 3)
    for (f = 0; f < 30; f++) {
      file = sprintf("tree/d%d/%s/f%03d.dat", d, (f % 2 ? "sub" d % 3 : "."), f)
      n = 20 + (d * 37 + f * 101) % 2000
      for (l = 0; l < n; l++) printf "%d %d %d payload %x\n", d, f, l, (d * 7 + f * 13 + l) * 2654435761 % 4294967296 > file
      close(file)
    }
  }
}'
sums() { (cd "$1" && find . -type f | sort | xargs md5sum) }
sums tree >before.md5
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -I 'gzip -n -6' -cf tree.tar.gz tree
md5sum tree.tar.gz
gzip -t tree.tar.gz && echo "gzip -t ok"
tar -tzf tree.tar.gz | wc -l
mkdir out
tar -xzf tree.tar.gz -C out
sums out/tree >after.md5
cmp before.md5 after.md5 && echo "extracted tree identical"
md5sum <after.md5
du -s --apparent-size out/tree | cut -f1
