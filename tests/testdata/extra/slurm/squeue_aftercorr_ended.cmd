# case: squeue (the backend's query) of two aftercorr student arrays after a sweep's teacher element 1 failed: element 0 ran (405_0 completed, 406_0 failed exit 3), element 1 cancelled while pending: a=405 b=406
# captured: 2026-11-24T02:25:40Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
SLURM_TIME_FORMAT=%s squeue --noheader --array --states=all --jobs=405,406 --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k'
