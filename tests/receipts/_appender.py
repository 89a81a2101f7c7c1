"""Helper process for the crash and concurrency tests: append in a loop and print
``seq entry_hash`` after each append returns."""

import os
import sys
import time

from openmoe_bft.receipts import AuditChain, Ed25519Key

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sealing = sys.argv[4] if len(sys.argv) > 4 else "entry"
key = Ed25519Key.from_raw(bytes(range(32)))
chain = AuditChain(path, signer=key, sealing=sealing, checkpoint_every=5)
pause = 0.0
if len(sys.argv) > 5:  # a start barrier: wait for this file, so writers overlap
    while not os.path.exists(sys.argv[5]):
        time.sleep(0.002)
    pause = 0.001  # and do a little "work" between appends, as real writers do
for i in range(count):
    if sealing == "batch" and i % 3 == 0:
        rs = chain.append_many([{"w": name, "i": i, "j": j} for j in range(3)], trace_id=name)
    else:
        rs = [chain.append({"w": name, "i": i}, trace_id=name)]
    for r in rs:
        sys.stdout.write(f"{r.seq} {r.entry_hash}\n")
    sys.stdout.flush()
    if pause:
        time.sleep(pause)
