# case: qacct: an Eqw job deleted before it ran (failed 26, start -/-)
# captured: 2026-11-23T06:49:42Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qacct -j 9
