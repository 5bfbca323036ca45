# case: submit asking for more memory than any node has
# captured: 2026-11-23T06:50:53Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: sbatch_too_much_memory.err
sbatch --parsable --mem=100G --wrap true
