# case: qdel of one pending array task: array=92 task=4
# captured: 2026-11-23T07:25:22Z, Grid Engine 8.1.9, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
qdel 92.4
