# shellcheck shell=bash
# git workload: a repository of ~2000 small generated files, commits on two
# branches, a merge, log/diff/grep, gc and fsck.  Author/committer names and
# dates are fixed by the driver, so commit ids are reproducible and compared
# as-is.
# requires: git
set -e
git init -q -b main repo
cd repo
git config gc.auto 0          # no background auto-gc
git config core.fsyncMethod writeout-only 2>/dev/null || true

gen() {  # gen ROUND: (re)write the generated tree
  awk -v round="$1" 'BEGIN {
    for (d = 0; d < 40; d++)
      for (f = 0; f < 50; f++) {
        file = sprintf("dir%02d/file%02d.txt", d, f)
        if (round > 0 && (d * 50 + f) % (round * 7 + 3) != 0) continue
        for (l = 0; l < 8 + (d + f) % 10; l++)
          printf "line %d of %s round %d value %d\n", l, file, round, (d * 131 + f * 17 + l * 7 + round) % 9973 > file
        close(file)
      }
  }'
}

mkdir -p dir{00..39}
gen 0
git add -A
git commit -q -m "initial: 2000 generated files"
git checkout -q -b feature
for r in 1 2 3; do
  gen $r
  git add -A
  git commit -q -m "feature round $r"
done
git checkout -q main
gen 4
git add -A
git commit -q -m "main round 4"
git merge -q -X theirs -m "merge feature" feature
git rm -q dir39/file4*.txt
git commit -q -m "remove dir39/file4*"
git tag -a v1.0 -m "release 1.0"

git log --oneline --graph --decorate --all
git log --stat --format='%H %an %s' -n 2 | tail -n 5
git diff --stat v1.0~1 v1.0 | tail -n 1
git diff v1.0~2 v1.0~1 -- dir00 | md5sum
git grep -c "value 42" | wc -l
git ls-files | wc -l
git rev-parse 'HEAD^{tree}'
git gc -q
git count-objects -v | grep -E '^(count|in-pack|packs|garbage):'
git fsck --full --strict --no-progress
git verify-pack -v .git/objects/pack/pack-*.idx | grep -c -E '^[0-9a-f]{40} (blob|tree|commit|tag) '
git clone -q --no-local . ../clone
git -C ../clone log --format=%H -n 1
git -C ../clone status --porcelain | wc -l
