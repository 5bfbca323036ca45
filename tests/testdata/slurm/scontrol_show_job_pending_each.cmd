# case: PENDING jobs, one scontrol call each
# captured: 2026-11-23T06:49:20Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
for j in 12 14 15 16; do scontrol show job -o $j; done
