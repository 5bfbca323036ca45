# case: qdel of a finished job
# captured: 2026-11-23T06:49:43Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: (empty)
qdel 3
