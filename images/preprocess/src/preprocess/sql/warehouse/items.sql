-- warehouse.items: a snapshot of the whole item master, partitioned by the day it landed.
-- If several files landed that day, the last file name wins; within it, the last line for an item_id.
WITH landed AS (
    SELECT
        dt,
        item_id,
        item_name,
        category,
        base_price,
        source_key,
        line_number,
        max(source_key) OVER (PARTITION BY dt) AS last_key
    FROM lake.items
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

ranked AS (
    SELECT
        dt,
        item_id,
        item_name,
        category,
        base_price,
        row_number() OVER (PARTITION BY dt, item_id ORDER BY line_number DESC) AS last_first
    FROM landed
    WHERE source_key = last_key
)

SELECT
    dt,
    item_id,
    item_name,
    category,
    base_price
FROM ranked
WHERE last_first = 1
ORDER BY dt, item_id
