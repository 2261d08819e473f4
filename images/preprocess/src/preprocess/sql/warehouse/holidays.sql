-- warehouse.holidays: a snapshot of the whole holiday calendar, partitioned by the day it landed, and the
-- fate of every raw line. The lake table holds the raw strings (OpenCSVSerde). Typing and the row-level rules
-- are here. A line fails the first rule it breaks, in this order: missing_value, invalid_type.
-- If several files landed one day, the last file name is the snapshot and the lines of the others are
-- 'superseded'. Within the snapshot, exact copies of a holiday count once ('duplicate'), different names for
-- one holiday_date are a conflict, all of them quarantined (conflicting_duplicate).
-- One output row per raw line: outcome kept | quarantined | duplicate | superseded.
WITH raw AS (
    SELECT
        dt AS landed_dt,
        "$path" AS source_uri,
        max("$path") OVER (PARTITION BY dt) AS snapshot_uri,
        concat_ws(',', holiday_date, holiday_name) AS raw_line,
        nullif(trim(holiday_date), '') AS holiday_date_text,
        nullif(trim(holiday_name), '') AS holiday_name
    FROM lake.holidays
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

typed AS (
    SELECT
        raw.*,
        CASE
            WHEN regexp_like(holiday_date_text, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
                THEN try_cast(holiday_date_text AS date)
        END AS holiday_date
    FROM raw
),

checked AS (
    SELECT
        typed.*,
        CASE
            WHEN holiday_date_text IS NULL THEN 'missing_value:holiday_date'
            WHEN holiday_name IS NULL THEN 'missing_value:holiday_name'
            WHEN holiday_date IS NULL THEN 'invalid_type:holiday_date'
        END AS failure
    FROM typed
),

versions AS (
    SELECT
        checked.*,
        min(holiday_name) OVER (PARTITION BY source_uri, holiday_date)
            <> max(holiday_name) OVER (PARTITION BY source_uri, holiday_date) AS conflicting,
        row_number() OVER (PARTITION BY source_uri, holiday_date, holiday_name ORDER BY raw_line)
            AS copy_number
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
    holiday_date,
    holiday_name
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
    holiday_date,
    holiday_name
FROM versions
