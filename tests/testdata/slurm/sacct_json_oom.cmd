# case: sacct --json of the OUT_OF_MEMORY job
# captured: 2026-11-23T06:50:51Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct --json -j 10
