# case: submit: --array=0-4%2 prints the array's job id
# captured: 2026-11-23T06:50:33Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sbatch --parsable --array=0-4%2 --job-name=cap-array --comment=hpc-mcp:array --output=/tmp/hpc-testbed/jobdir/capture/slurm/%x-%A_%a.out /tmp/hpc-testbed/jobdir/capture/slurm/array.sh
