# case: qacct: ran after its -hold_jid predecessor was deleted
# captured: 2026-11-23T06:49:42Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qacct -j 8
