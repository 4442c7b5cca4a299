# String processing in bash itself: word splitting, parameter expansion
# (pattern substitution, case conversion, substrings, prefix and suffix
# removal), associative and indexed arrays, printf -v and a growing string.
# Its millions of small allocations (most of 16 bytes or less, freed at
# once) are the worst case for guard_mode=all.
declare -A freq
text=""
for ((i = 0; i < 3000; i++)); do
  text+="word$((i % 97)) line$i alpha-beta_gamma $((i * 7919 % 1000))"$'\n'
done
n=0
while IFS= read -r line; do
  for w in $line; do
    w=${w//[-_]/ }
    w=${w^^}
    freq[$w]=$((${freq[$w]:-0} + 1))
    n=$((n + 1))
  done
done <<<"$text"
echo "words: $n distinct: ${#freq[@]}"
entries=()
for k in "${!freq[@]}"; do
  printf -v entry '%s=%d' "$k" "${freq[$k]}"
  entries+=("$entry")
done
printf '%s\n' "${entries[@]}" | LC_ALL=C sort | sed -n 1,5p
s=""
for ((i = 0; i < 2000; i++)); do
  s="${s}x${i}"
  t=${s:i:5}
  u=${s%x*}
  [[ $t == *9* ]] && s=${s/9/N}
done
echo "length ${#s}, ${#u} before the last x: ${s:0:40}"
