-- warehouse.items: a snapshot of the whole item master, partitioned by the day it landed, and the fate of
-- every raw line. The lake table holds the raw strings (OpenCSVSerde). Typing and the row-level rules are
-- here. A line fails the first rule it breaks, in this order: missing_value, invalid_type, out_of_range
-- (a base price <= 0 or above the declared maximum).
-- If several files landed one day, the last file name is the snapshot and the lines of the others are
-- 'superseded'. Within the snapshot, exact copies of an item count once ('duplicate'), different values for
-- one item_id are a conflict, all of them quarantined (conflicting_duplicate).
-- One output row per raw line: outcome kept | quarantined | duplicate | superseded.
WITH raw AS (
    SELECT
        dt AS landed_dt,
        "$path" AS source_uri,
        max("$path") OVER (PARTITION BY dt) AS snapshot_uri,
        concat_ws(',', item_id, item_name, category, base_price) AS raw_line,
        nullif(trim(item_id), '') AS item_id,
        nullif(trim(item_name), '') AS item_name,
        nullif(trim(category), '') AS category,
        nullif(trim(base_price), '') AS base_price_text
    FROM lake.items
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

typed AS (
    SELECT
        raw.*,
        CASE
            WHEN regexp_like(base_price_text, '^-?[0-9]{1,12}(\.[0-9]{0,12})?$')
                THEN try_cast(base_price_text AS double)
        END AS base_price
    FROM raw
),

checked AS (
    SELECT
        typed.*,
        CASE
            WHEN item_id IS NULL THEN 'missing_value:item_id'
            WHEN item_name IS NULL THEN 'missing_value:item_name'
            WHEN category IS NULL THEN 'missing_value:category'
            WHEN base_price_text IS NULL THEN 'missing_value:base_price'
            WHEN base_price IS NULL THEN 'invalid_type:base_price'
            WHEN base_price <= 0 OR base_price > {{ max_base_price }} THEN 'out_of_range:base_price'
        END AS failure,
        concat_ws(',', item_name, category, CAST(base_price AS varchar)) AS row_value
    FROM typed
),

versions AS (
    SELECT
        checked.*,
        min(row_value) OVER (PARTITION BY source_uri, item_id)
            <> max(row_value) OVER (PARTITION BY source_uri, item_id) AS conflicting,
        row_number() OVER (PARTITION BY source_uri, item_id, row_value ORDER BY raw_line) AS copy_number
    FROM checked
    WHERE failure IS NULL
)

SELECT
    'quarantined' AS outcome,
    landed_dt,
    source_uri,
    split_part(failure, ':', 1) AS rule,
    split_part(failure, ':', 2) AS "column",
    raw_line,
    landed_dt AS dt,
    item_id,
    item_name,
    category,
    base_price
FROM checked
WHERE failure IS NOT NULL

UNION ALL

SELECT
    CASE
        WHEN source_uri <> snapshot_uri THEN 'superseded'
        WHEN conflicting THEN 'quarantined'
        WHEN copy_number > 1 THEN 'duplicate'
        ELSE 'kept'
    END AS outcome,
    landed_dt,
    source_uri,
    CASE WHEN source_uri = snapshot_uri AND conflicting THEN 'conflicting_duplicate' END AS rule,
    CAST(NULL AS varchar) AS "column",
    raw_line,
    landed_dt AS dt,
    item_id,
    item_name,
    category,
    base_price
FROM versions
