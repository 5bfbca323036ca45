# case: submit: --output into a directory that does not exist (accepted; fails at launch)
# captured: 2026-11-23T06:49:13Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sbatch --parsable --job-name=cap-badout --comment=hpc-mcp:badout --output=/tmp/hpc-testbed/jobdir/capture/slurm/missing/x.out --wrap true
