# shellcheck shell=bash
# Shared by the whole-system benchmarks in bench/: sourced, never run. It starts what a benchmark
# measures against on loopback (a CNCF registry, nginx, oranc server), seeds the registry in oranc's
# layout (SPEC §1) with curl, runs wrk and curl, and appends results to bench/results/NAME.tsv.
#
# Everything it starts is recorded by PID and stopped by PID when the script exits, however it
# exits; its files live in one temporary directory that goes too (KEEP=1 keeps it). Store paths it
# builds get unique names and are deleted again; it never garbage-collects the shared store.
#
# Results: one line per measurement, tab-separated:
#   scenario  target  param  rep  metric  value
# e.g. "narinfo-hits  oranc  c=64  2  req_s  51234.5". bench/report takes the median and range
# over rep and rewrites the tables of docs/BENCHMARKS.md.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
ORANC=${ORANC:-$ROOT/cli/target/oranc}
export LC_ALL=C.UTF-8
# Nix as root on Debian: no nixbld group, no sandbox (the builders use /usr/bin), no network; and
# no narinfo disk cache, so that a second `nix copy --to` asks the server again instead of
# remembering for a month what it saw the first time.
export NIX_CONFIG=$'build-users-group =\nsandbox = false\nsubstituters =\nextra-experimental-features = nix-command\nnarinfo-cache-positive-ttl = 0\nnarinfo-cache-negative-ttl = 0'

MODE=quick
REPS=3
_pids=()
_store_paths=()
_salts=()
WORK=""

say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# bench_init NAME [--quick|--full|--smoke]: parses the mode, makes the work directory, arms cleanup.
# --smoke is for checking that a script works at all: seconds, one repetition, no figures to keep.
bench_init() {
  BENCH_NAME=$1
  shift
  for arg in "$@"; do
    case "$arg" in
      --quick) MODE=quick ;;
      --full) MODE=full ;;
      --smoke) MODE=smoke ;;
      -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
      *) die "unknown argument '$arg' (expected --quick, --full or --smoke)" ;;
    esac
  done
  [ "$MODE" = smoke ] && REPS=1
  WORK=$(mktemp -d "/tmp/oranc-bench-$BENCH_NAME.XXXXXX")
  trap _cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$RESULTS_DIR"
  RESULTS=$RESULTS_DIR/$BENCH_NAME.tsv
  : > "$RESULTS.partial"
  say "$BENCH_NAME: $MODE mode, $REPS repetitions, work directory $WORK"
}

# Moves the results into place only when the script succeeded, so a failed run never replaces
# the figures of a good one.
bench_done() {
  mv "$RESULTS.partial" "$RESULTS"
  say "$BENCH_NAME: results in ${RESULTS#"$ROOT"/}"
}

_cleanup() {
  local status=$?
  local pid
  for pid in "${_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Everything named after a salt this run used, even what a failed build left behind.
  local salt
  for salt in "${_salts[@]}"; do
    mapfile -t -O "${#_store_paths[@]}" _store_paths < <(compgen -G "/nix/store/*-oranc-bench-$salt-*" || true)
  done
  if [ "${#_store_paths[@]}" -gt 0 ]; then
    nix-store --delete "${_store_paths[@]}" >/dev/null 2>&1 ||
      say "some store paths this run built could not be deleted (still referenced?)"
  fi
  if [ -n "$WORK" ]; then
    if [ -n "${KEEP:-}" ] || [ "$status" -ne 0 ]; then
      say "work directory kept: $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  rm -f "${RESULTS:-/nonexistent}.partial" 2>/dev/null || true
  return "$status"
}

# record TARGET PARAM REP METRIC VALUE
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$BENCH_NAME" "$1" "$2" "$3" "$4" "$5" >> "$RESULTS.partial"
}

# --- packages and builds -------------------------------------------------------------------------

# need_packages PKG...: installs missing Debian packages (as root; apt-get update first).
need_packages() {
  "$ROOT/scripts/install-deps" "$@" >&2
}

need_load_tools() {
  local nginx_pkg=nginx-light
  command -v nginx >/dev/null && nginx_pkg=""
  # shellcheck disable=SC2086
  need_packages wrk jq $nginx_pkg
}

# Builds cli/target/oranc when it is missing (mvn package, tests skipped; never install).
need_oranc() {
  if [ ! -x "$ORANC" ] || [ -n "$(find "$ROOT"/{common,proxy,push,retention,cli}/src -newer "$ORANC" -type f -print -quit 2>/dev/null)" ]; then
    say "building oranc (mvn package -pl cli -am, tests skipped)"
    (cd "$ROOT" && mvn -B -ntp -q package -pl cli -am -DskipTests) >&2
  fi
}

# --- processes ----------------------------------------------------------------------------------

# The TCP port a process listens on (its first listening socket), from /proc: no port is guessed.
listening_port() {
  local pid=$1 inode hex
  for inode in $(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n'); do
    # /proc/net/tcp: local_address is HEXIP:HEXPORT, st 0A is LISTEN, the 10th field the inode.
    hex=$(awk -v ino="$inode" '$4 == "0A" && $10 == ino { split($2, a, ":"); print a[2]; exit }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    if [ -n "$hex" ]; then echo $((16#$hex)); return 0; fi
  done
  return 1
}

# A port nothing listens on now (for programs that cannot bind port 0 and report it, like nginx).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  die "no free port found"
}

# wait_http URL PID SECONDS: until URL answers (any status) or the process exits.
wait_http() {
  local url=$1 pid=$2 seconds=$3
  for _ in $(seq $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

# The kernel's peak resident set of a process in KiB, and how to reset it (Linux >= 4.0).
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
reset_peak_rss() { echo 5 > "/proc/$1/clear_refs"; }

# start_registry: a CNCF distribution registry on 127.0.0.1:<free port>, filesystem storage under
# the work directory. Sets REGISTRY (host:port) and REGISTRY_PID. Its log level is "error" and its
# access log is off: the registry is a reference here, and logging every request would slow it down.
start_registry() {
  mkdir -p "$WORK/registry"
  cat > "$WORK/registry.yml" <<YAML
version: 0.1
log: {level: error, formatter: text, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $WORK/registry}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:0
YAML
  docker-registry serve "$WORK/registry.yml" > "$WORK/registry.log" 2>&1 &
  REGISTRY_PID=$!
  _pids+=("$REGISTRY_PID")
  local port=""
  for _ in $(seq 100); do
    port=$(listening_port "$REGISTRY_PID" || true)
    [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    kill -0 "$REGISTRY_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$WORK/registry.log" >&2; die "the registry did not start"; }
  REGISTRY=127.0.0.1:$port
  say "registry at http://$REGISTRY (pid $REGISTRY_PID)"
}

# start_nginx: nginx-light with 2 workers on a free port: /static/ from $WORK/static, /v2/
# proxied to the registry (HTTP/1.1 keep-alive upstream, buffering in memory only: no temp files,
# as a relay should). Sets NGINX (host:port) and NGINX_PID (the master; it stops its workers).
start_nginx() {
  local port
  port=$(free_port)
  mkdir -p "$WORK/static" "$WORK/nginx"
  # nginx's workers run as www-data: they must be able to read the static files.
  chmod 755 "$WORK" "$WORK/static"
  cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
error_log $WORK/nginx/error.log error;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  types { }
  default_type application/octet-stream;
  upstream registry { server $REGISTRY; keepalive 256; }
  server {
    listen 127.0.0.1:$port;
    location /static/ { alias $WORK/static/; }
    location /v2/ {
      proxy_pass http://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_max_temp_file_size 0;
      client_max_body_size 0;
    }
  }
}
NGINX
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off; master_process on;' \
    > "$WORK/nginx/stdout.log" 2>&1 &
  NGINX_PID=$!
  _pids+=("$NGINX_PID")
  NGINX=127.0.0.1:$port
  wait_http "http://$NGINX/static/" "$NGINX_PID" 10 ||
    { cat "$WORK/nginx/error.log" "$WORK/nginx/stdout.log" >&2 2>/dev/null; die "nginx did not start"; }
  say "nginx at http://$NGINX (pid $NGINX_PID)"
}

# start_oranc: oranc server on a free loopback port in front of the registry (plain HTTP to it and
# allowed by name: the server refuses loopback registries otherwise). Sets ORANC_URL
# (http://host:port/REGISTRY) and ORANC_PID, or ORANC_URL="" when this build has no server yet (the
# oranc rows are then left out, and bench/report says why).
start_oranc() {
  ORANC_URL=""
  need_oranc
  local port
  port=$(free_port)
  # shellcheck disable=SC2086 # ORANC_SERVER_ARGS: extra flags, split on spaces
  ORANC_JAVA_OPTS=${ORANC_BENCH_JAVA_OPTS:-} "$ORANC" server --insecure-registry "$REGISTRY" --allow-registry "$REGISTRY" -l "127.0.0.1:$port" \
    ${ORANC_SERVER_ARGS:-} > "$WORK/oranc-server${ORANC_SERVER_LOG_SUFFIX:-}.log" 2>&1 &
  ORANC_PID=$!
  if wait_http "http://127.0.0.1:$port/" "$ORANC_PID" 60; then
    _pids+=("$ORANC_PID")
    ORANC_URL=http://127.0.0.1:$port/$REGISTRY
    say "oranc server at http://127.0.0.1:$port (pid $ORANC_PID)"
  else
    kill "$ORANC_PID" 2>/dev/null || true
    wait "$ORANC_PID" 2>/dev/null || true
    say "oranc server is not available in this build: $(tail -n 3 "$WORK/oranc-server.log" | tr '\n' ' ')"
    record oranc - 0 unavailable 1
  fi
}

# --- seeding the registry in oranc's layout (SPEC §1) ---------------------------------------------

# tag_of KEY: the custom tag encoding (SPEC §2) for the characters our keys use; anything else is
# refused rather than encoded wrongly. Checked against `oranc tag encode` by check_tag_encoding.
tag_of() {
  local key=$1 out="" c i
  for ((i = 0; i < ${#key}; i++)); do
    c=${key:i:1}
    case "$c" in
      [A-Za-z0-9]) out+=$c ;;
      [.-]) if [ "$i" -eq 0 ]; then [ "$c" = . ] && out+=_K_ || out+=_J_; else out+=$c; fi ;;
      /) out+=_L_ ;;
      :) out+=_W_ ;;
      !) out+=_x_ ;;
      _) out+=_1v_ ;;
      *) die "tag_of: no encoding for '$c' in key '$key'" ;;
    esac
  done
  echo "$out"
}

check_tag_encoding() {
  [ -x "$ORANC" ] || return 0
  local key="nar/0vz5ggyk0ij8fj9hmz1svwh1i8pmhwqp.nar.zst" want
  want=$("$ORANC" tag encode "$key")
  [ "$(tag_of "$key")" = "$want" ] || die "tag_of disagrees with oranc tag encode: $(tag_of "$key") != $want"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# put_blob REPO FILE [DIGEST]: uploads FILE (POST, then a monolithic PUT ?digest=); prints the digest.
put_blob() {
  local repo=$1 file=$2 digest=${3:-} location sep
  [ -n "$digest" ] || digest=sha256:$(sha256_of "$file")
  location=$(curl -fsS -X POST -D - -o /dev/null "http://$REGISTRY/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  [ -n "$location" ] || die "no upload location for $repo"
  case "$location" in http*) ;; *) location=http://$REGISTRY$location ;; esac
  case "$location" in *\?*) sep='&' ;; *) sep='?' ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' -T "$file" -o /dev/null \
    "$location${sep}digest=$digest"
  echo "$digest"
}

# put_key REPO KEY FILE CONTENT_TYPE [CONFIG_DIGEST CONFIG_SIZE]: stores FILE as the cache file KEY:
# its blob, a config blob (or the one given, shared: readers ignore the config's content) and a
# manifest tagged with the key's tag. Prints the layer digest.
put_key() {
  local repo=$1 key=$2 file=$3 type=$4 config_digest=${5:-} config_size=${6:-}
  local layer size tag manifest config
  layer=$(put_blob "$repo" "$file")
  size=$(stat -c %s "$file")
  if [ -z "$config_digest" ]; then
    config=$(mktemp "$WORK/config.XXXXXX")
    printf '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":["%s"]}}' "$layer" > "$config"
    config_digest=$(put_blob "$repo" "$config")
    config_size=$(stat -c %s "$config")
    rm -f "$config"
  fi
  tag=$(tag_of "$key")
  manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/octet-stream","digest":"%s","size":%s,"annotations":{"com.linyinfeng.oranc.content.type":"%s"}}],"annotations":{"com.linyinfeng.oranc.key":"%s","org.opencontainers.image.description":"%s"}}' \
    "$config_digest" "$config_size" "$layer" "$size" "$type" "$key" "$key")
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$manifest" -o /dev/null "http://$REGISTRY/v2/$repo/manifests/$tag"
  echo "$layer"
}

# A narinfo-sized file (about 1 KiB, like a narinfo with a dozen references) for store hash HASH.
make_narinfo() {
  local hash=$1 file=$2 i refs=""
  for i in $(seq 12); do refs+="$(printf '%032d' "$i" | tr 0-9 a-j | cut -c1-32)-dependency-$i-1.2.3 "; done
  cat > "$file" <<EOF
StorePath: /nix/store/$hash-bench-1.0
URL: nar/1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0.nar.zst
Compression: zstd
FileHash: sha256:0vz5ggyk0ij8fj9hmz1svwh1i8pmhwqp1b4sb93wp679q4zx9k1ig
FileSize: 1914561
NarHash: sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0
NarSize: 6563272
References: ${refs% }
Deriver: 0vz5ggyk0ij8fj9hmz1svwh1i8pmhwqp-bench-1.0.drv
Sig: bench-1:$(head -c 64 /dev/zero | base64 -w0)
EOF
}

# corpus_file FILE MIB: MIB MiB of real binaries (the shared libraries, repeated if needed): what
# a NAR holds, not zeros or random bytes.
corpus_file() {
  local file=$1 mib=$2
  : > "$file"
  while [ "$(stat -c %s "$file")" -lt $((mib << 20)) ]; do
    find /usr/lib/x86_64-linux-gnu -type f -size +64k -print0 2>/dev/null | sort -z |
      xargs -0 cat 2>/dev/null | head -c $(((mib << 20) - $(stat -c %s "$file"))) >> "$file" || true
  done
}

# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_seconds() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'; }

# awk_seed: a seed for awk's srand() from /dev/urandom. It must stay below 2^31: mawk (Debian's
# awk) clamps larger seeds, so every "$RANDOM$RANDOM" over 2147483647 gave the same sequence, and
# "fresh" keys repeated between calls.
awk_seed() { echo $(( $(od -An -N4 -tu4 /dev/urandom) % 2147483647 )); }

# random_hashes N: N random store hash parts, one a line (one process, not N).
random_hashes() {
  awk -v n="$1" -v seed="$(awk_seed)" 'BEGIN {
    srand(seed); a = "0123456789abcdfghijklmnpqrsvwxyz"
    for (i = 0; i < n; i++) { h = ""; for (k = 0; k < 32; k++) h = h substr(a, int(rand() * 32) + 1, 1); print h }
  }'
}

# A random store hash part: 32 nix32 characters.
random_hash() { head -c 4096 /dev/urandom | tr -dc '0123456789abcdfghijklmnpqrsvwxyz' | head -c 32; }

# seed_narinfos REPO COUNT LIST: stores COUNT distinct narinfos (~1 KiB each, a blob and a
# manifest per key, one shared config blob) in 4 parallel batches; LIST gets "<hash> <tag> <digest>"
# per key. A batch is one curl for the upload POSTs and one for the blob and manifest PUTs, over
# keep-alive connections: seeding runs at about the registry's own rate, not at process-spawn rate.
seed_narinfos() {
  local repo=$1 count=$2 list=$3 dir config config_digest config_size j
  dir=$(mktemp -d "$WORK/seed.XXXXXX")
  config=$dir/config.json
  printf '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}' > "$config"
  config_digest=$(put_blob "$repo" "$config")
  config_size=$(stat -c %s "$config")
  make_narinfo 00000000000000000000000000000000 "$dir/template"
  mkdir -p "$dir/n" "$dir/m"
  # The narinfos: the template with a fresh random store hash each.
  awk -v n="$count" -v dir="$dir/n" -v seed="$(awk_seed)" '
    BEGIN { srand(seed); a = "0123456789abcdfghijklmnpqrsvwxyz" }
    { t = t $0 "\n" }
    END {
      for (i = 0; i < n; i++) {
        h = ""; for (k = 0; k < 32; k++) h = h substr(a, int(rand() * 32) + 1, 1)
        body = t; gsub(/00000000000000000000000000000000/, h, body)
        printf "%s", body > (dir "/" h ".narinfo"); close(dir "/" h ".narinfo")
      }
    }' "$dir/template"
  (cd "$dir/n" && sha256sum -- *.narinfo) | awk '{ sub(/\.narinfo$/, "", $2); print $2, $2 ".narinfo", "sha256:" $1 }' > "$dir/all"
  [ "$(wc -l < "$dir/all")" -eq "$count" ] || die "made $(wc -l < "$dir/all") distinct narinfos of $count"
  split -n l/4 -d "$dir/all" "$dir/batch."
  local jobs=()
  for j in "$dir"/batch.*; do
    _seed_batch "$repo" "$j" "$dir" "$config_digest" "$config_size" &
    jobs+=($!)
  done
  for j in "${jobs[@]}"; do wait "$j" || die "seeding $repo failed"; done
  cp "$dir/all" "$list"
  rm -rf "$dir"
}

_seed_batch() {
  local repo=$1 batch=$2 dir=$3 config_digest=$4 config_size=$5 size
  size=$(stat -c %s "$dir/n/$(head -n1 "$batch" | cut -d' ' -f1).narinfo")
  awk -v u="http://$REGISTRY/v2/$repo/blobs/uploads/" \
    '{ print "url = \"" u "\"\nrequest = \"POST\"\noutput = \"/dev/null\"\nwrite-out = \"%header{location}\\n\"\nnext" }' \
    "$batch" | sed '$d' > "$batch.post"
  curl -sS -K "$batch.post" | tr -d '\r' > "$batch.locations"
  [ "$(grep -c '^http' "$batch.locations")" -eq "$(wc -l < "$batch")" ] || die "upload POSTs failed in $batch"
  paste -d' ' "$batch" "$batch.locations" | awk -v n="$dir/n" -v m="$dir/m" -v r="http://$REGISTRY/v2/$repo" \
    -v cd="$config_digest" -v cs="$config_size" -v size="$size" '{
      hash = $1; tag = $2; digest = $3; loc = $4
      sep = index(loc, "?") ? "&" : "?"
      print "url = \"" loc sep "digest=" digest "\"\nrequest = \"PUT\"\nupload-file = \"" n "/" hash ".narinfo\""
      print "header = \"Content-Type: application/octet-stream\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\nnext"
      key = hash ".narinfo"
      f = m "/" hash ".json"
      printf "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%s},\"layers\":[{\"mediaType\":\"application/octet-stream\",\"digest\":\"%s\",\"size\":%s,\"annotations\":{\"com.linyinfeng.oranc.content.type\":\"text/x-nix-narinfo\"}}],\"annotations\":{\"com.linyinfeng.oranc.key\":\"%s\",\"org.opencontainers.image.description\":\"%s\"}}", cd, cs, digest, size, key, key > f
      close(f)
      print "url = \"" r "/manifests/" tag "\"\nrequest = \"PUT\"\ndata-binary = \"@" f "\""
      print "header = \"Content-Type: application/vnd.oci.image.manifest.v1+json\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\nnext"
    }' | sed '$d' > "$batch.put"
  curl -sS -K "$batch.put" > "$batch.codes"
  [ "$(grep -c '^201$' "$batch.codes")" -eq "$((2 * $(wc -l < "$batch")))" ] ||
    die "blob or manifest PUTs failed in $batch: $(sort "$batch.codes" | uniq -c | tr '\n' ' ')"
}

# --- load ---------------------------------------------------------------------------------------

# Seconds per wrk run.
wrk_seconds() {
  if [ -n "${WRK_SECONDS:-}" ]; then echo "$WRK_SECONDS"; return; fi
  case "$MODE" in smoke) echo 1 ;; quick) echo 3 ;; full) echo 10 ;; esac
}

# run_wrk TARGET PARAM REP CONNECTIONS URL: runs wrk with wrk/bench.lua for wrk_seconds (or until
# STOP_AT_END), records req_s (operations per second), p50_ms, p99_ms, errors and requests.
# PATHS_FILE, STOP_AT_END, REQUESTS_PER_OP, EXPECT_STATUS and ACCEPT reach the Lua script through
# the environment (see wrk/bench.lua).
run_wrk() {
  local target=$1 param=$2 rep=$3 c=$4 url=$5
  local threads=2 seconds line
  [ "$c" -lt 2 ] && threads=1
  seconds=$(wrk_seconds)
  line=$(THREADS=$threads timeout $((seconds + 120)) \
    wrk -t"$threads" -c"$c" -d"${seconds}s" --timeout 10s -s "$BENCH_DIR/wrk/bench.lua" "$url" |
    grep '^RESULT' || true)
  [ -n "$line" ] || die "wrk against $target ($url) printed no result"
  # RESULT requests duration_us req_s p50_us p99_us errors exhausted
  read -r _ requests _ req_s p50 p99 errors exhausted <<< "$line"
  record "$target" "$param" "$rep" req_s "$req_s"
  record "$target" "$param" "$rep" p50_ms "$(awk -v v="$p50" 'BEGIN { printf "%.3f", v / 1000 }')"
  record "$target" "$param" "$rep" p99_ms "$(awk -v v="$p99" 'BEGIN { printf "%.3f", v / 1000 }')"
  record "$target" "$param" "$rep" errors "$errors"
  record "$target" "$param" "$rep" requests "$requests"
  if [ "$exhausted" = 1 ]; then
    record "$target" "$param" "$rep" exhausted 1
    say "  $target: the path list ran out before the duration ended; some paths were requested twice"
  fi
  say "$(awk -v t="$target" -v p="$param" -v r="$rep" -v q="$req_s" -v a="$p50" -v b="$p99" -v e="$errors" \
    'BEGIN { printf "  %s %s rep %s: %s/s, p50 %.2f ms, p99 %.2f ms, %s errors", t, p, r, q, a / 1000, b / 1000, e }')"
}

# warm URL: load for as long as a measured run, recorded nowhere, so that the JVM has compiled the
# path before it is measured (the first seconds of a fresh oranc run interpreted code).
warm() {
  local seconds
  seconds=${WARM_SECONDS:-$(wrk_seconds)}
  THREADS=2 timeout $((seconds + 60)) wrk -t2 -c64 -d"${seconds}s" -s "$BENCH_DIR/wrk/bench.lua" "$1" > /dev/null ||
    die "warming up against $1 failed"
}

# --- Nix closures -------------------------------------------------------------------------------

# build_closure PATHS MIB: builds a closure of PATHS store paths holding about MIB MiB of real
# files (two thirds shared libraries, one third text from /usr/share), each path referring to two
# others (a binary tree of references: 8 levels for 200 paths). Sets CLOSURE_ROOT (call it
# directly, not in $(...), so that what it built is remembered); every path built (outputs and
# derivations) is deleted when the script exits.
build_closure() {
  local count=$1 mib=$2 salt expr root
  salt=$(date +%s%N)
  _salts+=("$salt") # deleted at exit, with anything a failed build left behind
  expr=$WORK/closure-$salt.nix
  _closure_lists "$count" "$mib" > "$WORK/closure-$salt.lists"
  {
    echo 'let'
    echo '  lists = builtins.filter builtins.isString (builtins.split "\n" (builtins.readFile '"$WORK/closure-$salt.lists"'));'
    echo "  count = $count;"
    echo '  mk = i: let children = builtins.filter (j: j < count) [ (2 * i + 1) (2 * i + 2) ]; in builtins.derivation {'
    echo "    name = \"oranc-bench-$salt-\${toString i}\";"
    echo '    system = builtins.currentSystem;'
    echo '    builder = "/bin/sh";'
    echo '    PATH = "/usr/bin:/bin";'
    echo '    files = builtins.elemAt lists i;'
    echo '    deps = map mk children;'
    echo '    args = [ "-c" "mkdir -p $out/lib $out/share && for f in $files; do cp $f $out/lib/; done && echo $deps > $out/share/references" ];'
    echo '  };'
    echo 'in mk 0'
  } > "$expr"
  root=$(nix-build --no-out-link "$expr" 2> "$WORK/nix-build-$salt.log") ||
    { tail -20 "$WORK/nix-build-$salt.log" >&2; die "nix-build of the closure failed"; }
  local drv
  drv=$(nix-store --query --deriver "$root")
  mapfile -t -O "${#_store_paths[@]}" _store_paths < <(nix-store --query --requisites "$root" "$drv" | grep -- "-oranc-bench-$salt-")
  CLOSURE_ROOT=$root
}

# The files of each path, one line per path: about MIB MiB in all, files of at most 32 MiB.
_closure_lists() {
  local count=$1 mib=$2
  {
    find /usr/lib/x86_64-linux-gnu -type f -size -32M -printf 'B %s %p\n' 2>/dev/null | sort -k3
    find /usr/share -type f -size -4M -printf 'T %s %p\n' 2>/dev/null | sort -k3
  } | grep -v '[[:space:]].*[[:space:]].*[[:space:]]' |
    awk -v count="$count" -v total="$((mib * 1048576))" '
      $1 == "B" { b[nb++] = $3; bs[nb - 1] = $2 }
      $1 == "T" { t[nt++] = $3; ts[nt - 1] = $2 }
      # Each path gets an equal share of what is left; a file more than 4 shares big is skipped,
      # and a path stops before a file that would take it past 2 shares.
      END {
        used = 0
        for (i = 0; i < count; i++) {
          share = (total - used) / (count - i)
          line = ""; size = 0
          while (size < share) {
            if (i % 3 == 2) { if (ti >= nt) break; f = t[ti]; s = ts[ti] }
            else { if (bi >= nb) break; f = b[bi]; s = bs[bi] }
            if (s > 4 * share) { if (i % 3 == 2) ti++; else bi++; continue }
            if (size > 0 && size + s > 2 * share) break
            # The list goes into the builder environment, where one string may not pass 128 KiB.
            if (length(line) + length(f) > 100000) break
            if (i % 3 == 2) ti++; else bi++
            line = line " " f; size += s
          }
          used += size
          print substr(line, 2)
        }
      }'
}

closure_nar_bytes() {
  nix-store --query --requisites "$1" | xargs nix-store --query --size | awk '{ s += $1 } END { print s }'
}

closure_path_count() { nix-store --query --requisites "$1" | wc -l; }

# --- the WAN link (issue 16): testkit's latency and counting proxies as a process -----------------

# need_testkit: compiles testkit (mvn compile -pl testkit, offline first; never install) when its
# classes are missing or older than its sources, and sets TESTKIT_CP to its runtime classpath. The
# classpath is read from the compiler's debug output (its compilePath): the dependency plugin
# cannot resolve itself offline on these machines.
need_testkit() {
  local cp_file=$ROOT/testkit/target/wan-classpath.txt
  if [ ! -s "$cp_file" ] || [ -n "$(find "$ROOT/testkit/src/main" "$ROOT/testkit/pom.xml" -newer "$cp_file" -type f -print -quit 2>/dev/null)" ]; then
    say "compiling testkit for the WAN proxies (mvn compile -pl testkit)"
    local log=$WORK/testkit-build.log
    (cd "$ROOT" && { mvn -B -ntp -o -X compile -pl testkit > "$log" 2>&1 || mvn -B -ntp -X compile -pl testkit > "$log" 2>&1; }) ||
      { grep -E 'ERROR' "$log" | head -20 >&2; die "compiling testkit failed"; }
    sed -n 's/^\[DEBUG\]   (f) compilePath = \[\(.*\)\]$/\1/p' "$log" | head -n1 | sed 's/, /:/g' > "$cp_file"
    [ -s "$cp_file" ] || die "could not read testkit's classpath from the build output ($log)"
  fi
  TESTKIT_CP=$(cat "$cp_file")
}

# start_wan NAME (--upstream HOST:PORT | --ghcr): testkit's WanProxyMain: a counting proxy in front
# of the upstream (or of a GhcrLike it starts, with its own token registry) and latency proxies on
# request (wan_proxy). Sets WAN_CONTROL_<NAME> (host:port of its control endpoint), WAN_PID_<NAME>
# and, with --ghcr, WAN_GHCR_<NAME> (ghcr front, uncounted).
start_wan() {
  local name=$1 file pid
  shift
  need_testkit
  file=$WORK/wan-$name.addresses
  java -XX:+UseSerialGC -Xmx256m -cp "$TESTKIT_CP" dev.oranc.testkit.WanProxyMain "$@" \
    --address-file "$file" --log-dir "$WORK/wan-$name-logs" > "$WORK/wan-$name.log" 2>&1 &
  pid=$!
  _pids+=("$pid")
  for _ in $(seq 600); do
    [ -s "$file" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$file" ] || { tail -20 "$WORK/wan-$name.log" >&2; die "the WAN proxy '$name' did not start"; }
  printf -v "WAN_CONTROL_$name" '%s' "$(awk '$1 == "control" { print $2 }' "$file")"
  printf -v "WAN_PID_$name" '%s' "$pid"
  printf -v "WAN_GHCR_$name" '%s' "$(awk '$1 == "ghcr" { print $2 }' "$file")"
  say "WAN proxy '$name' (pid $pid): $(tr '\n' ' ' < "$file")"
}

# wan_proxy CONTROL RTT_MS [RATE]: a new latency proxy in front of the counting proxy; prints its
# host:port.
wan_proxy() { curl -fsS "http://$1/latency?rtt-ms=$2&rate=${3:-0}" | tr -d '\n'; }
wan_reset() { curl -fsS -o /dev/null "http://$1/reset"; }
# wan_counts CONTROL: the counts since the last reset ("KEY VALUE" lines; see WanProxyMain).
wan_counts() { curl -fsS "http://$1/counts"; }
wan_public() { curl -fsS -o /dev/null "http://$1/public?repository=$2"; }
