#!/usr/bin/env bash
# Gateway throughput: bulwark serve against a bare Go proxy, Caddy and nginx,
# all on loopback over HTTPS in front of the same backend, measured in one
# run with wrk. Usage:
#
#   scripts/bench-gateway.sh            # ROUNDS=3 DURATION=10s by default
#   ROUNDS=1 DURATION=5s scripts/bench-gateway.sh
#
# Each peer has the same redirect, HSTS header and 10 MB body cap (configs in
# scripts/bench/); bulwark runs with every protection on (host validation,
# redirect, HSTS and security headers, limits, edge CSRF, cookie hardening,
# forwarded-header stripping, access log to a file). Targets are measured
# in interleaved rounds and the median req/s is reported. Only loopback is
# used; every process started is stopped on exit.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(mktemp -d /tmp/bulwark-bench.XXXXXX)
PIDS=()

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

echo "scratch: $SCRATCH" >&2
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

subst() { sed "s|\$SCRATCH|$SCRATCH|g" "$1" > "$2"; }
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
}
C="$SCRATCH/certs"
start backend "$SCRATCH/bin/backend" -cert "$C/chain.pem" -key "$C/leaf-key.pem"
start goproxy "$SCRATCH/bin/goproxy" -cert "$C/chain.pem" -key "$C/leaf-key.pem"
"$SCRATCH/bin/bulwark" serve --check --config "$SCRATCH/bulwark.toml" >/dev/null
start bulwark "$SCRATCH/bin/bulwark" serve --config "$SCRATCH/bulwark.toml"
caddy validate --config "$SCRATCH/caddy/Caddyfile" --adapter caddyfile >/dev/null 2>&1
start caddy env HOME="$SCRATCH/caddy" XDG_DATA_HOME="$SCRATCH/caddy/data" XDG_CONFIG_HOME="$SCRATCH/caddy/config" \
	caddy run --config "$SCRATCH/caddy/Caddyfile" --adapter caddyfile
nginx -t -c "$SCRATCH/nginx/nginx.conf" -p "$SCRATCH/nginx" >/dev/null 2>&1
start nginx nginx -c "$SCRATCH/nginx/nginx.conf" -p "$SCRATCH/nginx" -g 'daemon off;'

# name https-port http-port
TARGETS=("backend 18443 -" "go-proxy 18446 18083" "caddy 18444 18081" "nginx 18445 18082" "bulwark 18447 18084")

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

declare -A RESULTS
for r in $(seq 1 "$ROUNDS"); do
	for t in "${TARGETS[@]}"; do
		set -- $t
		out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Host: site.test:$2" "https://127.0.0.1:$2/" 2>&1)
		rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
		non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
		errs=$(echo "$out" | awk '/Socket errors/ {print $0}')
		echo "round $r $1: ${rps:-?} req/s ${non2xx:+non-2xx=$non2xx} ${errs}" >&2
		RESULTS[$1]="${RESULTS[$1]:-} ${rps:-0}"
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A MED
for t in "${TARGETS[@]}"; do
	set -- $t
	MED[$1]=$(echo "${RESULTS[$1]}" | median)
done
printf '\nwrk -t%s -c%s -d%s, HTTPS (HTTP/1.1), %s round(s), median req/s\n\n' "$THREADS" "$CONNS" "$DURATION" "$ROUNDS"
printf '| target | req/s | bulwark / target |\n|---|---:|---:|\n'
for t in "${TARGETS[@]}"; do
	set -- $t
	ratio=$(awk -v b="${MED[bulwark]}" -v x="${MED[$1]}" 'BEGIN { if (x > 0) printf "%.2fx", b / x; else print "-" }')
	printf '| %s | %.0f | %s |\n' "$1" "${MED[$1]}" "$ratio"
done
