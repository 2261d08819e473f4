"""The simulated retail source system behind `scripts/simulate.py`.

`world` holds what does not change from day to day (stores, items, categories, the holiday calendar),
`demand` draws prices, promotions and sales per store x item x day, and `landing` decides which rows land
on which day and turns them into the lake's CSV files.
"""
