# case: squeue --states=all: finished jobs stay for MinJobAge (300 s)
# captured: 2026-11-23T06:50:51Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
squeue --noheader --states=all --user=$(id -un) --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k'
