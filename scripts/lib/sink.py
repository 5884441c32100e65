"""What the dev stack's sinks share (smtp_sink.py, notify_sink.py).

A sink tells whoever started it its port through --ready-file (written
whole, then renamed, so a reader never sees half of it) and runs until
SIGTERM or SIGINT.
"""
import os
import signal
import threading


def ready(port, ready_file, banner):
    """Writes port to ready_file (when given), then prints banner."""
    if ready_file:
        tmp = ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, ready_file)
    print(banner, flush=True)


def wait_for_stop():
    """Returns after SIGTERM or SIGINT."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    while not done.wait(1):
        pass
