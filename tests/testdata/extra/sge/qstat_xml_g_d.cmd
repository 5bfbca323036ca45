# case: qstat -xml -g d -u '$user' (the backend's query): array=92 -t 1-4 -tc 1, one task running, three pending, one entry per task
# captured: 2026-11-23T07:25:21Z, Grid Engine 8.1.9, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
qstat -xml -g d -u '$user'
