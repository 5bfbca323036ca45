# case: qstat -xml: running, hqw (-hold_jid and -h), Eqw, array tasks running and pending
# captured: 2026-11-23T06:49:27Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qstat -xml
