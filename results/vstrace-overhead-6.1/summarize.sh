#!/bin/bash
# summarize.sh output.txt: the summary of tools/bench/vstrace-overhead (as of
# commit 78b28f0), recomputed from its per-round lines.  The run lost its own
# summary (see README.md); everything below the "median()" line is the
# script's summary code unchanged.
declare -A p50 p99 mean gbps hits nsph kinds
names=(untraced "empty entry" "empty after-ftrace" "vstrace" "vstrace before")
labels=("" "" "" build/kmod-6.1.0-57-amd64/vstrace.ko build/vstrace-a7ee5a8/kmod-6.1.0-57-amd64/vstrace.ko)
nv=5 KVER=6.1.0-57-amd64 points_src=status
in=$1
points=$(sed -n 's/^points ([0-9]*, from vstrace.ko status): //p' "$in")
rounds=0
while read -r line; do
	[[ $line =~ ^round\ ([0-9]+)\ (.*[a-z])\ +rr\ p50\ +([0-9.]+)\ p99\ +([0-9.]+)\ mean\ +([0-9.]+)\ us,\ stream\ +([0-9.]+)\ Gbit/s(,\ ([0-9]+)\ probe\ hits,\ ([0-9.]+)\ ns/hit)?$ ]] || continue
	r=$((BASH_REMATCH[1] - 1)); n=${BASH_REMATCH[2]}
	for ((v = 0; v < nv; v++)); do [[ ${names[v]} == "$n" ]] && break; done
	p50[$v,$r]=${BASH_REMATCH[3]}; p99[$v,$r]=${BASH_REMATCH[4]}; mean[$v,$r]=${BASH_REMATCH[5]}; gbps[$v,$r]=${BASH_REMATCH[6]}
	[[ -n ${BASH_REMATCH[8]} ]] && { hits[$v,$r]=${BASH_REMATCH[8]}; nsph[$v,$r]=${BASH_REMATCH[9]}; }
	((r + 1 > rounds)) && rounds=$((r + 1))
done <"$in"
for v in 1 2; do
	kinds[$v]=$(grep "^  ${names[v]}: " "$in" | awk '{print $(NF-1), $NF}' | sort | uniq -c | awk '{printf "%s%d %s %s", (NR > 1 ? ", " : ""), $1, $2, $3}')
done
kinds[3]="(not recorded: the summary was lost, see README)"; kinds[4]="not reported by this module or tool"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() {	# ARRAY VARIANT: the median over the rounds
	local -n arr=$1
	local vals=() r
	for ((r = 0; r < rounds; r++)); do vals+=("${arr[$2,$r]}"); done
	median "${vals[@]}"
}
added() {	# ARRAY VARIANT: the median over the rounds of VARIANT - untraced
	local -n arr=$1
	local vals=() r
	for ((r = 0; r < rounds; r++)); do
		vals+=("$(awk -v x="${arr[$2,$r]}" -v y="${arr[0,$r]}" 'BEGIN { print x - y }')")
	done
	median "${vals[@]}"
}
for ((v = 0; v < nv; v++)); do
	m50[v]=$(col p50 $v); m99[v]=$(col p99 $v); mmean[v]=$(col mean $v); mg[v]=$(col gbps $v)
	a50[v]=$(added p50 $v); amean[v]=$(added mean $v)
done

echo
echo "vstrace overhead on $KVER, VSOCK loopback, $rounds rounds (medians), $(tr ',' '\n' <<<"$points" | wc -l) points"
printf '%-20s %9s %6s %9s %6s %9s %6s %8s %6s %9s %9s\n' "" "rr p50" "" "rr p99" "" "rr mean" "" "stream" "" "added p50" "/ empty"
printf '%-20s %9s %6s %9s %6s %9s %6s %8s %6s %9s %9s\n' "variant" "us" "ratio" "us" "ratio" "us" "ratio" "Gbit/s" "ratio" "us" "ent/aft"
for ((v = 0; v < nv; v++)); do
	awk -v n="${names[v]}" -v v=$v \
	    -v a="${m50[v]}" -v a0="${m50[0]}" -v d="${a50[v]}" -v e1="${a50[1]}" -v e2="${a50[2]}" \
	    -v b="${m99[v]}" -v b0="${m99[0]}" -v c="${mmean[v]}" -v c0="${mmean[0]}" \
	    -v g="${mg[v]}" -v g0="${mg[0]}" '
	function per(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "n/a" }
	BEGIN {
		add = v ? sprintf("%+9.1f", d) : ""
		rel = v >= 3 ? per(d, e1) "/" per(d, e2) : ""
		printf "%-20s %9.1f %6.3f %9.1f %6.3f %9.1f %6.3f %8.3f %6.3f %9s %9s\n",
			n, a, a / a0, b, b / b0, c, c / c0, g, g / g0, add, rel
	}'
done
echo "added: the median over rounds of (variant - untraced in the same round); / empty: that over the empty probes' added time, at entry / after ftrace"
for ((v = 3; v < nv; v++)); do
	awk -v n="${names[v]}" -v d="${amean[v]}" -v e1="${amean[1]}" -v e2="${amean[2]}" '
	function per(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "n/a" }
	BEGIN { printf "%s: added rr mean %+.1f us, %s x the empty probes at entry, %s x after ftrace\n",
		n, d, per(d, e1), per(d, e2) }'
done
echo "empty entry probes run as: ${kinds[1]}"
echo "empty after-ftrace probes run as: ${kinds[2]}"
echo "return probes taken from the $points_src"
for ((v = 3; v < nv; v++)); do
	tot=0 ns=()
	for ((r = 0; r < rounds; r++)); do tot=$((tot + ${hits[$v,$r]})); ns+=("${nsph[$v,$r]}"); done
	echo "${names[v]} (${labels[v]}): probes run as: ${kinds[$v]}"
	echo "${names[v]}: $tot probe hits over its rounds, $(median "${ns[@]}") ns per hit (median over rounds; handler time as vstrace.ko counts it, without the kprobe trap or the ftrace call)"
done
