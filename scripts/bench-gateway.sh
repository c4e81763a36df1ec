#!/usr/bin/env bash
# Gateway cost per request: bulwark serve against a bare Go proxy, Caddy and
# nginx, all on loopback over HTTPS in front of the same backend, measured in
# one run with wrk. Usage:
#
#   scripts/bench-gateway.sh            # ROUNDS=5 DURATION=10s by default
#   ROUNDS=1 DURATION=5s scripts/bench-gateway.sh
#   BASELINE=/path/to/older/bulwark scripts/bench-gateway.sh
#   PROFILE=/tmp/prof scripts/bench-gateway.sh
#   ONLY="nginx bulwark" scripts/bench-gateway.sh   # some targets only
#   BULWARK_ENV="GOGC=200" scripts/bench-gateway.sh  # environment of bulwark
#   (and BASELINE_ENV, of the baseline)
#
# Each peer has the same redirect, HSTS header and 10 MB body cap (configs in
# scripts/bench/); bulwark runs with every protection on (host validation,
# redirect, HSTS and security headers, limits, edge CSRF, cookie hardening,
# forwarded-header stripping, request buffering, access log to a file).
#
# Targets are measured in interleaved rounds; the table gives, per target,
# the median requests per second and the median CPU time the target's own
# processes spent per request (utime + stime of every thread and worker
# process, read from /proc/<pid>/stat before and after each round, divided
# by the requests wrk saw completed). A second table gives bulwark's ratio
# to each target round by round and the median of those ratios, which a
# drift of the machine's speed between rounds does not move. The backend row is the backend serving
# HTTPS directly; in the proxy rows the backend's own CPU is not counted.
#
# BASELINE adds a second bulwark binary (another build, say the previous
# commit) as the target "bulwark-base", measured in the same interleaved
# rounds. PROFILE=dir runs one more round against bulwark after the
# measured ones and saves a CPU profile, an allocation profile and the GC
# trace of that round there (go tool pprof dir/cpu.pprof).
#
# Ports are chosen free at start; only loopback is used; every process
# started is stopped on exit.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
BASELINE=${BASELINE:-}
ONLY=${ONLY:-}
PROFILE=${PROFILE:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(mktemp -d /tmp/bulwark-bench.XXXXXX)
PIDS=()
declare -A PID_OF

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -f "$SCRATCH/nginx/nginx.pid" ]; then kill "$(cat "$SCRATCH/nginx/nginx.pid" 2>/dev/null)" 2>/dev/null || true; fi
	wait 2>/dev/null || true
}
trap cleanup EXIT

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v caddy >/dev/null || need+=(caddy)
command -v nginx >/dev/null || need+=(nginx)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get install -y "${need[@]}" >/dev/null
fi

# Fourteen consecutive free loopback ports, from a random base.
in_use=$(ss -Htan 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | sort -u)
for _ in $(seq 100); do
	base=$((20000 + RANDOM % 40000))
	clash=0
	for p in $(seq "$base" $((base + 13))); do
		if grep -qx "$p" <<<"$in_use"; then clash=1; break; fi
	done
	[ $clash = 0 ] && break
done
P_BACKEND_HTTP=$base P_BACKEND=$((base + 1))
P_GOPROXY=$((base + 2)) P_GOPROXY_HTTP=$((base + 3))
P_CADDY=$((base + 4)) P_CADDY_HTTP=$((base + 5))
P_NGINX=$((base + 6)) P_NGINX_HTTP=$((base + 7))
P_BULWARK=$((base + 8)) P_BULWARK_HTTP=$((base + 9)) P_BULWARK_ADMIN=$((base + 10))
P_BASE=$((base + 11)) P_BASE_HTTP=$((base + 12)) P_BASE_ADMIN=$((base + 13))

echo "scratch: $SCRATCH, ports $base-$((base + 13))" >&2
mkdir -p "$SCRATCH"/{certs,bin,caddy,nginx/logs}

# A CA and a leaf for site.test and 127.0.0.1 (ECDSA P-256).
(
	cd "$SCRATCH/certs"
	openssl ecparam -name prime256v1 -genkey -noout -out ca-key.pem 2>/dev/null
	openssl req -x509 -new -key ca-key.pem -sha256 -days 1 -subj "/CN=bulwark bench CA" -out ca.pem 2>/dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out leaf-key.pem 2>/dev/null
	openssl req -new -key leaf-key.pem -subj "/CN=site.test" -out leaf.csr 2>/dev/null
	printf 'subjectAltName=DNS:site.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf
	openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -sha256 -extfile ext.cnf -out leaf.pem 2>/dev/null
	cat leaf.pem ca.pem > chain.pem
)

subst() { # template, output[, bulwark https/http/admin ports]
	sed -e "s|\$SCRATCH|$SCRATCH|g" -e "s|\$P_BACKEND_HTTP|$P_BACKEND_HTTP|g" \
		-e "s|\$P_CADDY_HTTP|$P_CADDY_HTTP|g" -e "s|\$P_CADDY|$P_CADDY|g" \
		-e "s|\$P_NGINX_HTTP|$P_NGINX_HTTP|g" -e "s|\$P_NGINX|$P_NGINX|g" \
		-e "s|\$P_BULWARK_HTTP|${4:-$P_BULWARK_HTTP}|g" -e "s|\$P_BULWARK_ADMIN|${5:-$P_BULWARK_ADMIN}|g" \
		-e "s|\$P_BULWARK|${3:-$P_BULWARK}|g" "$1" > "$2"
}
subst "$ROOT/scripts/bench/Caddyfile" "$SCRATCH/caddy/Caddyfile"
subst "$ROOT/scripts/bench/nginx.conf" "$SCRATCH/nginx/nginx.conf"
subst "$ROOT/scripts/bench/bulwark.toml" "$SCRATCH/bulwark.toml"

(cd "$ROOT" && go build -o "$SCRATCH/bin/backend" ./scripts/bench/backend &&
	go build -o "$SCRATCH/bin/goproxy" ./scripts/bench/goproxy &&
	go build -o "$SCRATCH/bin/bulwark" ./cmd/bulwark)

start() { # name, command...
	local name=$1; shift
	"$@" > "$SCRATCH/$name.log" 2>&1 &
	PIDS+=($!)
	PID_OF[$name]=$!
}
C="$SCRATCH/certs"
start backend "$SCRATCH/bin/backend" -http "127.0.0.1:$P_BACKEND_HTTP" -https "127.0.0.1:$P_BACKEND" \
	-cert "$C/chain.pem" -key "$C/leaf-key.pem"
start go-proxy "$SCRATCH/bin/goproxy" -http "127.0.0.1:$P_GOPROXY_HTTP" -https "127.0.0.1:$P_GOPROXY" \
	-upstream "http://127.0.0.1:$P_BACKEND_HTTP" -cert "$C/chain.pem" -key "$C/leaf-key.pem"
"$SCRATCH/bin/bulwark" serve --check --config "$SCRATCH/bulwark.toml" >/dev/null
read -r -a BENV <<<"${BULWARK_ENV:-}"
[ -n "$PROFILE" ] && BENV+=(GODEBUG=gctrace=1)
start bulwark env "${BENV[@]}" "$SCRATCH/bin/bulwark" serve --config "$SCRATCH/bulwark.toml"
TARGETS=("backend $P_BACKEND -" "go-proxy $P_GOPROXY $P_GOPROXY_HTTP" "caddy $P_CADDY $P_CADDY_HTTP"
	"nginx $P_NGINX $P_NGINX_HTTP" "bulwark $P_BULWARK $P_BULWARK_HTTP")
if [ -n "$BASELINE" ]; then
	# An older build may not know admin_profiling.
	subst "$ROOT/scripts/bench/bulwark.toml" "$SCRATCH/bulwark-base.toml.in" "$P_BASE" "$P_BASE_HTTP" "$P_BASE_ADMIN"
	grep -v '^admin_profiling' "$SCRATCH/bulwark-base.toml.in" |
		sed "s|bulwark-access.log|bulwark-base-access.log|" > "$SCRATCH/bulwark-base.toml"
	read -r -a BASEENV <<<"${BASELINE_ENV:-}"
	start bulwark-base env "${BASEENV[@]}" "$BASELINE" serve --config "$SCRATCH/bulwark-base.toml"
	TARGETS+=("bulwark-base $P_BASE $P_BASE_HTTP")
fi
caddy validate --config "$SCRATCH/caddy/Caddyfile" --adapter caddyfile >/dev/null 2>&1
start caddy env HOME="$SCRATCH/caddy" XDG_DATA_HOME="$SCRATCH/caddy/data" XDG_CONFIG_HOME="$SCRATCH/caddy/config" \
	caddy run --config "$SCRATCH/caddy/Caddyfile" --adapter caddyfile
nginx -t -c "$SCRATCH/nginx/nginx.conf" -p "$SCRATCH/nginx" >/dev/null 2>&1
start nginx nginx -c "$SCRATCH/nginx/nginx.conf" -p "$SCRATCH/nginx" -g 'daemon off;'

if [ -n "$ONLY" ]; then
	kept=()
	for t in "${TARGETS[@]}"; do
		set -- $t
		[[ " $ONLY " == *" $1 "* ]] && kept+=("$t")
	done
	TARGETS=("${kept[@]}")
fi

curl_ok() { # port: a 200 over HTTPS for site.test with a verified certificate
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$C/ca.pem" \
		--resolve "site.test:$1:127.0.0.1" "https://site.test:$1/" 2>/dev/null || true
}
for t in "${TARGETS[@]}"; do
	set -- $t
	for i in $(seq 1 50); do
		[ "$(curl_ok "$2")" = 200 ] && break
		[ "$i" = 50 ] && { echo "$1 on :$2 did not come up; logs in $SCRATCH" >&2; exit 1; }
		sleep 0.2
	done
	if [ "$3" != - ]; then
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --resolve "site.test:$3:127.0.0.1" "http://site.test:$3/a?b=1")
		hsts=$(curl -s -D - -o /dev/null --max-time 2 --cacert "$C/ca.pem" --resolve "site.test:$2:127.0.0.1" "https://site.test:$2/" | grep -ci '^strict-transport-security' || true)
		echo "check $1: http redirect $code, HSTS headers $hsts" >&2
	fi
done

# The processes whose CPU time is a target's: the process started (env and
# nginx -g 'daemon off' exec or stay in it) and its children (nginx's
# workers).
tree_pids() {
	local p=$1
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
cpu_ticks() { # name: utime+stime of the target's processes, in clock ticks
	local sum=0 p f
	for p in $(tree_pids "${PID_OF[$1]}"); do
		f=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null) || continue
		# After the command name: state is field 1, utime 12, stime 13.
		set -- $f
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}
HZ=$(getconf CLK_TCK)

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
declare -A RPS CPU
for r in $(seq 1 "$ROUNDS"); do
	for t in "${TARGETS[@]}"; do
		set -- $t
		name=$1 port=$2
		before=$(cpu_ticks "$name")
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Host: site.test:$port" "https://127.0.0.1:$port/" 2>&1)
		after=$(cpu_ticks "$name")
		rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
		reqs=$(echo "$out" | awk '/requests in/ {print $1}')
		non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
		errs=$(echo "$out" | awk '/Socket errors/ {print $0}')
		us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print 0 }')
		echo "round $r $name: ${rps:-?} req/s, ${us} µs CPU/request ${non2xx:+non-2xx=$non2xx} ${errs}" >&2
		RPS[$name]="${RPS[$name]:-} ${rps:-0}"
		CPU[$name]="${CPU[$name]:-} ${us}"
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [ -n "$PROFILE" ]; then
	mkdir -p "$PROFILE"
	secs=${DURATION%s}
	admin="http://127.0.0.1:$P_BULWARK_ADMIN"
	gclines=$(wc -l < "$SCRATCH/bulwark.log")
	curl -s -o "$PROFILE/allocs-before.pprof" "$admin/debug/pprof/allocs"
	curl -s -o "$PROFILE/cpu.pprof" "$admin/debug/pprof/profile?seconds=$((secs - 1))" &
	cpid=$!
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Host: site.test:$P_BULWARK" "https://127.0.0.1:$P_BULWARK/" > "$PROFILE/wrk.txt" 2>&1
	wait $cpid
	curl -s -o "$PROFILE/allocs.pprof" "$admin/debug/pprof/allocs"
	tail -n +"$((gclines + 1))" "$SCRATCH/bulwark.log" | grep '^gc ' > "$PROFILE/gctrace.txt" || true
	cp "$SCRATCH/bin/bulwark" "$PROFILE/bulwark.bin"
	echo "profile of one more round in $PROFILE (go tool pprof $PROFILE/bulwark.bin $PROFILE/cpu.pprof)" >&2
fi

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A MRPS MCPU
for t in "${TARGETS[@]}"; do
	set -- $t
	MRPS[$1]=$(echo "${RPS[$1]}" | median)
	MCPU[$1]=$(echo "${CPU[$1]}" | median)
done
printf '\nwrk -t%s -c%s -d%s, HTTPS (HTTP/1.1, keep-alive), %s interleaved round(s), medians\n\n' "$THREADS" "$CONNS" "$DURATION" "$ROUNDS"
printf '| target | req/s | CPU µs/request | bulwark req/s / target | bulwark CPU / target |\n|---|---:|---:|---:|---:|\n'
[ -n "${MRPS[bulwark]:-}" ] || { MRPS[bulwark]=0; MCPU[bulwark]=0; }
for t in "${TARGETS[@]}"; do
	set -- $t
	r=$(awk -v b="${MRPS[bulwark]}" -v x="${MRPS[$1]}" 'BEGIN { if (x > 0) printf "%.2fx", b / x; else print "-" }')
	c=$(awk -v b="${MCPU[bulwark]}" -v x="${MCPU[$1]}" 'BEGIN { if (x > 0) printf "%.2fx", b / x; else print "-" }')
	printf '| %s | %.0f | %.1f | %s | %s |\n' "$1" "${MRPS[$1]}" "${MCPU[$1]}" "$r" "$c"
done

# The same ratios taken round by round (each round's targets ran within
# seconds of each other, so a drift of the machine's speed between rounds
# cancels out), then their median: steadier than the ratio of medians.
if [ -n "${CPU[bulwark]:-}" ] && [ "$ROUNDS" -gt 1 ]; then
	printf '\nround by round, bulwark against each target (median of the rounds):\n\n'
	printf '| target | CPU ratios | median | req/s ratios | median |\n|---|---|---:|---|---:|\n'
	read -r -a bc <<<"${CPU[bulwark]}"
	read -r -a br <<<"${RPS[bulwark]}"
	for t in "${TARGETS[@]}"; do
		set -- $t
		[ "$1" = bulwark ] && continue
		read -r -a xc <<<"${CPU[$1]}"
		read -r -a xr <<<"${RPS[$1]}"
		cr="" rr=""
		for i in "${!bc[@]}"; do
			cr="$cr $(awk -v b="${bc[$i]}" -v x="${xc[$i]:-0}" 'BEGIN { if (x > 0) printf "%.2f", b / x }')"
			rr="$rr $(awk -v b="${br[$i]}" -v x="${xr[$i]:-0}" 'BEGIN { if (x > 0) printf "%.2f", b / x }')"
		done
		printf '| %s | %s | %.2fx | %s | %.2fx |\n' "$1" "${cr# }" "$(echo "$cr" | median)" "${rr# }" "$(echo "$rr" | median)"
	done
fi
