-- warehouse.stores: a snapshot of the whole store master, partitioned by the day it landed, and the fate of
-- every raw line. The lake table holds the raw strings (OpenCSVSerde), every column is text, so the only
-- row-level rule is missing_value.
-- If several files landed one day, the last file name is the snapshot and the lines of the others are
-- 'superseded'. Within the snapshot, exact copies of a store count once ('duplicate'), different values for
-- one store_id are a conflict, all of them quarantined (conflicting_duplicate).
-- One output row per raw line: outcome kept | quarantined | duplicate | superseded.
WITH raw AS (
    SELECT
        dt AS landed_dt,
        "$path" AS source_uri,
        max("$path") OVER (PARTITION BY dt) AS snapshot_uri,
        concat_ws(',', store_id, store_name, city, store_type) AS raw_line,
        nullif(trim(store_id), '') AS store_id,
        nullif(trim(store_name), '') AS store_name,
        nullif(trim(city), '') AS city,
        nullif(trim(store_type), '') AS store_type
    FROM lake.stores
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

checked AS (
    SELECT
        raw.*,
        CASE
            WHEN store_id IS NULL THEN 'missing_value:store_id'
            WHEN store_name IS NULL THEN 'missing_value:store_name'
            WHEN city IS NULL THEN 'missing_value:city'
            WHEN store_type IS NULL THEN 'missing_value:store_type'
        END AS failure,
        concat_ws(',', store_name, city, store_type) AS row_value
    FROM raw
),

versions AS (
    SELECT
        checked.*,
        min(row_value) OVER (PARTITION BY source_uri, store_id)
            <> max(row_value) OVER (PARTITION BY source_uri, store_id) AS conflicting,
        row_number() OVER (PARTITION BY source_uri, store_id, row_value ORDER BY raw_line) AS copy_number
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
    store_id,
    store_name,
    city,
    store_type
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
    store_id,
    store_name,
    city,
    store_type
FROM versions
