-- mart.features: one row per store x item for each target date t (the day demand is for), partitioned by t.
-- The features use sales up to t - 1, the price list for t (it lands the day before) and the master data
-- current on t (per the contract, the latest snapshot with dt <= t). The label, units_sold, is the sale of t
-- itself and stays null until that day's sales are in the warehouse.
-- Every target date is computed in one pass: the look-back windows are conditional aggregates over a join on
-- the 28 days before t (window RANGE frames over dates differ between engines; these do not). Standard
-- deviations are sample ones, null under two values.
WITH targets AS (
    SELECT t
    FROM UNNEST(ARRAY[{{ target_dates }}]) AS target (t)
),

sales AS (
    SELECT dt, store_id, item_id, units_sold
    FROM warehouse.sales
    WHERE dt BETWEEN {{ history_from }} AND {{ targets_to }}
),

prices AS (
    SELECT dt, store_id, item_id, unit_price, on_promotion
    FROM warehouse.prices
    WHERE dt BETWEEN {{ targets_from }} AND {{ targets_to }}
),

stores AS (
    SELECT dt, store_id
    FROM warehouse.stores
    WHERE dt BETWEEN {{ stores_from }} AND {{ targets_to }}
),

items AS (
    SELECT dt, item_id, base_price
    FROM warehouse.items
    WHERE dt BETWEEN {{ items_from }} AND {{ targets_to }}
),

holidays AS (
    SELECT dt, holiday_date
    FROM warehouse.holidays
    WHERE dt BETWEEN {{ holidays_from }} AND {{ targets_to }}
),

-- the snapshot of each master that is current on t: the latest one with dt <= t
snapshot_dates AS (
    SELECT DISTINCT 'stores' AS master, dt FROM stores
    UNION ALL
    SELECT DISTINCT 'items' AS master, dt FROM items
    UNION ALL
    SELECT DISTINCT 'holidays' AS master, dt FROM holidays
),

snapshots AS (
    SELECT
        targets.t,
        max(CASE WHEN snapshot_dates.master = 'stores' THEN snapshot_dates.dt END) AS stores_dt,
        max(CASE WHEN snapshot_dates.master = 'items' THEN snapshot_dates.dt END) AS items_dt,
        max(CASE WHEN snapshot_dates.master = 'holidays' THEN snapshot_dates.dt END) AS holidays_dt
    FROM targets
    INNER JOIN snapshot_dates ON snapshot_dates.dt <= targets.t
    GROUP BY targets.t
),

grid AS (
    SELECT
        snapshots.t,
        stores.store_id,
        items.item_id,
        items.base_price
    FROM snapshots
    INNER JOIN stores ON stores.dt = snapshots.stores_dt
    INNER JOIN items ON items.dt = snapshots.items_dt
),

holiday_targets AS (
    SELECT snapshots.t
    FROM snapshots
    INNER JOIN holidays ON holidays.dt = snapshots.holidays_dt AND holidays.holiday_date = snapshots.t
),

-- every sale of the 28 days before t, and of t itself (the label), beside its grid row
lookback AS (
    SELECT
        grid.t,
        grid.store_id,
        grid.item_id,
        date_diff('day', sales.dt, grid.t) AS days_before,
        sales.units_sold
    FROM grid
    LEFT JOIN sales
        ON sales.store_id = grid.store_id
        AND sales.item_id = grid.item_id
        AND date_diff('day', sales.dt, grid.t) BETWEEN 0 AND 28
),

-- counts and exact integer sums: the means and deviations below are then the same whatever order a parallel
-- engine adds in, so the same inputs give the same bytes
history AS (
    SELECT
        t,
        store_id,
        item_id,
        max(CASE WHEN days_before = 1 THEN units_sold END) AS lag_1,
        max(CASE WHEN days_before = 7 THEN units_sold END) AS lag_7,
        max(CASE WHEN days_before = 14 THEN units_sold END) AS lag_14,
        max(CASE WHEN days_before = 28 THEN units_sold END) AS lag_28,
        count(CASE WHEN days_before BETWEEN 1 AND 7 THEN units_sold END) AS n_7,
        sum(CASE WHEN days_before BETWEEN 1 AND 7 THEN units_sold END) AS sum_7,
        sum(CASE WHEN days_before BETWEEN 1 AND 7 THEN units_sold * units_sold END) AS squares_7,
        count(CASE WHEN days_before BETWEEN 1 AND 28 THEN units_sold END) AS n_28,
        sum(CASE WHEN days_before BETWEEN 1 AND 28 THEN units_sold END) AS sum_28,
        sum(CASE WHEN days_before BETWEEN 1 AND 28 THEN units_sold * units_sold END) AS squares_28,
        max(CASE WHEN days_before = 0 THEN units_sold END) AS units_sold
    FROM lookback
    GROUP BY t, store_id, item_id
)

SELECT
    grid.t AS dt,
    grid.store_id,
    grid.item_id,
    CAST(day_of_week(grid.t) AS bigint) AS day_of_week,
    CAST(day_of_month(grid.t) AS bigint) AS day_of_month,
    CAST(month(grid.t) AS bigint) AS month,
    holiday_targets.t IS NOT NULL AS is_holiday,
    prices.unit_price,
    prices.on_promotion,
    prices.unit_price / nullif(grid.base_price, 0) AS price_ratio,
    CAST(history.lag_1 AS double) AS lag_1,
    CAST(history.lag_7 AS double) AS lag_7,
    CAST(history.lag_14 AS double) AS lag_14,
    CAST(history.lag_28 AS double) AS lag_28,
    CAST(history.sum_7 AS double) / history.n_7 AS mean_7,
    CASE
        WHEN history.n_7 > 1
            THEN sqrt(
                CAST(history.n_7 * history.squares_7 - history.sum_7 * history.sum_7 AS double)
                / (history.n_7 * (history.n_7 - 1))
            )
    END AS std_7,
    CAST(history.sum_28 AS double) / history.n_28 AS mean_28,
    CASE
        WHEN history.n_28 > 1
            THEN sqrt(
                CAST(history.n_28 * history.squares_28 - history.sum_28 * history.sum_28 AS double)
                / (history.n_28 * (history.n_28 - 1))
            )
    END AS std_28,
    history.units_sold
FROM grid
INNER JOIN history
    ON history.t = grid.t
    AND history.store_id = grid.store_id
    AND history.item_id = grid.item_id
LEFT JOIN holiday_targets ON holiday_targets.t = grid.t
LEFT JOIN prices
    ON prices.dt = grid.t
    AND prices.store_id = grid.store_id
    AND prices.item_id = grid.item_id
ORDER BY dt, grid.store_id, grid.item_id
