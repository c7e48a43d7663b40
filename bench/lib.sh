# bench/lib.sh - the shell helpers bench/run and bench/scale share. Sourced,
# not run.
#
# The caller sets, before sourcing: root (the repository), dir (its scratch
# directory), bench_name (the prefix of its messages); and before starting
# gateways or load: token, patients, conns, run_id, and public_base (the URL
# the gateways believe they are reached at, which the load generator signs)
# and lg_port (where the load generator connects: a gateway or HAProxy).
#
# State kept here: bin (build-bench/), conninfo and pg_pid (PostgreSQL),
# fake_pid and fake_port (the fake Twilio API), gw_pids (the gateways, an
# array), lb_pid (HAProxy, when there is one), seq_next (the load generator's
# next message number).

hz=$(getconf CLK_TCK)
bin=$root/build-bench
conninfo=
pg_pid=
fake_pid=
fake_port=
gw_pids=()
lb_pid=
seq_next=0

say() { printf '[%s %s] %s\n' "$bench_name" "$(date +%T)" "$*" >&2; }

# bench_build: the gateway and the benchmark tools, in build-bench/.
bench_build() {
  say "building (build-bench/)"
  cmake -S "$root" -B "$bin" -DCARENAV_BENCH=ON >/dev/null
  cmake --build "$bin" -j2 --target carenav carenav-loadgen carenav-fake-provider carenav-replay >/dev/null
}

# bench_pg_start: a private PostgreSQL in $dir/pg (deploy/pg-local settings),
# or, when BENCH_DATABASE_URL is set, that server (a key=value conninfo, e.g.
# "host=db1 user=bench dbname=bench"): the database server of the hardware
# being sized, on its own host. Its CPU is then not measured here (pg_pid
# stays empty and the PostgreSQL columns say "-").
bench_pg_start() {
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    say "PostgreSQL at BENCH_DATABASE_URL (its CPU is not measured from here)"
    conninfo=$BENCH_DATABASE_URL
    return
  fi
  say "PostgreSQL in $dir/pg"
  "$root/deploy/pg-local" start "$dir/pg" >/dev/null
  conninfo=$("$root/deploy/pg-local" conninfo "$dir/pg")
  pg_pid=$(head -n 1 "$dir/pg/data/postmaster.pid")
}
bench_pg_restart() {
  "$root/deploy/pg-local" stop "$dir/pg" >/dev/null
  "$root/deploy/pg-local" start "$dir/pg" >/dev/null
  pg_pid=$(head -n 1 "$dir/pg/data/postmaster.pid")
}
sql() { psql "$conninfo" -XAtqc "$1"; }

# bench_fake_start PORT: bench/fake_provider.c as the Twilio API; stops the
# run if it cannot listen (the machine is shared: the port may be taken).
bench_fake_start() {
  fake_port=$1
  "$bin/carenav-fake-provider" "$fake_port" 2>"$dir/fake.log" &
  fake_pid=$!
  for _ in $(seq 50); do
    curl -fs --max-time 1 "http://127.0.0.1:$fake_port/stats" >/dev/null 2>&1 && return 0
    kill -0 "$fake_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/fake.log" >&2; say "the fake provider did not start on port $fake_port"; exit 1
}
# free_port [NOT]: a TCP port free on 127.0.0.1 now, other than NOT.
free_port() {
  local p
  while :; do
    p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    [ "$p" != "${1:-}" ] && { echo "$p"; return; }
  done
}

# bench_gateway_start PORT VAR_DIR LOG: one gateway with the Twilio provider,
# on this database; waits until it is ready. Any gateway setting in the
# environment (DB_POOL_SIZE, LOG_LEVEL, ...) passes through. The load
# generator (or HAProxy) is one client address with BENCH_CONNS keep-alive
# connections, so the per-client connection cap is off unless set.
bench_gateway_start() {
  bench_env
  env "${gw_env[@]}" VAR_DIR="$2" HTTP_PORT="$1" "$bin/carenav" serve >"$3" 2>&1 &
  gw_pids+=($!)
  bench_wait_ready "http://127.0.0.1:$1/readyz" "$3"
}
# bench_env: the gateway's settings (this database, the Twilio provider at
# the fake) as NAME=value words in gw_env, for env(1), so that $! is the
# program itself; carenav-replay and "carenav migrate" get the same.
bench_env() {
  # No send cap unless asked: the benchmark measures the gateway, not OUTBOUND_RATE_PER_SEC.
  # The load generator's 64 keep-alive connections may idle past the default 5 s in
  # an open loop; a close that crosses its next request fails that webhook (the
  # keep-alive race every HTTP client has), which stops a run: a minute, unless set.
  # The load's patients text far faster than people do (a --quick run sends each
  # of its 2000 about 15 texts a minute); past RATE_LIMIT_MESSAGES a text is
  # stored and gets no answer, so the later phases would measure the throttle
  # and deliver no replies at all: no per-patient limit unless set.
  gw_env=(MAX_CONNECTIONS_PER_CLIENT="${MAX_CONNECTIONS_PER_CLIENT:-0}"
    HTTP_IDLE_TIMEOUT_S="${HTTP_IDLE_TIMEOUT_S:-60}" RATE_LIMIT_MESSAGES="${RATE_LIMIT_MESSAGES:-100000}"
    OUTBOUND_RATE_PER_SEC="${OUTBOUND_RATE_PER_SEC:-0}" DATABASE_URL="$conninfo" SMS_PROVIDER=twilio
    TWILIO_ACCOUNT_SID=ACbench TWILIO_AUTH_TOKEN="$token" TWILIO_API_BASE="http://127.0.0.1:$fake_port"
    PUBLIC_BASE_URL="$public_base")
}
# bench_wait_ready URL LOG: up to 10 s for a 200 from URL; shows LOG if none.
bench_wait_ready() {
  for _ in $(seq 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  curl -fs "$1" >/dev/null || { cat "$2" >&2; exit 1; }
}
bench_gateways_stop() {
  local p
  # A gateway stopped for the replay (SIGSTOP) would hold SIGTERM until continued.
  for p in "${gw_pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for p in "${gw_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  gw_pids=()
}

# bench_cleanup: stops everything started above; removes $dir unless BENCH_KEEP=1.
bench_cleanup() {
  bench_gateways_stop
  [ -n "$lb_pid" ] && kill "$lb_pid" 2>/dev/null && wait "$lb_pid" 2>/dev/null || true
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null || true
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    # Its data is thrown away: no shutdown checkpoint to wait for.
    "$root/deploy/pg-local" stop-immediate "$dir/pg" >/dev/null 2>&1 || true
    rm -rf "$dir"
  else
    "$root/deploy/pg-local" stop "$dir/pg" >/dev/null 2>&1 || true
    say "kept $dir"
  fi
}

# CPU ticks (user+system) of processes, of PostgreSQL's processes, RSS in KiB.
ticks() {
  local f=() p
  for p in "$@"; do [ -r "/proc/$p/stat" ] && f+=("/proc/$p/stat"); done
  [ ${#f[@]} -gt 0 ] || { echo 0; return; }
  cat "${f[@]}" 2>/dev/null | awk '{t += $14 + $15} END {print t + 0}'
}
# PostgreSQL's: the postmaster and its live processes, plus what the ones that
# ended had used (the postmaster's cutime + cstime): the replay's backends and
# autovacuum workers come and go between two marks.
pg_ticks() {
  [ -n "$pg_pid" ] || { echo 0; return; }
  echo $(( $(ticks "$pg_pid" $(ps -o pid= --ppid "$pg_pid")) +
    $(awk '{print $16 + $17}' "/proc/$pg_pid/stat") ))
}
# pg_ticks_split: PostgreSQL's ticks as "backend_user backend_system
# other_user other_system": the client backends (the gateway's connections)
# and the rest (walwriter, checkpointer, bgwriter, autovacuum, the
# postmaster, and the processes that ended, cutime + cstime). At low load
# the question is whose time it is: the backends' own, or the kernel's
# (WAL flushes, socket calls).
pg_ticks_split() {
  [ -n "$pg_pid" ] || { echo 0 0 0 0; return; }
  # Shell builtins only: a mark runs this some 40 times a quick run, and three
  # processes per PostgreSQL process made it a tenth of a second each time.
  local p bu=0 bs=0 ou=0 os=0 f title
  read -r -a f <"/proc/$pg_pid/stat"
  ou=$((f[13] + f[15])) os=$((f[14] + f[16]))
  for p in $(ps -o pid= --ppid "$pg_pid"); do
    read -r -a f 2>/dev/null <"/proc/$p/stat" || continue
    # The process title PostgreSQL writes over its argv: "postgres: user db [local] idle".
    IFS= read -r -d '' title 2>/dev/null <"/proc/$p/cmdline" || true
    if [[ $title =~ \[local\]|\([0-9]+\) ]]; then
      bu=$((bu + f[13])) bs=$((bs + f[14]))
    else
      ou=$((ou + f[13])) os=$((os + f[14]))
    fi
  done
  echo "$bu $bs $ou $os"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Replies the fake provider has taken. It answers /stats between thousands of
# sends; ask again if one request goes unanswered, and stop the run if it never does.
delivered() {
  local n
  for _ in $(seq 50); do
    n=$(curl -fs --max-time 2 "http://127.0.0.1:$fake_port/stats" | sed 's/[^0-9]//g')
    if [ -n "$n" ]; then echo "$n"; return 0; fi
    sleep 0.1
  done
  echo "bench: the fake provider does not answer /stats (log: $dir/fake.log)" >&2
  return 1
}
load1() { cut -d' ' -f1 /proc/loadavg; }
commits() { sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
# The cluster's WAL so far: records, full-page images, bytes (pg_stat_wal).
wal() { sql "SELECT wal_records || ' ' || wal_fpi || ' ' || wal_bytes FROM pg_stat_wal"; }
# logged_between PATTERN T0 T1: the private cluster's log lines matching
# PATTERN from T0 to T1 (epoch seconds); "-" with BENCH_DATABASE_URL. For the
# checkpoints started (log_checkpoints is on by default; pg_stat_bgwriter
# counts one only once it ends, often a phase later, and a p99 is decided by
# when it starts) and the autovacuum runs of a second or more (deploy/pg-local).
logged_between() {
  local n=0 day hms
  [ -n "$pg_pid" ] && [ -f "$dir/pg/server.log" ] || { echo -; return; }
  while read -r day hms _; do
    awk -v t="$(date -d "$day $hms UTC" +%s.%N)" -v a="$2" -v b="$3" 'BEGIN {exit !(t >= a && t < b)}' &&
      n=$((n + 1))
  done < <(grep -E "$1" "$dir/pg/server.log")
  echo "$n"
}

# bench_mark NAME: the counters now, as NAME_t (seconds), NAME_gw, NAME_lb,
# NAME_pg, NAME_fake (CPU ticks), NAME_sent (replies delivered), NAME_commits,
# NAME_wal (records, full-page images, bytes), NAME_busy and NAME_all (the machine's busy and total ticks, /proc/stat).
bench_mark() {
  local n=$1 busy all
  printf -v "${n}_t" '%s' "$(date +%s.%N)"
  read -r busy all < <(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  printf -v "${n}_gw" '%s' "$(ticks "${gw_pids[@]}")"
  printf -v "${n}_lb" '%s' "$(ticks $lb_pid)"
  printf -v "${n}_pg" '%s' "$(pg_ticks)"
  printf -v "${n}_pgsplit" '%s' "$(pg_ticks_split)"
  printf -v "${n}_fake" '%s' "$(ticks "$fake_pid")"
  printf -v "${n}_sent" '%s' "$(delivered)"
  printf -v "${n}_commits" '%s' "$(commits)"
  printf -v "${n}_wal" '%s' "$(wal)"
  printf -v "${n}_busy" '%s' "$busy"
  printf -v "${n}_all" '%s' "$all"
}
# bench_cost A B TEXTS: from mark A to mark B, per text: C_gw_ms, C_lb_ms,
# C_pg_ms, C_fake_ms (CPU ms), C_pg_split, C_commits, C_wal ("records, full-page
# images, bytes" per text, then in all the checkpoints started and the autovacuum runs logged); and C_sent (replies delivered),
# C_secs, C_busy_pct (of all cores).
bench_cost() {
  local a=$1 b=$2 n=$3 k x y
  [ "$n" -gt 0 ] || n=1
  for k in gw lb pg fake; do
    x=${a}_$k; y=${b}_$k
    printf -v "C_${k}_ms" '%s' "$(awk -v x="${!x}" -v y="${!y}" -v n="$n" -v hz="$hz" \
      'BEGIN {printf "%.3f", (y - x) * 1000 / hz / n}')"
  done
  [ -n "$pg_pid" ] || C_pg_ms=-
  # C_pg_split: "backends user/system, other user/system" in ms per text.
  x=${a}_pgsplit; y=${b}_pgsplit
  C_pg_split=$(awk -v x="${!x}" -v y="${!y}" -v n="$n" -v hz="$hz" 'BEGIN {
    split(x, p, " "); split(y, q, " "); for (i = 1; i <= 4; i++) d[i] = (q[i] - p[i]) * 1000 / hz / n
    printf "%.2f/%.2f + %.2f/%.2f", d[1], d[2], d[3], d[4]}')
  [ -n "$pg_pid" ] || C_pg_split=-
  x=${a}_commits; y=${b}_commits
  C_commits=$(awk -v x="${!x}" -v y="${!y}" -v n="$n" 'BEGIN {printf "%.2f", (y - x) / n}')
  x=${a}_wal; y=${b}_wal
  C_wal=$(awk -v x="${!x}" -v y="${!y}" -v n="$n" 'BEGIN {
    split(x, p, " "); split(y, q, " ")
    printf "%.1f, %.2f, %.0f B", (q[1] - p[1]) / n, (q[2] - p[2]) / n, (q[3] - p[3]) / n}')
  x=${a}_sent; y=${b}_sent
  C_sent=$(( ${!y} - ${!x} ))
  x=${a}_t; y=${b}_t
  C_wal="$C_wal, checkpoints $(logged_between "checkpoint starting" "${!x}" "${!y}")"
  C_wal="$C_wal, autovacuums of 1 s or more $(logged_between "automatic (vacuum|analyze) of table" "${!x}" "${!y}")"
  C_secs=$(awk -v x="${!x}" -v y="${!y}" 'BEGIN {printf "%.1f", y - x}')
  local ab=${a}_busy bb=${b}_busy aa=${a}_all ba=${b}_all
  C_busy_pct=$(awk -v b0="${!ab}" -v b1="${!bb}" -v a0="${!aa}" -v a1="${!ba}" \
    'BEGIN {printf "%.0f", (a1 > a0) ? (b1 - b0) * 100 / (a1 - a0) : 0}')
}

# bench_loadgen ARGS...: runs one phase of the load generator against
# lg_port; sets its LG_* and, per accepted webhook during the phase,
# PH_gw_ms_per_msg, PH_pg_ms_per_msg, PH_pg_split (C_pg_split), PH_commits_per_msg, PH_wal (C_wal), and PH_replies,
# PH_replies_per_s, PH_load.
bench_loadgen() {
  local res
  bench_mark ph0
  res=$("$bin/carenav-loadgen" --port "$lg_port" --token "$token" --public-base "$public_base" \
    --run-id "$run_id" --patients "$patients" --start "$seq_next" --conns "$conns" "$@") || {
    echo "$res" >&2; say "load generator reported errors"; tail -n 20 "$dir"/gateway*.log >&2; exit 1; }
  eval "$res"
  seq_next=$LG_next_seq
  bench_mark ph1
  bench_cost ph0 ph1 "$LG_ok"
  PH_gw_ms_per_msg=$C_gw_ms
  PH_pg_ms_per_msg=$C_pg_ms
  PH_pg_split=$C_pg_split
  PH_commits_per_msg=$C_commits
  PH_wal=$C_wal
  PH_replies=$C_sent
  PH_replies_per_s=$(awk -v r="$PH_replies" -v s="$LG_seconds" 'BEGIN {printf "%.1f", r / s}')
  PH_load=$(load1)
}

# bench_machine: the machine and software, as Markdown list items.
bench_machine() {
  echo "- $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- PostgreSQL $(psql "$conninfo" -XAtqc 'SHOW server_version'), $([ -n "$pg_pid" ] && echo "deploy/pg-local" || echo "BENCH_DATABASE_URL (another host)") settings: $(sql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'shared_buffers', 'max_connections', 'wal_writer_delay')")"
  echo "- libevent $(pkg-config --modversion libevent), libpq $(pkg-config --modversion libpq), libcurl $(pkg-config --modversion libcurl)"
}

# Texts stored but not answered yet, plus replies not sent yet.
backlog() {
  sql "SELECT (SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NULL)
            + (SELECT count(*) FROM outbox WHERE state = 'pending')"
}
# drain: waits (up to 300 s) until the backlog is 0; prints the seconds it
# took (to 0.1 s, polled).
drain() {
  local t0=$EPOCHREALTIME
  while [ "$(backlog)" != 0 ]; do
    if awk -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN {exit !(t1 - t0 > 300)}'; then
      say "backlog did not drain in 300 s"; exit 1
    fi
    sleep 0.1
  done
  awk -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN {printf "%.1f", t1 - t0}'
}

# writeback_settle: every measured phase starts settled, so that its CPU and
# latency are its own texts', not the leftovers of the phases before it:
# VACUUM (their dead rows, which autovacuum and the backends' pruning would
# otherwise clear during it), ANALYZE of the tables autovacuum would analyze
# now (its default thresholds: a plain VACUUM leaves them due, and the
# partition phase's first max phase paid for the ANALYZE of the walk's
# tables, its other processes' CPU twice the next phases'; VACUUM (ANALYZE)
# of every table took a second per phase), CHECKPOINT (so that none starts within it), and
# sync. PostgreSQL 15 grows a table by writing zero pages through the page
# cache (some 130 MB in a quick run's max phase and replay), and the kernel
# writes all of a file's dirty pages at once, 30 s after the first of them
# (vm.dirty_expire_centisecs): that burst held the WAL's fdatasync for
# 100-250 ms a few seconds into the half phase (docs/architecture.md). The
# soak, minutes long, then pays for the vacuum and checkpoints of its own texts.
writeback_settle() {
  sql "VACUUM" >/dev/null 2>&1 || true
  sql "DO \$\$DECLARE t regclass; BEGIN
         FOR t IN SELECT relid FROM pg_stat_user_tables WHERE n_mod_since_analyze > 50 + 0.1 * n_live_tup LOOP
           EXECUTE format('ANALYZE %s', t);
         END LOOP; END\$\$" >/dev/null 2>&1 || true
  sql "CHECKPOINT" >/dev/null 2>&1 || true  # needs a superuser (BENCH_DATABASE_URL may not be one)
  sync
}

# last_answer_epoch SINCE: when PostgreSQL stored the last answer to a text
# that came after SINCE (epoch seconds): the latest processed mark or 'sent'
# mark, as epoch seconds. It ends the gateway's end-to-end time exactly, as the
# replay's own clock ends its: the benchmark's bookkeeping after a phase and
# the drain's polling are not the gateway's time.
last_answer_epoch() {
  sql "SELECT extract(epoch FROM greatest(
         (SELECT max(processed_at) FROM messages WHERE direction = 'in' AND created_at >= to_timestamp($1)),
         (SELECT max(status_updated_at) FROM messages WHERE direction = 'out' AND created_at >= to_timestamp($1))))"
}

# fn_snap NAME [WAIT]: PostgreSQL's per-function counters (pg_stat_user_functions,
# track_functions = pl) after WAIT seconds, as $dir/fn-NAME: name, calls, self
# ms, total ms. A backend publishes them within a second of going idle, one
# that ends as it ends: wait 1.1 s after work on open connections.
fn_snap() {
  sleep "${2:-0}"
  sql "SELECT funcname, sum(calls), sum(self_time), sum(total_time) FROM pg_stat_user_functions
        GROUP BY funcname" | tr '|' ' ' >"$dir/fn-$1"
}
# fn_delta A B: per function, the counters from snapshot A to snapshot B
# (name calls self_ms total_ms), functions called in between only.
fn_delta() {
  awk 'NR == FNR {c[$1] = $2; s[$1] = $3; t[$1] = $4; next}
       $2 - c[$1] > 0 {printf "%s %d %.3f %.3f\n", $1, $2 - c[$1], $3 - s[$1], $4 - t[$1]}' \
    "$dir/fn-$1" "$dir/fn-$2"
}
# fn_calls DELTA_FILE NAME: the calls of function NAME in a fn_delta output (0 if none).
fn_calls() { awk -v f="$2" '$1 == f {n = $2} END {print n + 0}' "$1"; }
