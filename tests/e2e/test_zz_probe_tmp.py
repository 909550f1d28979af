import time
from tests.e2e.test_outgoing import *  # noqa
from tests.e2e.test_outgoing import test_pki  # noqa

def test_probe(clock, offices, open_page):
    t = time.time()
    pages = [open_page() for _ in range(4)]
    print("contexts", time.time() - t)
    for p in pages:
        t = time.time()
        log_in(p, offices.clerk)
        print("login", time.time() - t)
    t = time.time()
    pages[0].goto("/inbox/")
    print("inbox", time.time() - t)
    t = time.time()
    pages[0].goto("/outgoing/new")
    print("new", time.time() - t)
