# shellcheck shell=bash
# perl workload: hashes, regexes, substitutions, string churn, nested data.
# requires: perl
set -e
perl "$REAL_DATA/strings.pl"
