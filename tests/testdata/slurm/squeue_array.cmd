# case: squeue of a running array (pending tasks folded, JobArrayTaskLimit)
# captured: 2026-11-23T06:50:35Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
squeue --noheader --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k' -j 17
