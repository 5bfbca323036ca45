# case: submit: --time=2-00:00:00, over the partition's MaxTime (accepted, pends forever)
# captured: 2026-11-23T06:49:18Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sbatch --parsable --time=2-00:00:00 --job-name=cap-parttime --comment=hpc-mcp:parttime --output=/tmp/hpc-testbed/jobdir/capture/slurm/%x-%j.out --wrap true
