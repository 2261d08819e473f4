"""On the simulated lake with realistic defects, daily runs in any order, and a run repeated, give exactly the
bytes of one backfill: warehouse, quarantine and features."""

import random
from datetime import date, timedelta

from scripts.simulate import REALISTIC_DEFECTS, SimulationConfig, simulate
from tests.e2e.inprocess import MART, WAREHOUSE, Bucket, preprocess, simulated_lake

START, DAYS = date(2026, 2, 2), 10


def test_daily_runs_in_any_order_give_the_bytes_of_one_backfill():
    simulation = simulate(SimulationConfig(start=START, days=DAYS, defects=REALISTIC_DEFECTS))
    assert any(row["expected"] == "quarantined" for row in simulation.defects.to_pylist())
    days = [(START + timedelta(days=offset)).isoformat() for offset in range(DAYS)]
    with simulated_lake(simulation) as s3:
        preprocess("backfill", "--start", days[0], "--end", days[-1])
        backfill = {**Bucket(s3, WAREHOUSE).data_files(), **Bucket(s3, MART).data_files()}

        for bucket in ("daily-warehouse", "daily-mart"):
            s3.create_bucket(Bucket=bucket)
        order = [days[0], *random.Random(5).sample(days[1:], DAYS - 1), days[3]]  # day 1 lands the masters
        for day in order:
            preprocess("run", "--date", day, warehouse="daily-warehouse", mart="daily-mart")
        daily = {**Bucket(s3, "daily-warehouse").data_files(), **Bucket(s3, "daily-mart").data_files()}

    assert {partition.split("/")[0] for partition in backfill} == {
        "sales", "prices", "stores", "items", "holidays", "quarantine", "features"
    }  # fmt: skip
    assert daily == backfill
