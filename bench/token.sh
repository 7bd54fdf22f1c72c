#!/usr/bin/env bash
# Token issuance with the verified-credentials cache on and off, and the
# ratio. Usage: bench/token.sh [benchtime, default 3s]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=$(go test -run '^$' -bench 'BenchmarkTokenIssuance' -benchtime "${1:-3s}" -count 1 ./bench/)
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)'
echo "$out" | awk '
	/cache=off/ { for (i = 1; i <= NF; i++) if ($(i+1) == "tokens/s") off = $i }
	/cache=on/  { for (i = 1; i <= NF; i++) if ($(i+1) == "tokens/s") on = $i }
	END {
		if (off == "" || on == "") { print "could not read both results"; exit 1 }
		printf "tokens/s: cache off %.0f, cache on %.0f, ratio %.1fx\n", off, on, on / off
	}'
