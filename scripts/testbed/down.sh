#!/usr/bin/env bash
# Stops exactly the daemons scripts/testbed/up.sh started, as root.
#
#   scripts/testbed/down.sh             cancel the test user's jobs, stop the daemons
#   scripts/testbed/down.sh --purge     ... and delete $TESTBED_DIR (state, keys, logs)
#   scripts/testbed/down.sh --keep-jobs do not cancel jobs first
#   scripts/testbed/down.sh --only sshd,slurmctld [--signal KILL]
#                                       fault injection: stop just these (jobs are
#                                       left alone) and wait until they are gone;
#                                       up.sh --no-smoke brings them back
#
# Names: munged mariadbd slurmdbd slurmctld slurmd sge_qmaster sge_execd sshd.
#
# A daemon is only signalled when its recorded PID still runs the expected
# executable (/proc/PID/exe): PIDs wrap within minutes here. SIGTERM, then
# SIGKILL after 20 s. sge_qmaster takes several seconds to exit; the daemons
# are stopped in dependency waves, each wave in parallel.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PURGE=0 KEEP_JOBS=0 ONLY='' SIGNAL=TERM
while (($#)); do
  arg=$1
  shift
  case $arg in
    --purge) PURGE=1 ;;
    --keep-jobs) KEEP_JOBS=1 ;;
    --only=*) ONLY=${arg#*=} ;;
    --only) ONLY=${1:?--only needs a list of names} && shift ;;
    --signal=*) SIGNAL=${arg#*=} ;;
    --signal) SIGNAL=${1:?--signal needs a signal name} && shift ;;
    -h | --help)
      sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "down.sh: unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done
SIGNAL=${SIGNAL#SIG}
[[ $SIGNAL =~ ^(TERM|KILL|INT|HUP|QUIT)$ ]] || {
  echo "down.sh: --signal must be one of TERM KILL INT HUP QUIT" >&2
  exit 2
}
if [[ -n $ONLY ]]; then
  for n in ${ONLY//,/ }; do
    [[ -n ${DAEMON_EXE[$n]:-} ]] || {
      echo "down.sh: unknown daemon '$n' (one of: ${DAEMONS[*]})" >&2
      exit 2
    }
  done
  ((PURGE == 0)) || {
    echo "down.sh: --only and --purge do not mix" >&2
    exit 2
  }
  KEEP_JOBS=1
fi
[[ $(id -u) -eq 0 ]] || {
  echo "down.sh: run as root" >&2
  exit 1
}
T0=$(now_ms)
log() { printf 'down.sh: [%5.1fs] %s\n' "$((($(now_ms) - T0) / 100))e-1" "$*" >&2; }

if [[ ! -d $TESTBED_DIR ]]; then
  log "no $TESTBED_DIR: nothing to stop"
  exit 0
fi
if [[ -e $TESTBED_DIR/.lock ]]; then
  exec 9>"$TESTBED_DIR/.lock"
  flock -w 120 9 || {
    echo "down.sh: another up.sh/down.sh holds $TESTBED_DIR/.lock" >&2
    exit 1
  }
fi

TB_USER=${TESTBED_USER:-hpctest}
if [[ -r $TESTBED_DIR/env.sh ]]; then
  TB_USER=$(
    . "$TESTBED_DIR/env.sh"
    echo "${TESTBED_SSH_USER:-$TB_USER}"
  )
fi

# Jobs of the test user would outlive the daemons (slurmstepd and the SGE
# shepherd run on their own); cancel them while the controllers still run.
if ((!KEEP_JOBS)) && id "$TB_USER" >/dev/null 2>&1; then
  if daemon_pid slurmctld >/dev/null; then
    timeout 10 scancel --user="$TB_USER" >/dev/null 2>&1 || true
  fi
  if daemon_pid sge_qmaster >/dev/null; then
    SGE_ROOT=/var/lib/gridengine SGE_CELL=default \
      timeout 10 qdel -u "$TB_USER" >/dev/null 2>&1 || true
  fi
fi

# children_of PID EXE: PIDs whose parent is PID and whose executable is EXE
# (sshd's per-connection processes: killing the listener leaves them).
children_of() {
  local stat pid rest ppid
  for stat in /proc/[0-9]*/stat; do
    read -r pid rest 2>/dev/null <"$stat" || continue
    rest=${rest##*) }
    read -r _ ppid _ <<<"$rest"
    [[ $ppid == "$1" ]] || continue
    [[ $(exe_of "$pid" 2>/dev/null) == "$2" ]] && echo "$pid"
  done
}

# stop_wave NAME...: SIGTERM to each recorded, verified daemon; bounded wait;
# SIGKILL for what is left (verified again).
stop_wave() {
  local name pid victims=() names=()
  for name in "$@"; do
    if [[ -n $ONLY && ",$ONLY," != *",$name,"* ]]; then
      continue
    fi
    if pid=$(daemon_pid "$name"); then
      if [[ $name == sshd ]]; then
        local child
        for child in $(children_of "$pid" sshd); do
          kill -"$SIGNAL" "$child" 2>/dev/null || true
        done
      fi
      kill -"$SIGNAL" "$pid" 2>/dev/null || true
      victims+=("$pid:$name")
      names+=("$name")
    fi
    rm -f "$PIDS/$name.pid.tmp"
  done
  ((${#victims[@]})) || return 0
  gone() {
    local v
    for v in "${victims[@]}"; do
      pid_is "${v%%:*}" "${v#*:}" && return 1
    done
    return 0
  }
  if ! wait_until 20 gone; then
    local v
    for v in "${victims[@]}"; do
      if pid_is "${v%%:*}" "${v#*:}"; then
        kill -KILL "${v%%:*}" 2>/dev/null || true
        log "killed ${v#*:} (pid ${v%%:*}) with SIGKILL"
      fi
    done
  fi
  for name in "${names[@]}"; do rm -f "$PIDS/$name.pid"; done
  log "stopped ${names[*]}"
}

stop_wave sshd sge_execd sge_qmaster slurmd slurmctld
stop_wave slurmdbd
stop_wave mariadbd
stop_wave munged

if ((PURGE)); then
  if [[ -e $TESTBED_DIR/.hpc-testbed ]]; then
    rm -rf -- "$TESTBED_DIR"
    log "deleted $TESTBED_DIR"
  else
    log "not deleting $TESTBED_DIR: no .hpc-testbed marker in it"
  fi
fi
log "done"
