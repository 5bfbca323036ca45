# case: sacct of an aftercorr array whose element 0 ran and failed (exit 3) and whose element 1 was cancelled while pending (its predecessor failed): the folded record "_[0-1]" names element 0 too
# captured: 2026-11-24T00:29:00Z, Slurm 22.05.8, on the testbed (a sweep's student array)
# rc: 0
# stderr: (empty)
sacct --noheader --parsable2 --jobs=5943 --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment
