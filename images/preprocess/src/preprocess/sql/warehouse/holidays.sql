-- warehouse.holidays: a snapshot of the whole holiday calendar, partitioned by the day it landed.
-- If several files landed that day, the last file name wins; within it, the last line for a holiday_date.
WITH landed AS (
    SELECT
        dt,
        holiday_date,
        holiday_name,
        source_key,
        line_number,
        max(source_key) OVER (PARTITION BY dt) AS last_key
    FROM lake.holidays
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

ranked AS (
    SELECT
        dt,
        holiday_date,
        holiday_name,
        row_number() OVER (PARTITION BY dt, holiday_date ORDER BY line_number DESC) AS last_first
    FROM landed
    WHERE source_key = last_key
)

SELECT
    dt,
    holiday_date,
    holiday_name
FROM ranked
WHERE last_first = 1
ORDER BY dt, holiday_date
