import gc

from crm import create_app

app = create_app()
# What start-up made lives as long as the worker: keep it out of the collector's full passes,
# which would otherwise scan all of it every few requests (a 30 ms pause on the board).
gc.freeze()
