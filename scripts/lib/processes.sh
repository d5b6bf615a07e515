# shellcheck shell=bash
# Background processes of the local scripts (control-plane.sh, local-up.sh), sourced by them.
# Each process NAME keeps NAME.pid and NAME.log in $STATE_DIR. The caller defines log, die,
# STATE_DIR and STOP_TIMEOUT (seconds), and LOG_TAG (the prefix of its messages).

pid_file() { printf '%s/%s.pid' "$STATE_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$STATE_DIR" "$1"; }

# running_pid NAME MARK: prints the pid of NAME when it runs and its command line contains MARK
# (a guard against a recycled pid), else fails. A zombie (exited, not yet reaped) does not run.
running_pid() {
  local file pid state
  file=$(pid_file "$1")
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
  [[ $state != Z && -n $state ]] || return 1
  printf '%s' "$pid"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start NAME COMMAND...: runs COMMAND in its own session, detached from our stdio, logging to
# NAME.log.
start() {
  local name=$1 pid_path i
  shift
  pid_path=$(pid_file "$name")
  rm -f "$pid_path"
  # The inner shell records its own pid and then execs the program, so the pid is the program's.
  # The callers' lock fds (8, 9) are closed, or the program would hold the locks for its life.
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pid_path" "$@" \
    >"$(log_file "$name")" 2>&1 </dev/null 8>&- 9>&- &
  for ((i = 0; i < 50; i++)); do
    [[ -s $pid_path ]] && return 0
    sleep 0.1
  done
  die "$name did not start (no pid file)"
}

# stop NAME MARK: SIGTERM, wait up to STOP_TIMEOUT seconds, then SIGKILL.
stop() {
  local name=$1 mark=$2 pid i
  pid=$(running_pid "$name" "$mark") || { rm -f "$(pid_file "$name")"; return 0; }
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    running_pid "$name" "$mark" >/dev/null || break
    sleep 0.1
  done
  if running_pid "$name" "$mark" >/dev/null; then
    log "$name did not stop within ${STOP_TIMEOUT}s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      running_pid "$name" "$mark" >/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$(pid_file "$name")"
}

# show_log FILE [LINES]: the last lines of a log on stderr (used before giving up).
show_log() {
  local file=$1 lines=${2:-40}
  if [[ -s $file ]]; then
    printf '[%s] ---- last %s lines of %s ----\n' "$LOG_TAG" "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf '[%s] ---- end of %s ----\n' "$LOG_TAG" "$file" >&2
    # Kubernetes binaries print a flag error first and then a long usage text.
    grep -m 3 '^Error: ' "$file" | sed "s/^/[$LOG_TAG] /" >&2 || true
  else
    printf '[%s] (%s is empty or missing)\n' "$LOG_TAG" "$file" >&2
  fi
}
