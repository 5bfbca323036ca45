# case: squeue --states=all (the backend's query) of the same jobs: fail=113 never=114
# captured: 2026-11-23T07:25:14Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
SLURM_TIME_FORMAT=%s squeue --noheader --array --states=all --jobs=113,114 --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k'
