"""Times a 100-day backfill (10 stores x 50 items, ~50k sales rows) against a moto server, as the container
runs it: the `preprocess` console script in its own process, reaching S3 through AWS_ENDPOINT_URL.

    .venv/bin/python images/preprocess/tests/benchmark_backfill.py [--days 100] [--stores 10] [--items 50]

Not a test (pytest does not collect it): it prints timings and the committed partition counts.
"""

import argparse
import logging
import os
import random
import resource
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

FAKE_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
BUCKETS = {"LAKE_BUCKET": "bench-lake", "WAREHOUSE_BUCKET": "bench-warehouse", "MART_BUCKET": "bench-mart"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def land_history(s3, start: date, days: int, stores: int, items: int, seed: int = 1) -> int:
    """Masters on day one; each day's sales land that day, 5% of them one to three days late; prices for a
    day land the day before. Returns the number of sales rows."""
    rng = random.Random(seed)
    lake = BUCKETS["LAKE_BUCKET"]
    store_ids = [f"S{s:02d}" for s in range(1, stores + 1)]
    item_ids = [f"I{i:03d}" for i in range(1, items + 1)]

    def put(source: str, landed_on: date, lines: list[str]) -> None:
        s3.put_object(
            Bucket=lake,
            Key=f"{source}/dt={landed_on}/{source}_{landed_on}.csv",
            Body=("\n".join(lines) + "\n").encode(),
        )

    put(
        "stores",
        start,
        ["store_id,store_name,city,store_type", *(f"{s},Store {s},City,urban" for s in store_ids)],
    )
    put(
        "items",
        start,
        ["item_id,item_name,category,base_price", *(f"{i},Item {i},food,2.50" for i in item_ids)],
    )
    put("holidays", start, ["holiday_date,holiday_name", f"{start + timedelta(days=30)},Holiday"])
    late: dict[date, list[str]] = {}
    rows = 0
    for n in range(days):
        day = start + timedelta(days=n)
        sales = late.pop(day, [])
        for s in store_ids:
            for i in item_ids:
                line = f"{day},{s},{i},{rng.randint(0, 20)}"
                rows += 1
                if rng.random() < 0.05 and n < days - 3:
                    late.setdefault(day + timedelta(days=rng.randint(1, 3)), []).append(line)
                else:
                    sales.append(line)
        put("sales", day, ["sale_date,store_id,item_id,units_sold", *sales])
        valid_on = day + timedelta(days=1)
        prices = [
            f"{valid_on},{s},{i},{rng.choice(['2.50', '2.25', '1.99'])},{rng.randint(0, 1)}"
            for s in store_ids
            for i in item_ids
        ]
        put("prices", day, ["valid_on,store_id,item_id,unit_price,on_promotion", *prices])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        env = {
            **os.environ,
            **FAKE_AWS,
            **BUCKETS,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "LOG_FORMAT": "json",
        }
        s3 = boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket)
        start = date(2026, 1, 1)
        rows = land_history(s3, start, args.days, args.stores, args.items)
        end = start + timedelta(days=args.days - 1)
        script = Path(sys.executable).parent / "preprocess"
        command = [str(script), "backfill", "--start", str(start), "--end", str(end)]
        began, cpu_before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds, cpu_after = time.monotonic() - began, resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        if completed.returncode != 0:
            sys.exit(f"backfill failed ({completed.returncode}): {completed.stderr.strip().splitlines()[-1]}")
        finished = [line for line in completed.stderr.splitlines() if '"run_finished"' in line]
        print(f"{args.days} landing days, {args.stores} stores x {args.items} items, {rows} sales rows")
        print(f"backfill process: {seconds:.1f} s wall, {cpu:.1f} s CPU (imports, moto S3, DuckDB)")
        print(finished[-1] if finished else completed.stderr[-2000:])
        began = time.monotonic()
        rerun = subprocess.run(
            [str(script), "run", "--date", str(end)], env=env, capture_output=True, check=False
        )
        print(f"daily run for {end}: {time.monotonic() - began:.1f} s wall, exit {rerun.returncode}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
