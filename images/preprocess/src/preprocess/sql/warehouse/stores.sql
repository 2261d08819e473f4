-- warehouse.stores: a snapshot of the whole store master, partitioned by the day it landed.
-- If several files landed that day, the last file name wins; within it, the last line for a store_id.
WITH landed AS (
    SELECT
        dt,
        store_id,
        store_name,
        city,
        store_type,
        source_key,
        line_number,
        max(source_key) OVER (PARTITION BY dt) AS last_key
    FROM lake.stores
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

ranked AS (
    SELECT
        dt,
        store_id,
        store_name,
        city,
        store_type,
        row_number() OVER (PARTITION BY dt, store_id ORDER BY line_number DESC) AS last_first
    FROM landed
    WHERE source_key = last_key
)

SELECT
    dt,
    store_id,
    store_name,
    city,
    store_type
FROM ranked
WHERE last_first = 1
ORDER BY dt, store_id
