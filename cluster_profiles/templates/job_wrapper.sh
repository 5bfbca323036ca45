#!/usr/bin/env bash
# hpc-mcp job wrapper: runs jobs of the `local` and `host` backends detached
# from the server and records how they end, so that a job outlives the server
# (and an SSH connection) and its state can be read back from files.
#
# Embedded in the hpc-mcp binary and installed as
# <state root>/bin/job_wrapper-<hash>.sh. Modes:
#   launch JOBDIR            start one detached runner per task, return
#   run JOBDIR TASK          (internal) one task: wait, run, record
#   query ROOT ID...         one line per task: id state exit signal start end reason
#                            [gpus] (the GPU indices a started task was placed on)
#   cancel ROOT ID...        cancel tasks (TERM, then KILL after a grace period)
#   find ROOT COMMENT        the ids of launched jobs whose comment is COMMENT
#
# JOBDIR (<root>/jobs/<id>) holds files written by hpc-mcp: `spec` (the
# runner's settings, HPC_W_*) and `env` (the job's environment, applied only
# in the script's process), shell assignments quoted by hpc-mcp's one quoting
# function and sourced here; `tasks.list` (task ids, or "main"). Each task has
# a directory JOBDIR/tasks/<task> ("main" for a job that is not an array):
#   pid      the runner's pid (it leads its own session)
#   waiting  why it has not started (Dependency, Slots, GPU)
#   gpus     the GPU indices it runs on ("0,2"), when the profile places GPUs
#   started  epoch seconds when the job's script started
#   child    pid of the script (it leads its own session)
#   cancel   cancellation requested
#   result   written last, atomically: state= exit_code= signal= end= reason=
#
# Every wait loop is bounded in time (HPC_W_MAX_WAIT) and polls at a fixed
# interval.
set -u

ws_sanitize() {  # One line, no tabs: query prints tab-separated fields.
  printf '%s' "$1" | tr '\t\n\r' '   '
}

# Writes FILE atomically with the rest of the arguments as lines.
ws_write() {
  local f=$1
  shift
  printf '%s\n' "$@" >"$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
}

# Whether task dir $1's runner is alive: its pid file names a live process
# that is this task's runner (pids wrap: never trust a bare pid). Builtins
# only where /proc allows, so that a query of a large array stays cheap.
ws_alive() {
  local td=$1 pid st cmd args=()
  [ -f "$td/pid" ] || return 1
  read -r pid <"$td/pid" 2>/dev/null || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  if [ ! -d /proc/self ]; then
    kill -0 "$pid" 2>/dev/null
    return
  fi
  [ -r "/proc/$pid/cmdline" ] || return 1
  if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))); then
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
    # "bash WRAPPER run JOBDIR TASK", or "setsid bash ..." before its exec.
    local k found=0
    for ((k = 0; k + 1 < ${#args[@]}; k++)); do
      [ "${args[k]}" = run ] && [ "${args[k + 1]}" = "${td%/tasks/*}" ] && found=1
    done
    [ "$found" = 1 ] || return 1
  else
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
    case $cmd in *" run ${td%/tasks/*} "*) ;; *) return 1 ;; esac
  fi
  # "pid (bash) S ...": a zombie has ended without recording.
  read -r _ _ st _ <"/proc/$pid/stat" 2>/dev/null || return 1
  [ "$st" != Z ]
}

# The task directories of job id $2 under root $1, one per line: "ID" (all
# tasks) or "ID_T" (one array task).
ws_task_dirs() {
  local root=$1 id=$2 job task
  case $id in
    *_*) job=${id%_*} task=${id##*_} ;;
    *) job=$id task= ;;
  esac
  local jd="$root/jobs/$job"
  [ -f "$jd/spec" ] || return 1
  if [ -n "$task" ]; then
    [ -d "$jd/tasks/$task" ] || return 1
    printf '%s\n' "$jd/tasks/$task"
    return 0
  fi
  local t
  while read -r t; do
    [ -n "$t" ] && printf '%s\n' "$jd/tasks/$t"
  done <"$jd/tasks.list"
}

# ok, running, lost, or the final state (failed, cancelled, ...) of a task dir.
ws_task_outcome() {
  local td=$1 state
  if [ -f "$td/result" ]; then
    state=$(sed -n 's/^state=//p' "$td/result")
    if [ "$state" = completed ]; then echo ok; else echo "${state:-failed}"; fi
  elif ws_alive "$td"; then
    echo running
  elif [ ! -f "$td/pid" ] && [ -f "$td/launched" ] &&
    [ $(($(date +%s) - $(cat "$td/launched" 2>/dev/null || echo 0))) -lt 60 ]; then
    echo running  # Launched moments ago; the runner has not written its pid.
  else
    echo lost
  fi
}

mode_launch() {
  local jd=$1 t td
  [ -f "$jd/spec" ] || { echo "no spec in $jd" >&2; return 2; }
  while read -r t; do
    [ -n "$t" ] || continue
    td="$jd/tasks/$t"
    mkdir -p -- "$td" || return 1
    date +%s >"$td/launched"
    # setsid: its own session, so the server's exit, a terminal's hangup or
    # the end of an SSH session does not reach it; stdio detached from the
    # caller, whose pipes would otherwise stay open until the job ends.
    setsid bash "$0" run "$jd" "$t" </dev/null >"$td/wrapper.log" 2>&1 &
    ws_write "$td/pid" "$!"
  done <"$jd/tasks.list"
  return 0
}

mode_run() {
  local jd=$1 task=$2
  local td="$jd/tasks/$task" root=${1%/jobs/*}
  # First of all, so that a cancellation is never lost (mode_cancel covers
  # the moments before this line).
  cancel_requested=0
  interrupted=0
  child=
  killer=
  trap ws_on_term TERM INT HUP
  ws_write "$td/pid" "$$"
  # shellcheck source=/dev/null
  . "$jd/spec" || { ws_finish failed 1 0 "cannot read $jd/spec"; return; }

  if [ "$task" = main ]; then
    HPC_JOB_ID=$HPC_W_ID
  else
    HPC_JOB_ID="${HPC_W_ID}_$task"
    HPC_ARRAY_TASK_ID=$task
    export HPC_ARRAY_TASK_ID
  fi
  export HPC_JOB_ID

  # Placeholders of the file names: %j job (task) id, %A array job id,
  # %a task id. Quoted patterns are literal in ${x//pat/rep}.
  local out=$HPC_W_STDOUT err=$HPC_W_STDERR p
  for p in out err; do
    local v=${!p}
    v=${v//"%j"/$HPC_JOB_ID}
    v=${v//"%A"/$HPC_W_ID}
    v=${v//"%a"/${HPC_ARRAY_TASK_ID:-}}
    printf -v "$p" '%s' "$v"
  done

  # The log directories exist before anything is redirected into them: a
  # missing one is the classic job that dies in a second without a log.
  if ! mkdir -p -- "$(dirname -- "$out")" "$(dirname -- "$err")" "$HPC_W_WORKDIR"; then
    ws_finish failed 1 0 "cannot create the log directories or the workdir"
    return
  fi

  local deadline=$(($(date +%s) + ${HPC_W_MAX_WAIT:-2592000}))

  # Dependencies (HPC_W_AFTER_OK, _ANY, _CORR: job ids separated by spaces):
  # wait until every one has ended. afterok: every task of the job must have
  # succeeded; afterany: any outcome; aftercorr: the task of that array with
  # this task's id ("<dep>_<task>") must have succeeded. One that did not,
  # or that does not exist (it never will), cancels this task.
  local kind deps dep dtd dtds outcome waiting
  while :; do
    ws_check_cancel && return
    waiting=0
    for kind in ok any corr; do
      case $kind in
        ok) deps=${HPC_W_AFTER_OK:-} ;;
        any) deps=${HPC_W_AFTER_ANY:-} ;;
        corr) deps=${HPC_W_AFTER_CORR:-} ;;
      esac
      for dep in $deps; do
        if [ "$kind" = corr ]; then
          if [ -z "${HPC_ARRAY_TASK_ID:-}" ]; then
            ws_finish failed 1 0 "aftercorr $dep: this job is not an array"
            return
          fi
          dep="${dep}_$HPC_ARRAY_TASK_ID"
        fi
        if ! dtds=$(ws_task_dirs "$root" "$dep"); then
          ws_finish cancelled 0 0 "DependencyNeverSatisfied: job $dep does not exist"
          return
        fi
        while read -r dtd; do
          [ -n "$dtd" ] || continue
          outcome=$(ws_task_outcome "$dtd")
          case $outcome in
            ok) ;;
            running) waiting=1 ;;
            *)
              if [ "$kind" != any ]; then
                ws_finish cancelled 0 0 "DependencyNeverSatisfied: job $dep did not complete successfully ($outcome)"
                return
              fi
              ;;
          esac
        done <<<"$dtds"
      done
    done
    [ "$waiting" = 1 ] || break
    ws_write "$td/waiting" Dependency
    if [ "$(date +%s)" -ge "$deadline" ]; then
      ws_finish failed 1 0 "gave up waiting for dependencies after ${HPC_W_MAX_WAIT:-2592000} s"
      return
    fi
    sleep 2
  done

  # Concurrency: a slot is an flock on one of N files, held through an open
  # descriptor until the script ends (the kernel releases it even on
  # SIGKILL). The array's own limit (%N) is a second set of slots.
  local fds=()
  ws_take_slot "$root/slots" "${HPC_W_SLOTS:-0}" || return
  ws_take_slot "$jd/slots" "${HPC_W_ARRAY_LIMIT:-0}" || return
  local gpus=
  if [ "${HPC_W_GPUS:-0}" -gt 0 ] 2>/dev/null; then
    ws_take_gpus || return
    export CUDA_VISIBLE_DEVICES=$gpus
    ws_write "$td/gpus" "$gpus"
  fi
  rm -f -- "$td/waiting"
  ws_check_cancel && return

  local start
  # A builtin: a cancellation signals this runner's whole group, and would
  # kill an external `date` here, leaving no start time.
  printf -v start '%(%s)T' -1
  ws_write "$td/started" "$start"
  cd -- "$HPC_W_WORKDIR" || { ws_finish failed 1 0 "cannot cd to $HPC_W_WORKDIR"; return; }

  local cmd=("$HPC_W_SCRIPT")
  if [ -n "${HPC_W_TIME:-}" ]; then
    cmd=(timeout --kill-after=10 "$HPC_W_TIME" "$HPC_W_SCRIPT")
  fi
  # The script leads its own session so that cancelling signals its whole
  # process group and never this runner; slot descriptors are closed in it
  # so that daemons it leaves behind cannot hold a slot.
  if [ "$out" = "$err" ]; then
    ws_spawn "${cmd[@]}" >>"$out" 2>&1
  else
    ws_spawn "${cmd[@]}" >>"$out" 2>>"$err"
  fi
  ws_write "$td/child" "$child"
  # A cancellation that arrived while the script was being started found no
  # child to signal: signal it now.
  if [ "$cancel_requested" = 1 ] || [ -f "$td/cancel" ]; then
    kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
  fi

  local rc
  while :; do
    interrupted=0
    wait "$child"
    rc=$?
    # A trapped signal interrupts wait with 128+n; wait again (bash keeps
    # the status of a child already reaped).
    [ "$interrupted" = 1 ] && continue
    break
  done
  [ -n "$killer" ] && kill "$killer" 2>/dev/null
  # The script is gone, but processes of its session may linger (dataloader
  # workers, something it started in the background) and keep its GPU
  # memory: end them, as a batch scheduler ends a job's processes.
  if kill -0 -- "-$child" 2>/dev/null; then
    echo "$(date -u +%FT%TZ) processes of the job's session outlived its script; terminating them" \
      >>"$td/wrapper.log"
    kill -TERM -- "-$child" 2>/dev/null
    local k
    for ((k = 0; k < 20; k++)); do
      kill -0 -- "-$child" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$child" 2>/dev/null
  fi
  local end elapsed
  end=$(date +%s)
  elapsed=$((end - start))

  local sig=0
  [ "$rc" -gt 128 ] && sig=$((rc - 128))
  if [ "$cancel_requested" = 1 ] || [ -f "$td/cancel" ]; then
    ws_finish cancelled "$rc" "$sig" "cancelled"
  elif [ -n "${HPC_W_TIME:-}" ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } &&
    [ "$elapsed" -ge "$HPC_W_TIME" ]; then
    ws_finish timeout "$rc" "$([ "$rc" = 137 ] && echo 9 || echo 15)" \
      "killed at its time limit of $HPC_W_TIME s"
  elif [ "$rc" = 0 ]; then
    ws_finish completed 0 0 ""
  elif [ "$sig" -gt 0 ]; then
    ws_finish failed "$rc" "$sig" "exit status $rc: killed by signal $sig (or exited $rc)"
  else
    ws_finish failed "$rc" 0 "exit status $rc"
  fi
}

# ws_take_gpus: sets $gpus to HPC_W_GPUS free GPUs (comma-separated
# indices), each held by an flock on $root/gpus/<index> until the script
# ends, so no two tasks share a GPU. Free: nvidia-smi reports less than
# HPC_W_GPU_FREE_MIB MiB in use (a number: "[N/A]" is never free); the
# query is tools/cluster/gpus.h's, of which only index and memory.used are
# read here. GPUs in HPC_W_AVOID_GPUS (a retry after a GPU OOM) are taken
# only when no others are free. Waits, looking every 5 s; returns 1 (task
# finished) on cancellation, the deadline, or no nvidia-smi.
ws_take_gpus() {
  local want=$HPC_W_GPUS avoid=",${HPC_W_AVOID_GPUS:-}," out idx used fd
  if ! command -v nvidia-smi >/dev/null; then
    ws_finish failed 1 0 "the profile places GPUs with nvidia-smi, which is not on this host's PATH"
    return 1
  fi
  mkdir -p -- "$root/gpus" || { ws_finish failed 1 0 "cannot create $root/gpus"; return 1; }
  while :; do
    local preferred=() fallback=() got=() held=()
    if out=$(nvidia-smi --query-gpu=index,uuid,memory.used,memory.total \
      --format=csv,noheader,nounits 2>&1); then
      while IFS=, read -r idx _ used _; do
        idx=${idx// /} used=${used// /}
        case $idx$used in '' | *[!0-9]*) continue ;; esac
        [ "$used" -lt "${HPC_W_GPU_FREE_MIB:-500}" ] || continue
        if [[ $avoid == *",$idx,"* ]]; then fallback+=("$idx"); else preferred+=("$idx"); fi
      done <<<"$out"
    else
      echo "$(date -u +%FT%TZ) nvidia-smi failed: $(ws_sanitize "${out:0:300}")" >>"$td/wrapper.log"
    fi
    for idx in ${preferred[@]+"${preferred[@]}"} ${fallback[@]+"${fallback[@]}"}; do
      [ "${#got[@]}" -ge "$want" ] && break
      exec {fd}>>"$root/gpus/$idx"
      if flock -n "$fd"; then
        got+=("$idx")
        held+=("$fd")
      else
        exec {fd}>&-
      fi
    done
    if [ "${#got[@]}" -ge "$want" ]; then
      fds+=("${held[@]}")
      gpus=$(IFS=,; echo "${got[*]}")
      return 0
    fi
    for fd in ${held[@]+"${held[@]}"}; do exec {fd}>&-; done
    ws_write "$td/waiting" GPU
    ws_check_cancel && return 1
    if [ "$(date +%s)" -ge "$deadline" ]; then
      ws_finish failed 1 0 "gave up waiting for $want free GPU(s) (under ${HPC_W_GPU_FREE_MIB:-500} MiB in use)"
      return 1
    fi
    sleep 5
  done
}

# Starts "$@" as the job's script: slot descriptors closed, the job's own
# environment (JOBDIR/env) applied, in a new session. Sets $child.
ws_spawn() {
  (
    for fd in ${fds[@]+"${fds[@]}"}; do exec {fd}>&-; done
    # shellcheck source=/dev/null
    . "$jd/env" || exit 1
    exec setsid "$@" </dev/null
  ) &
  child=$!
}

ws_on_term() {
  cancel_requested=1
  interrupted=1
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
    if [ -z "$killer" ]; then
      (sleep 10; kill -KILL -- "-$child" 2>/dev/null) &
      killer=$!
    fi
  fi
}

# True (and the task finished as cancelled) when cancellation was requested
# before the script started.
ws_check_cancel() {
  if [ "$cancel_requested" = 1 ] || [ -f "$td/cancel" ]; then
    ws_finish cancelled 0 0 "cancelled before it started"
    return 0
  fi
  return 1
}

# ws_take_slot DIR N: blocks until one of N slots in DIR is ours (N=0: no
# limit). Tries every slot, then waits on one in flock itself (no busy
# polling, however many tasks wait), looking again every 5 s for a slot
# freed elsewhere, a cancellation or the deadline. Returns 1 (task
# finished) on cancellation or timeout.
ws_take_slot() {
  local dir=$1 n=$2 i fd
  [ "$n" -gt 0 ] 2>/dev/null || return 0
  if ! command -v flock >/dev/null; then
    ws_finish failed 1 0 "flock (util-linux) is needed for the concurrency limit"
    return 1
  fi
  mkdir -p -- "$dir" || { ws_finish failed 1 0 "cannot create $dir"; return 1; }
  while :; do
    for ((i = 0; i < n; i++)); do
      exec {fd}>>"$dir/slot.$i"
      if flock -n "$fd"; then
        fds+=("$fd")
        return 0
      fi
      exec {fd}>&-
    done
    ws_write "$td/waiting" Slots
    ws_check_cancel && return 1
    if [ "$(date +%s)" -ge "$deadline" ]; then
      ws_finish failed 1 0 "gave up waiting for a free slot"
      return 1
    fi
    exec {fd}>>"$dir/slot.$((RANDOM % n))"
    if flock -w 5 "$fd"; then
      fds+=("$fd")
      return 0
    fi
    exec {fd}>&-
  done
}

# ws_finish STATE EXIT SIGNAL REASON: the task's last word. Cancelling
# signals the runner's whole group, so a helper it was running (mkdir, flock)
# may fail: after a cancellation every failure is the cancellation.
ws_finish() {
  local state=$1 reason=$4
  if [ "$state" = failed ] &&
    { [ "${cancel_requested:-0}" = 1 ] || [ -f "$td/cancel" ]; }; then
    state=cancelled
    reason="cancelled ($reason)"
  fi
  ws_write "$td/result" "state=$state" "exit_code=$2" "signal=$3" \
    "end=$(date +%s)" "reason=$(ws_sanitize "$reason")"
  rm -f -- "$td/waiting"
}

mode_query() {
  local root=$1 id dirs td state exit_code signal end reason start t gpus
  shift
  for id in "$@"; do
    if ! dirs=$(ws_task_dirs "$root" "$id"); then
      printf '%s\tunknown\t\t\t\t\t%s\n' "$id" "no such job under $root/jobs"
      continue
    fi
    while read -r td; do
      [ -n "$td" ] || continue
      t=${td##*/}
      local tid=$id
      [ "$t" != main ] && tid="${id%_*}_$t"
      start= gpus=
      [ -f "$td/started" ] && read -r start <"$td/started"
      [ -f "$td/gpus" ] && read -r gpus <"$td/gpus"
      if [ -f "$td/result" ]; then
        state= exit_code= signal= end= reason=
        while IFS= read -r line; do
          case $line in
            state=*) state=${line#state=} ;;
            exit_code=*) exit_code=${line#exit_code=} ;;
            signal=*) signal=${line#signal=} ;;
            end=*) end=${line#end=} ;;
            reason=*) reason=${line#reason=} ;;
          esac
        done <"$td/result"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tid" "$state" "$exit_code" \
          "$signal" "$start" "$end" "$reason" "$gpus"
      elif [ "$(ws_task_outcome "$td")" = running ]; then
        if [ -n "$start" ]; then
          printf '%s\trunning\t\t\t%s\t\t\t%s\n' "$tid" "$start" "$gpus"
        else
          reason=
          [ -f "$td/waiting" ] && read -r reason <"$td/waiting"
          printf '%s\tpending\t\t\t\t\t%s\n' "$tid" "$reason"
        fi
      else
        printf '%s\tunknown\t\t\t%s\t\t%s\n' "$tid" "$start" \
          "the runner is gone without recording an end (machine rebooted, or killed by SIGKILL)"
      fi
    done <<<"$dirs"
  done
}

mode_cancel() {
  local root=$1 id dirs td pid i
  shift
  for id in "$@"; do
    if ! dirs=$(ws_task_dirs "$root" "$id"); then
      printf '%s\tunknown\n' "$id"
      continue
    fi
    while read -r td; do
      [ -n "$td" ] || continue
      if [ -f "$td/result" ]; then
        printf '%s\tended\n' "${td##*/}"
        continue
      fi
      # The marker first: a runner not yet up reads it and never starts.
      : >"$td/cancel"
      if ws_alive "$td"; then
        read -r pid <"$td/pid"
        # The runner's group (it and a sleep or flock it may be in); the
        # runner forwards the signal to the script's own session.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
      fi
      # A runner signalled before its trap was set, or one that is gone,
      # records nothing: give it 2 s, then record the cancellation here. A
      # script still stopping (it has a 10 s grace) finishes on its own.
      for ((i = 0; i < 20; i++)); do
        [ -f "$td/result" ] && break
        if [ "$(ws_task_outcome "$td")" != running ]; then
          ws_finish cancelled 0 0 "cancelled before it started"
          break
        fi
        sleep 0.1
      done
      printf '%s\tcancelled\n' "${td##*/}"
    done <<<"$dirs"
  done
}

# The jobs under $1 whose spec says HPC_W_COMMENT is exactly $2, one id per
# line, in no particular order. Only jobs whose launch began (a tasks
# directory): one whose launch never ran will never run. Quick with
# thousands of jobs: one batched grep keeps the few specs that may match,
# and only those are sourced (in a subshell each) for the exact check.
mode_find() {
  local root=$1 comment=$2 piece spec jd
  [ -n "$comment" ] || { echo "find: empty comment" >&2; return 2; }
  [ -d "$root/jobs" ] || return 0
  # hpc-mcp's quoting keeps everything between single quotes literal, so
  # the first non-empty piece of the comment between quotes is in the spec
  # as it is.
  piece=$comment
  while [ -n "$piece" ] && [ "${piece#\'}" != "$piece" ]; do piece=${piece#\'}; done
  piece=${piece%%\'*}
  [ -n "$piece" ] || piece=HPC_W_COMMENT=
  find "$root/jobs" -mindepth 2 -maxdepth 2 -type f -name spec \
    -exec grep -l -F -e "$piece" -- {} + 2>/dev/null |
    while IFS= read -r spec; do
      jd=${spec%/spec}
      [ -d "$jd/tasks" ] || continue
      if (
        HPC_W_COMMENT=
        # shellcheck source=/dev/null
        . "$spec" >/dev/null 2>&1 && [ "$HPC_W_COMMENT" = "$comment" ]
      ); then
        printf '%s\n' "${jd##*/}"
      fi
    done
  return 0
}

case ${1:-} in
  launch) mode_launch "$2" ;;
  run) mode_run "$2" "$3" ;;
  query) shift; mode_query "$@" ;;
  cancel) shift; mode_cancel "$@" ;;
  find) mode_find "${2:-}" "${3:-}" ;;
  *)
    echo "usage: $0 launch JOBDIR | run JOBDIR TASK | query ROOT ID... | cancel ROOT ID... | find ROOT COMMENT" >&2
    exit 2
    ;;
esac
