# case: sacct -X, every case: ok=7 exit3=8 badout=9 oom=10 cancel-running=11 cancel-pending=12 dep-first=13 dep-afterok=14 dep-never=15 parttime=16 timeout=6 array=17 preempted=22 preemptor=23
# captured: 2026-11-23T06:50:50Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -X -P -n --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment -j 7,8,9,10,11,12,13,14,15,16,6,17,22,23
