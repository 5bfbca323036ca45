# case: submit: --parsable prints the job id
# captured: 2026-11-23T06:49:13Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sbatch --parsable --job-name=cap-ok --comment=hpc-mcp:ok --output=/tmp/hpc-testbed/jobdir/capture/slurm/%x-%j.out --wrap 'echo hello'
