-- warehouse.sales: units sold per store x item, partitioned by sale date.
-- A sale may land up to the late window after its date, and may land more than once (a correction is a new
-- file). The lake is immutable, so each sale date is rebuilt from every file that may carry it; of several rows
-- for one (sale_date, store_id, item_id) the one landed last wins, then the one from the last file name, then
-- the last line of that file.
WITH ranked AS (
    SELECT
        sale_date,
        store_id,
        item_id,
        units_sold,
        row_number() OVER (
            PARTITION BY sale_date, store_id, item_id
            ORDER BY dt DESC, source_key DESC, line_number DESC
        ) AS newest_first
    FROM lake.sales
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
        AND sale_date IN ({{ business_dates }})
)

SELECT
    sale_date AS dt,
    store_id,
    item_id,
    units_sold
FROM ranked
WHERE newest_first = 1
ORDER BY dt, store_id, item_id
