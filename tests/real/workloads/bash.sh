# shellcheck shell=bash
# bash workload: a string-processing script run by bash itself (the shell
# that runs every workload runs with the preload too, but does little).
# requires: bash
set -e
bash "$REAL_DATA/strings.sh"
