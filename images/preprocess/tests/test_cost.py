"""The daily run reads what its `dt` predicates name, so its bytes read do not grow with the history: the run
of the day after 40 days and after 400 days of history reads exactly as many bytes (`make bench` scenario 1
measures the same at 100 and 1000 days)."""

from datetime import date, timedelta

from preprocess import pipeline
from preprocess.catalog import Catalog
from preprocess.config import Buckets, RunConfig
from preprocess.engine import EmbeddedEngine
from preprocess.storage import Storage

from .conftest import LAKE, MART, WAREHOUSE, Lake, mocked_s3

START = date(2024, 1, 1)
BUCKETS = Buckets(LAKE, WAREHOUSE, MART)


class CountingStorage(Storage):
    """Counts the bytes of every object the run reads."""

    bytes_read = 0

    def get(self, bucket: str, key: str):
        found = super().get(bucket, key)
        if found is not None:
            self.bytes_read += len(found[0])
        return found


def run(storage: Storage, first: date, last: date) -> None:
    config = RunConfig(first, last, BUCKETS)
    catalog = Catalog(storage, config)
    pipeline.run(
        config, storage, catalog, EmbeddedEngine(catalog), pipeline.make_plan(config, storage, catalog)
    )


def bytes_read_by_the_run_after(history_days: int) -> int:
    """Lands `history_days` + 1 days of the same small day, commits the history, then runs the last day."""
    with mocked_s3() as s3:
        lake = Lake(s3)
        lake.land(
            "stores", START.isoformat(), "stores.csv", "store_id,store_name,city,store_type\nS01,A,X,urban"
        )
        lake.land(
            "items", START.isoformat(), "items.csv", "item_id,item_name,category,base_price\nI001,T,d,2"
        )
        lake.land("holidays", START.isoformat(), "holidays.csv", "holiday_date,holiday_name\n2024-12-25,Xmas")
        days = [START + timedelta(days=offset) for offset in range(history_days + 1)]
        for day in days:
            following = day + timedelta(days=1)
            lake.land(
                "sales",
                day.isoformat(),
                "sales.csv",
                f"sale_date,store_id,item_id,units_sold\n{day},S01,I001,3",
            )
            lake.land(
                "prices",
                day.isoformat(),
                "prices.csv",
                f"valid_on,store_id,item_id,unit_price,on_promotion\n{following},S01,I001,2.50,0",
            )
        run(Storage(s3), days[0], days[-2])
        storage = CountingStorage(s3)
        run(storage, days[-1], days[-1])
        return storage.bytes_read


def test_the_daily_run_reads_as_many_bytes_after_40_days_as_after_400():
    after_40 = bytes_read_by_the_run_after(40)  # more than the 28 days the features look back
    assert after_40 > 0
    assert bytes_read_by_the_run_after(400) == after_40
