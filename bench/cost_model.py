"""Scenario 5: the monthly bill of the default schedule and task sizes, from measured times and bytes.

Inputs are what scenarios 1 and 6 measured (build/bench/results.json): the daily preprocess run's seconds and
bytes read, and the train and infer runs' seconds. Prices are the published us-east-1 ones the issue lists.
The schedule, task sizes and endpoints are the Terraform defaults (files named below); change them here if
those change.
"""

from dataclasses import dataclass

from preprocess.engine import sql_names

from bench.results import Figure

# terraform/modules/workflow/variables.tf: daily cron(0 23 2-31 * ? *) runs preprocess and infer; monthly
# cron(0 23 1 * ? *) runs preprocess, train and infer. An average month has 365.25 / 12 days.
DAYS_PER_MONTH = 365.25 / 12
HOURS_PER_MONTH = 730
DAILY_RUNS_PER_MONTH = DAYS_PER_MONTH - 1
MONTHLY_RUNS_PER_MONTH = 1
# terraform/modules/stack/variables.tf, task_sizes: CPU units (1024 = 1 vCPU) and MiB.
TASK_SIZES = {"preprocess": (1024, 4096), "train": (2048, 8192), "infer": (512, 2048)}
# terraform/modules/network/variables.tf: six interface endpoints (S3 is a free gateway endpoint), one network
# interface in each of the two availability zones the envs use.
INTERFACE_ENDPOINTS = 6
AVAILABILITY_ZONES = 2

ATHENA_PER_TB = 5.0
ATHENA_MINIMUM_BYTES = 10 * 1024**2  # per query
FARGATE_PRICES = {"x86": (0.04048, 0.004445), "arm": (0.03238, 0.00356)}  # per vCPU-hour, per GB-hour
FARGATE_MINIMUM_SECONDS = 60
ENDPOINT_PER_AZ_HOUR = 0.01
TB = 1024**4


@dataclass(frozen=True)
class Line:
    item: str
    quantity: str
    x86: float
    arm: float


def athena_billed_bytes(bytes_read: int, queries: int) -> int:
    """Each query is billed at least 10 MB: when every query of a run scans less, that minimum is the bill."""
    return max(bytes_read, queries * ATHENA_MINIMUM_BYTES)


def fargate_line(unit: str, seconds: float, runs_per_month: float) -> Line:
    cpu, memory = TASK_SIZES[unit]
    billed_hours = max(seconds, FARGATE_MINIMUM_SECONDS) * runs_per_month / 3600
    vcpu_hours, gb_hours = cpu / 1024 * billed_hours, memory / 1024 * billed_hours
    cost = {
        arch: vcpu_hours * per_vcpu + gb_hours * per_gb for arch, (per_vcpu, per_gb) in FARGATE_PRICES.items()
    }
    return Line(
        f"Fargate {unit} ({cpu / 1024:g} vCPU, {memory / 1024:g} GB), {runs_per_month:.2f} runs of "
        f"{seconds:.1f} s, billed at least {FARGATE_MINIMUM_SECONDS} s",
        f"{vcpu_hours * 3600:,.0f} vCPU-s, {gb_hours * 3600:,.0f} GB-s",
        cost["x86"],
        cost["arm"],
    )


def monthly_bill(
    preprocess_seconds: float, bytes_read: int, train_seconds: float, infer_seconds: float
) -> list[Line]:
    queries = len(sql_names())
    runs = DAILY_RUNS_PER_MONTH + MONTHLY_RUNS_PER_MONTH
    athena_bytes = athena_billed_bytes(bytes_read, queries) * runs
    athena_cost = athena_bytes / TB * ATHENA_PER_TB
    endpoint_hours = INTERFACE_ENDPOINTS * AVAILABILITY_ZONES * HOURS_PER_MONTH
    endpoint_cost = endpoint_hours * ENDPOINT_PER_AZ_HOUR
    lines = [
        Line(
            f"Athena, {runs:.2f} preprocess runs x {queries} queries (10 MB minimum each)",
            f"{athena_bytes / 1024**3:,.2f} GB",
            athena_cost,
            athena_cost,
        ),
        fargate_line("preprocess", preprocess_seconds, runs),
        fargate_line("train", train_seconds, MONTHLY_RUNS_PER_MONTH),
        fargate_line("infer", infer_seconds, runs),
        Line(
            f"Interface endpoints, {INTERFACE_ENDPOINTS} x {AVAILABILITY_ZONES} AZ x {HOURS_PER_MONTH} h",
            f"{endpoint_hours:,} endpoint-AZ-h",
            endpoint_cost,
            endpoint_cost,
        ),
    ]
    lines.append(
        Line("Total per month", "", sum(line.x86 for line in lines), sum(line.arm for line in lines))
    )
    return lines


def measure(results: dict) -> tuple[list, dict]:
    try:
        daily = results["daily_cost"]["details"]
        quality = results["quality"]["details"]
    except KeyError as missing:
        raise RuntimeError(f"scenario {missing} has no results yet: run it before the cost model") from None
    bytes_read = daily["daily_run_bytes_read"]
    lines = monthly_bill(
        daily["daily_run_seconds"], bytes_read, quality["train"]["seconds"], quality["infer"]["seconds"]
    )
    queries = len(sql_names())
    figures = [
        Figure("bytes a daily or monthly preprocess run reads (Athena's scan)", bytes_read, "bytes"),
        Figure(
            f"Athena bytes billed per run ({queries} queries, 10 MB minimum each)",
            athena_billed_bytes(bytes_read, queries),
            "bytes",
        ),
        Figure("monthly bill, x86", lines[-1].x86, "USD"),
        Figure("monthly bill, ARM", lines[-1].arm, "USD"),
    ]
    return figures, {"lines": [line.__dict__ for line in lines], "athena_queries_per_run": queries}


def table(lines: list[dict]) -> str:
    rows = ["| item | quantity | x86 USD/month | ARM USD/month |", "| --- | ---: | ---: | ---: |"]
    for line in lines:
        rows.append(f"| {line['item']} | {line['quantity']} | {line['x86']:.2f} | {line['arm']:.2f} |")
    return "\n".join(rows)
