# case: submit: --time=1 in partition urgent (becomes TIMEOUT)
# captured: 2026-11-23T06:49:13Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sbatch --parsable -p urgent --time=1 --job-name=cap-timeout --comment=hpc-mcp:timeout --output=/tmp/hpc-testbed/jobdir/capture/slurm/%x-%j.out /tmp/hpc-testbed/jobdir/capture/slurm/sleep.sh
