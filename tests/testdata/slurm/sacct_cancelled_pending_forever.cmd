# case: sacct after scancel of DependencyNeverSatisfied and PartitionTimeLimit jobs
# captured: 2026-11-23T06:50:53Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -X -P -n --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment -j 15,16
