# case: sacct -X -P with its header line, more columns
# captured: 2026-11-23T06:50:51Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -X -P --format=JobID,JobIDRaw,JobName,Partition,Account,State,ExitCode,DerivedExitCode,Submit,Start,End,Elapsed,Timelimit,NodeList,Reason,Comment -j 7,8,9,10,11,12,13,14,15,16,6,17,22,23
