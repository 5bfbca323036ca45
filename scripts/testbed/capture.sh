#!/usr/bin/env bash
# Re-captures real scheduler output for the parser tests into
# tests/testdata/slurm/ and tests/testdata/sge/ (format: tests/testdata/README.md).
# Needs the running testbed (scripts/testbed/up.sh) and root (the last step
# stops slurmctld and sge_qmaster for a moment to capture the "controller
# down" errors, then restores them with up.sh --no-smoke).
#
#   scripts/testbed/capture.sh            Slurm and Grid Engine, in parallel (~2 min)
#   scripts/testbed/capture.sh slurm      only Slurm
#   scripts/testbed/capture.sh sge        only Grid Engine
#
# Every command runs as the test user over the ssh alias, exactly as the
# server's Remote will run it. Job ids, dates and paths in the captures are
# the real ones of the run.
# shellcheck disable=SC2016 # job scripts are written with single-quoted $vars on purpose
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
[[ -r $TESTBED_DIR/env.sh ]] || {
  echo "capture.sh: no $TESTBED_DIR/env.sh; run scripts/testbed/up.sh first" >&2
  exit 1
}
# shellcheck disable=SC1091
. "$TESTBED_DIR/env.sh"

WHAT=("$@")
((${#WHAT[@]})) || WHAT=(slurm sge)

MUX=$(mktemp -d)
trap 'ssh -F "$TESTBED_SSH_CONFIG" -o ControlPath="$MUX/cm" -O exit testbed >/dev/null 2>&1 || true; rm -rf "$MUX"' EXIT
SSH=(ssh -F "$TESTBED_SSH_CONFIG" -o ControlMaster=auto -o ControlPath="$MUX/cm" -o ControlPersist=300 testbed)

T0=$(now_ms)
say() { printf 'capture.sh: [%5.1fs] %s: %s\n' "$((($(now_ms) - T0) / 100))e-1" "$SCHED" "$*" >&2; }

# rx CMD: CMD (one shell command line) as the test user; prints its stdout.
rx() { timeout 60 "${SSH[@]}" "$1" </dev/null; }

# put FILE: stdin -> FILE on the remote side, executable.
put() { timeout 60 "${SSH[@]}" "cat > $1 && chmod 755 $1"; }

# cap NAME CASE CMD: runs CMD, stores NAME.out (stdout, exact), NAME.err
# (stderr, exact, only when not empty) and NAME.cmd (case, date, rc and the
# command line), and prints stdout for the caller.
cap() {
  local name=$1 case=$2 cmd=$3 dir=$ROOT/tests/testdata/$SCHED rc=0
  mkdir -p "$dir"
  rm -f "$dir/$name.out" "$dir/$name.err" "$dir/$name.cmd"
  timeout 60 "${SSH[@]}" "$cmd" </dev/null >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
  [[ -s $dir/$name.err ]] || rm -f "$dir/$name.err"
  {
    echo "# case: $case"
    echo "# captured: $(date -u +%Y-%m-%dT%H:%M:%SZ), $VERSION, as the test user over ssh (scripts/testbed/capture.sh)"
    echo "# rc: $rc"
    if [[ -e $dir/$name.err ]]; then echo "# stderr: $name.err"; else echo "# stderr: (empty)"; fi
    printf '%s\n' "$cmd"
  } >"$dir/$name.cmd"
  cat "$dir/$name.out"
}

# poll SECONDS CMD PATTERN: runs CMD until its output matches the extended
# regular expression PATTERN (bounded); prints the last output.
poll() {
  local secs=$1 cmd=$2 pat=$3 out='' deadline
  deadline=$(($(now_ms) + secs * 1000))
  while :; do
    out=$(rx "$cmd" 2>/dev/null || true)
    [[ $out =~ $pat ]] && break
    if (($(now_ms) >= deadline)); then
      say "timed out after ${secs}s waiting for /$pat/ from: $cmd (last: ${out:-nothing})"
      printf '%s\n' "$out"
      return 1
    fi
    sleep 0.5
  done
  printf '%s\n' "$out"
}

# ------------------------------------------------------------------ Slurm
SACCT_FMT=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment
SQUEUE_FMT='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k'
TERMINAL='^(COMPLETED|FAILED|CANCELLED.*|TIMEOUT|OUT_OF_MEMORY|PREEMPTED|NODE_FAIL|DEADLINE|BOOT_FAIL)$'

capture_slurm() {
  SCHED=slurm
  VERSION="Slurm $(rx 'sbatch --version' | awk '{ print $2 }')"
  local W=$TESTBED_WORK/capture/slurm
  rm -f "$ROOT"/tests/testdata/slurm/*.{out,err,cmd}
  rx "rm -rf $W && mkdir -p $W"
  printf '#!/bin/bash\nsleep "${1:-300}"\n' | put "$W/sleep.sh"
  printf '#!/bin/bash\necho "about to fail"\nexit 3\n' | put "$W/exit3.sh"
  printf '#!/bin/bash\n# allocates 300 MB in a job limited to 50 MB\nperl -e '"'"'$x = "x" x (300 * 1024 * 1024); sleep 2; print length($x), "\\n"'"'"'\n' | put "$W/oom.sh"
  printf '#!/bin/bash\nsleep 3\nexit "$SLURM_ARRAY_TASK_ID"\n' | put "$W/array.sh"
  local common="--output=$W/%x-%j.out"
  sb() { rx "sbatch --parsable --job-name=cap-$1 --comment=hpc-mcp:$1 $common $2"; }
  wait_sacct() { poll "$2" "sacct -X -n -P -j $1 -o State | head -n 1" "${3:-$TERMINAL}" >/dev/null; }
  wait_squeue() { poll "$2" "squeue -h -j $1 -o %T" "^$3\$" >/dev/null; }

  # Preflight, as a tool would check a cluster before submitting.
  cap sbatch_version "preflight: client version" "sbatch --version" >/dev/null
  cap scontrol_ping "preflight: controller up" "scontrol ping" >/dev/null
  cap sinfo_partitions "preflight: partitions, one line each, '|'-separated" \
    "sinfo -h -o '%P|%a|%l|%D|%t|%c|%m|%G'" >/dev/null
  cap sinfo_default "preflight: plain sinfo" "sinfo" >/dev/null
  cap scontrol_show_partition "preflight: partition limits" "scontrol show partition -o" >/dev/null
  cap scontrol_show_node "preflight: node" "scontrol show node -o" >/dev/null
  cap sacctmgr_assoc "preflight: the user's associations (accounts)" \
    "sacctmgr show assoc -P where user=\$(id -un)" >/dev/null
  cap sacctmgr_assoc_fmt "preflight: the user's accounts, selected columns" \
    "sacctmgr -n -P show assoc where user=\$(id -un) format=Cluster,Account,User,Partition,QOS,DefaultQOS" >/dev/null

  # The timeout case runs in the urgent partition (not preemptible) while the
  # rest goes on: --time has minute granularity and a 30 s sweep.
  local JT JOK JFAIL JBAD JOOM JR JP JA JB JN JL JARR JV JU
  JT=$(cap sbatch_timeout_job "submit: --time=1 in partition urgent (becomes TIMEOUT)" \
    "sbatch --parsable -p urgent --time=1 --job-name=cap-timeout --comment=hpc-mcp:timeout $common $W/sleep.sh")
  say "timeout job $JT submitted"
  JOK=$(cap sbatch_parsable "submit: --parsable prints the job id" \
    "sbatch --parsable --job-name=cap-ok --comment=hpc-mcp:ok $common --wrap 'echo hello'")
  JFAIL=$(sb exit3 "$W/exit3.sh")
  JBAD=$(cap sbatch_output_missing_dir "submit: --output into a directory that does not exist (accepted; fails at launch)" \
    "sbatch --parsable --job-name=cap-badout --comment=hpc-mcp:badout --output=$W/missing/x.out --wrap true")
  JOOM=$(sb oom "--mem=50M $W/oom.sh")
  for j in "$JOK" "$JFAIL" "$JBAD" "$JOOM"; do wait_sacct "$j" 60; done
  say "ok=$JOK exit3=$JFAIL badout=$JBAD oom=$JOOM finished"
  cap scontrol_show_job_oom "OUT_OF_MEMORY: --mem=50M, allocates 300 MB (cgroup v1)" "scontrol show job -o $JOOM" >/dev/null

  # A busy moment: a running job to cancel, pending jobs with every reason.
  JR=$(sb cancel-running "$W/sleep.sh")
  wait_squeue "$JR" 30 RUNNING
  JP=$(sb cancel-pending "--begin=now+1hour --wrap true")
  JA=$(sb dep-first "$W/sleep.sh 5")
  JB=$(sb dep-afterok "--dependency=afterok:$JA --wrap true")
  JN=$(sb dep-never "--dependency=afterok:$JFAIL --wrap true")
  JL=$(cap sbatch_over_partition_time "submit: --time=2-00:00:00, over the partition's MaxTime (accepted, pends forever)" \
    "sbatch --parsable --time=2-00:00:00 --job-name=cap-parttime --comment=hpc-mcp:parttime $common --wrap true")
  poll 20 "squeue -h -j $JN -o %r" '^DependencyNeverSatisfied$' >/dev/null || true
  poll 20 "squeue -h -j $JL -o %r" '^PartitionTimeLimit$' >/dev/null || true
  say "busy: timeout=$JT running=$JR begin=$JP dep=$JA->$JB never=$JN parttime=$JL"
  cap squeue_busy "squeue, user's jobs: running, pending (BeginTime, Resources/Priority, Dependency, DependencyNeverSatisfied, PartitionTimeLimit)" \
    "squeue --noheader --user=\$(id -un) --format='$SQUEUE_FMT'" >/dev/null
  cap squeue_busy_default "plain squeue at the same moment" "squeue" >/dev/null
  # Not captured: squeue --json. In 22.05 it ignores -j/--user/--states and
  # prints every job the controller holds (~3.5 KB each).
  cap scontrol_show_job_running "RUNNING job" "scontrol show job -o $JR" >/dev/null
  cap scontrol_show_job_pending "PENDING jobs: BeginTime, Dependency, DependencyNeverSatisfied, PartitionTimeLimit" \
    "scontrol show job -o $JP $JB $JN $JL" >/dev/null
  # scontrol show job takes a single id; the line above shows what happens.
  cap scontrol_show_job_pending_each "PENDING jobs, one scontrol call each" \
    "for j in $JP $JB $JN $JL; do scontrol show job -o \$j; done" >/dev/null
  cap sacct_pending_just_submitted "sacct for jobs submitted a second ago: empty (slurmdbd lags)" \
    "sacct -X -P -n --format=$SACCT_FMT -j $JP,$JB,$JN,$JL" >/dev/null
  poll 20 "sacct -X -n -P -j $JP,$JB,$JN,$JL -o JobID | wc -l" '^4$' >/dev/null || true
  cap sacct_pending "sacct for pending jobs (Start Unknown, Comment not stored yet)" \
    "sacct -X -P -n --format=$SACCT_FMT -j $JP,$JB,$JN,$JL" >/dev/null

  cap scancel_running "scancel of a running job (silent)" "scancel $JR" >/dev/null
  cap squeue_after_cancel "squeue -j right after scancel of the running job" \
    "squeue --noheader --format='$SQUEUE_FMT' -j $JR" >/dev/null
  cap scancel_pending "scancel of a pending job (silent)" "scancel $JP" >/dev/null
  wait_sacct "$JR" 30
  wait_sacct "$JP" 30
  wait_sacct "$JB" 60
  say "cancelled $JR $JP; dependency chain $JA->$JB done"

  say "waiting for the timeout job $JT (60-90 s)"
  wait_sacct "$JT" 150

  # Array with a concurrency limit; task i exits with i.
  JARR=$(cap sbatch_array "submit: --array=0-4%2 prints the array's job id" \
    "sbatch --parsable --array=0-4%2 --job-name=cap-array --comment=hpc-mcp:array --output=$W/%x-%A_%a.out $W/array.sh")
  poll 20 "squeue -h -j $JARR -o %T" 'RUNNING' >/dev/null
  sleep 1
  cap squeue_array "squeue of a running array (pending tasks folded, JobArrayTaskLimit)" \
    "squeue --noheader --format='$SQUEUE_FMT' -j $JARR" >/dev/null
  cap squeue_array_r "squeue -r: one line per task" \
    "squeue -r --noheader --format='$SQUEUE_FMT' -j $JARR" >/dev/null
  cap scontrol_show_job_array_running "scontrol show job of a running array" \
    "scontrol show job -o $JARR" >/dev/null
  poll 60 "sacct -X -n -P -j $JARR -o State | sort -u | tr '\n' ' '" '^((COMPLETED|FAILED) )+$' >/dev/null
  sleep 2

  # Preemption: a debug job holding both CPUs, then an urgent job.
  JV=$(sb preempted "-c 2 $W/sleep.sh")
  wait_squeue "$JV" 30 RUNNING
  JU=$(sb preemptor "-p urgent --wrap 'sleep 2'")
  wait_sacct "$JV" 30
  wait_sacct "$JU" 30
  say "array=$JARR preempted=$JV by $JU"

  local ALL="$JOK,$JFAIL,$JBAD,$JOOM,$JR,$JP,$JA,$JB,$JN,$JL,$JT,$JARR,$JV,$JU"
  cap sacct_all "sacct -X, every case: $(
    printf 'ok=%s exit3=%s badout=%s oom=%s cancel-running=%s cancel-pending=%s dep-first=%s dep-afterok=%s dep-never=%s parttime=%s timeout=%s array=%s preempted=%s preemptor=%s' \
      "$JOK" "$JFAIL" "$JBAD" "$JOOM" "$JR" "$JP" "$JA" "$JB" "$JN" "$JL" "$JT" "$JARR" "$JV" "$JU"
  )" "sacct -X -P -n --format=$SACCT_FMT -j $ALL" >/dev/null
  cap sacct_all_steps "sacct with steps (batch/extern), same jobs" \
    "sacct -P -n --format=$SACCT_FMT -j $ALL" >/dev/null
  cap sacct_all_header "sacct -X -P with its header line, more columns" \
    "sacct -X -P --format=JobID,JobIDRaw,JobName,Partition,Account,State,ExitCode,DerivedExitCode,Submit,Start,End,Elapsed,Timelimit,NodeList,Reason,Comment -j $ALL" >/dev/null
  cap sacct_array "sacct -X of the array: one row per task" \
    "sacct -X -P -n --format=$SACCT_FMT -j $JARR" >/dev/null
  cap sacct_json_oom "sacct --json of the OUT_OF_MEMORY job" "sacct --json -j $JOOM" >/dev/null
  cap squeue_states_all "squeue --states=all: finished jobs stay for MinJobAge (300 s)" \
    "squeue --noheader --states=all --user=\$(id -un) --format='$SQUEUE_FMT'" >/dev/null
  for c in ok:$JOK exit3:$JFAIL badout:$JBAD cancelled_running:$JR cancelled_pending:$JP timeout:$JT preempted:$JV dep_afterok:$JB; do
    cap "scontrol_show_job_${c%%:*}" "scontrol show job -o: ${c%%:*}" "scontrol show job -o ${c#*:}" >/dev/null
  done

  # Pending forever until cancelled: the final states after scancel.
  rx "scancel $JN $JL"
  wait_sacct "$JN" 30
  wait_sacct "$JL" 30
  cap sacct_cancelled_pending_forever "sacct after scancel of DependencyNeverSatisfied and PartitionTimeLimit jobs" \
    "sacct -X -P -n --format=$SACCT_FMT -j $JN,$JL" >/dev/null

  # Errors and unknown ids.
  cap sbatch_bad_partition "submit into a partition that does not exist" \
    "sbatch --parsable -p nope --wrap true" >/dev/null
  cap sbatch_too_much_memory "submit asking for more memory than any node has" \
    "sbatch --parsable --mem=100G --wrap true" >/dev/null
  cap sbatch_missing_script "submit a script that does not exist" \
    "sbatch --parsable $W/does-not-exist.sh" >/dev/null
  cap squeue_unknown_id "squeue -j of an id the controller never had" \
    "squeue --noheader --format='$SQUEUE_FMT' -j 999999" >/dev/null
  cap squeue_finished_id "squeue -j of a finished job still held (empty)" \
    "squeue --noheader --format='$SQUEUE_FMT' -j $JOK" >/dev/null
  cap scontrol_show_job_unknown "scontrol show job of an unknown id" "scontrol show job -o 999999" >/dev/null
  cap sacct_unknown_id "sacct of an unknown id (empty, rc 0)" \
    "sacct -X -P -n --format=$SACCT_FMT -j 999999" >/dev/null
  cap scancel_unknown_id "scancel of an unknown id" "scancel 999999" >/dev/null
  cap scancel_finished_id "scancel of a finished job" "scancel $JOK" >/dev/null
}

# ------------------------------------------------------------ Grid Engine
capture_sge() {
  SCHED=sge
  VERSION="Grid Engine $(rx 'qstat -help' | head -n 1 | awk '{ print $2 }')"
  local W=$TESTBED_WORK/capture/sge
  rm -f "$ROOT"/tests/testdata/sge/*.{out,err,cmd}
  rx "rm -rf $W && mkdir -p $W"
  printf '#!/bin/bash\nsleep "${1:-300}"\n' | put "$W/sleep.sh"
  printf '#!/bin/bash\necho "about to fail"\nexit 3\n' | put "$W/exit3.sh"
  printf '#!/bin/bash\n# allocates 300 MB under h_vmem=100M\nperl -e '"'"'$x = "x" x (300 * 1024 * 1024); sleep 2; print length($x), "\\n"'"'"'\n' | put "$W/vmem.sh"
  printf '#!/bin/bash\nsleep 3\nexit "$SGE_TASK_ID"\n' | put "$W/array.sh"
  local io="-o $W -e $W -S /bin/bash"
  gone() { poll "$2" "qstat -j $1 >/dev/null 2>&1 && echo queued || echo gone" '^gone$' >/dev/null; }
  # qacct lags the job's end by up to the accounting flush time (1 s).
  acct() { poll "$2" "qacct -j $1 >/dev/null 2>&1 && echo yes || echo no" '^yes$' >/dev/null; }
  wait_qstate() { poll "$2" "qstat | awk '\$1 == $1 { print \$5 }' | head -n 1" "^$3\$" >/dev/null; }

  cap qconf_sql "preflight: queue list" "qconf -sql" >/dev/null
  cap qconf_sq "preflight: queue all.q" "qconf -sq all.q" >/dev/null
  cap qconf_spl "preflight: parallel environments" "qconf -spl" >/dev/null
  cap qconf_sp_smp "preflight: PE smp" "qconf -sp smp" >/dev/null
  cap qhost_xml "preflight: hosts" "qhost -xml" >/dev/null
  cap qhost "preflight: hosts, text" "qhost" >/dev/null
  cap qstat_xml_empty "qstat -xml with no jobs" "qstat -xml" >/dev/null

  local JOK JFAIL JVM JRT JS JH JE JARR JP
  JOK=$(cap qsub_terse "submit: -terse prints the job id" \
    "qsub -terse -N cap-ok $io -b y echo hello")
  JFAIL=$(rx "qsub -terse -N cap-exit3 $io $W/exit3.sh")
  JVM=$(cap qsub_terse_h_vmem "submit with -l h_vmem=100M (a 300 MB allocation fails)" \
    "qsub -terse -N cap-vmem -l h_vmem=100M $io $W/vmem.sh")
  JRT=$(cap qsub_terse_h_rt "submit with -l h_rt=0:0:5 (killed after 5 s)" \
    "qsub -terse -N cap-hrt -l h_rt=0:0:5 $io $W/sleep.sh")
  for j in "$JOK" "$JFAIL" "$JVM" "$JRT"; do gone "$j" 60; done
  say "ok=$JOK exit3=$JFAIL vmem=$JVM h_rt=$JRT finished"

  # A busy moment: running, hold (-hold_jid), Eqw, array tasks.
  JS=$(rx "qsub -terse -N cap-running $io $W/sleep.sh")
  wait_qstate "$JS" 30 r
  JH=$(cap qsub_terse_hold_jid "submit with -hold_jid on a running job (hqw)" \
    "qsub -terse -N cap-holdjid -hold_jid $JS $io -b y true")
  JE=$(cap qsub_terse_output_missing_dir "submit with -o into a directory that does not exist (Eqw)" \
    "qsub -terse -N cap-eqw -o $W/missing/x.o -e $W/missing/x.e -S /bin/bash -b y true")
  JARR=$(cap qsub_terse_array "submit an array -t 1-5 -tc 2 (prints id.first-last:step)" \
    "qsub -terse -N cap-array -t 1-5 -tc 2 $io $W/array.sh")
  JARR=${JARR%%.*}
  JP=$(rx "qsub -terse -N cap-userhold -h $io -b y true")
  wait_qstate "$JE" 30 Eqw
  poll 30 "qstat | awk '\$1 == $JARR { print \$5 }' | sort -u | tr '\n' ' '" 'r' >/dev/null
  say "busy: running=$JS hold_jid=$JH eqw=$JE array=$JARR userhold=$JP"
  cap qstat_xml_busy "qstat -xml: running, hqw (-hold_jid and -h), Eqw, array tasks running and pending" \
    "qstat -xml" >/dev/null
  cap qstat_busy "plain qstat at the same moment" "qstat" >/dev/null
  cap qstat_xml_user "qstat -xml -u USER at the same moment" "qstat -xml -u \$(id -un)" >/dev/null
  cap qstat_j_xml_running "qstat -j -xml of a running job" "qstat -j $JS -xml" >/dev/null
  cap qstat_j_xml_eqw "qstat -j -xml of an Eqw job (error reason)" "qstat -j $JE -xml" >/dev/null
  cap qstat_j_eqw "qstat -j (text) of an Eqw job" "qstat -j $JE" >/dev/null
  cap qstat_j_xml_array "qstat -j -xml of a running array" "qstat -j $JARR -xml" >/dev/null
  cap qstat_j_xml_hold "qstat -j -xml of a -hold_jid job" "qstat -j $JH -xml" >/dev/null

  cap qdel_running "qdel of a running job" "qdel $JS" >/dev/null
  cap qdel_eqw "qdel of an Eqw job" "qdel $JE" >/dev/null
  cap qdel_pending "qdel of a held pending job" "qdel $JP" >/dev/null
  gone "$JS" 30
  gone "$JH" 30
  gone "$JARR" 60
  for j in "$JOK" "$JFAIL" "$JVM" "$JRT" "$JS" "$JH" "$JARR"; do acct "$j" 30; done
  say "running=$JS deleted; hold_jid=$JH and array=$JARR done"

  cap qacct_ok "qacct: completed" "qacct -j $JOK" >/dev/null
  cap qacct_exit3 "qacct: exit 3" "qacct -j $JFAIL" >/dev/null
  cap qacct_h_vmem "qacct: h_vmem=100M, 300 MB allocation" "qacct -j $JVM" >/dev/null
  cap qacct_h_rt "qacct: killed by h_rt" "qacct -j $JRT" >/dev/null
  cap qacct_deleted_running "qacct: qdel while running" "qacct -j $JS" >/dev/null
  cap qacct_hold_jid "qacct: ran after its -hold_jid predecessor was deleted" "qacct -j $JH" >/dev/null
  cap qacct_array "qacct: array, one record per task (task i exits i)" "qacct -j $JARR" >/dev/null
  cap qacct_eqw "qacct: an Eqw job deleted before it ran (failed 26, start -/-)" "qacct -j $JE" >/dev/null

  cap qstat_j_finished "qstat -j of a finished job" "qstat -j $JOK" >/dev/null
  cap qstat_j_xml_finished "qstat -j -xml of a finished job" "qstat -j $JOK -xml" >/dev/null
  cap qdel_finished "qdel of a finished job" "qdel $JOK" >/dev/null
  cap qacct_unknown "qacct of an unknown id" "qacct -j 999999" >/dev/null
  cap qsub_bad_queue "submit into a queue that does not exist" \
    "qsub -terse -N cap-badq -q nope.q $io -b y true" >/dev/null
  cap qsub_missing_script "submit a script that does not exist" \
    "qsub -terse -N cap-noscript $io $W/does-not-exist.sh" >/dev/null
}

# ----------------------------------------------- controllers down (root)
capture_down() {
  local up=$HERE/up.sh down=$HERE/down.sh
  trap '"$up" --no-smoke >/dev/null 2>&1 || true' RETURN
  if [[ " ${WHAT[*]} " == *" slurm "* ]]; then
    SCHED=slurm
    VERSION="Slurm $(rx 'sbatch --version' | awk '{ print $2 }')"
    "$down" --only slurmctld >/dev/null 2>&1
    say "slurmctld stopped"
    cap squeue_ctld_down "squeue while slurmctld is down" "squeue --noheader --format='$SQUEUE_FMT'" >/dev/null
    cap sbatch_ctld_down "sbatch while slurmctld is down" "sbatch --parsable --wrap true" >/dev/null
    cap scontrol_ping_ctld_down "scontrol ping while slurmctld is down" "scontrol ping" >/dev/null
    cap sacct_ctld_down "sacct while slurmctld is down (slurmdbd answers)" \
      "sacct -X -P -n --format=$SACCT_FMT -S now-1hour --name=cap-ok" >/dev/null
    "$up" --no-smoke >/dev/null 2>&1
    say "slurmctld restored"
  fi
  if [[ " ${WHAT[*]} " == *" sge "* ]]; then
    SCHED=sge
    VERSION="Grid Engine $(rx 'qstat -help' | head -n 1 | awk '{ print $2 }')"
    "$down" --only sge_qmaster >/dev/null 2>&1
    say "sge_qmaster stopped"
    cap qstat_qmaster_down "qstat while sge_qmaster is down" "qstat -xml" >/dev/null
    cap qsub_qmaster_down "qsub while sge_qmaster is down" "qsub -terse -b y -N cap-down true" >/dev/null
    "$up" --no-smoke >/dev/null 2>&1
    say "sge_qmaster restored"
  fi
}

# Everything must run (a fault test or an earlier capture may have left a
# daemon down); up.sh --no-smoke restarts only what is missing.
if [[ $(id -u) -eq 0 ]]; then
  "$HERE/up.sh" --no-smoke
fi
# One multiplexed connection for both parts (they would race to create it).
timeout 30 "${SSH[@]}" true </dev/null
pids=()
for w in "${WHAT[@]}"; do
  case $w in
    slurm) capture_slurm & ;;
    sge) capture_sge & ;;
    *)
      echo "capture.sh: unknown part: $w (slurm, sge)" >&2
      exit 2
      ;;
  esac
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
((rc == 0)) || {
  echo "capture.sh: a part failed" >&2
  exit 1
}
if [[ $(id -u) -eq 0 ]]; then
  capture_down
else
  SCHED=all say "not root: skipping the controller-down captures"
fi
SCHED=all say "done: tests/testdata/{slurm,sge}/"
