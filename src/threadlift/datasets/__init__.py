"""Data to try threadlift on.

- :mod:`~threadlift.datasets.synthetic`: the one seeded WhatsApp experiment generator (known
  true effect) behind the demo, the notebooks, the tests and the benchmarks.
- :mod:`~threadlift.datasets.hillstrom`: Hillstrom's 2008 randomized e-mail test as canonical
  tables.
- :mod:`~threadlift.datasets.demo`: ``threadlift demo``, a seeded workspace and its report.
"""
