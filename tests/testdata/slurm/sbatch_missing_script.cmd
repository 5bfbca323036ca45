# case: submit a script that does not exist
# captured: 2026-11-23T06:50:53Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: sbatch_missing_script.err
sbatch --parsable /tmp/hpc-testbed/jobdir/capture/slurm/does-not-exist.sh
