-- warehouse.sales: units sold per store x item, partitioned by sale date, and the fate of every raw line.
-- The lake table holds the raw strings (OpenCSVSerde). Typing and the row-level rules are here. A line fails
-- the first rule it breaks, in this order: missing_value, invalid_type, out_of_range,
-- business_date_out_of_window (a sale after its landing day or more than the late window before it),
-- unknown_reference (a store or item absent from the master snapshot in force on the landing day).
-- Of the lines that pass, several for one (sale_date, store_id, item_id): exact copies within one file count
-- once (outcome 'duplicate'), different values within one file are a conflict, all of them quarantined
-- (conflicting_duplicate), across files the one landed last wins, then the last file name ('superseded').
-- One output row per raw line: outcome kept | quarantined | duplicate | superseded.
WITH raw AS (
    SELECT
        dt AS landed_dt,
        "$path" AS source_uri,
        concat_ws(',', sale_date, store_id, item_id, units_sold) AS raw_line,
        nullif(trim(sale_date), '') AS sale_date_text,
        nullif(trim(store_id), '') AS store_id,
        nullif(trim(item_id), '') AS item_id,
        nullif(trim(units_sold), '') AS units_sold_text
    FROM lake.sales
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

typed AS (
    SELECT
        raw.*,
        CASE
            WHEN regexp_like(sale_date_text, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
                THEN try_cast(sale_date_text AS date)
        END AS sale_date,
        CASE WHEN regexp_like(units_sold_text, '^-?[0-9]{1,18}$') THEN try_cast(units_sold_text AS bigint) END
            AS units_sold
    FROM raw
),

-- the master snapshot of a landing day is its last file name, the one in force on day d is the latest <= d
store_lines AS (
    SELECT dt, "$path" AS source_uri, nullif(trim(store_id), '') AS store_id
    FROM lake.stores
    WHERE dt BETWEEN {{ stores_from }} AND {{ landed_to }}
),

item_lines AS (
    SELECT dt, "$path" AS source_uri, nullif(trim(item_id), '') AS item_id
    FROM lake.items
    WHERE dt BETWEEN {{ items_from }} AND {{ landed_to }}
),

known AS (
    SELECT 'store' AS master, dt, source_uri, store_id AS id FROM store_lines
    UNION ALL
    SELECT 'item' AS master, dt, source_uri, item_id AS id FROM item_lines
),

snapshots AS (
    SELECT master, dt, max(source_uri) AS source_uri
    FROM known
    GROUP BY master, dt
),

in_force AS (
    SELECT
        landed.landed_dt,
        max(CASE WHEN snapshots.master = 'store' THEN snapshots.dt END) AS stores_dt,
        max(CASE WHEN snapshots.master = 'item' THEN snapshots.dt END) AS items_dt
    FROM (SELECT DISTINCT landed_dt FROM raw) AS landed
    INNER JOIN snapshots ON snapshots.dt <= landed.landed_dt
    GROUP BY landed.landed_dt
),

known_ids AS (
    SELECT DISTINCT known.master, known.dt, known.id
    FROM known
    INNER JOIN snapshots
        ON snapshots.master = known.master
            AND snapshots.dt = known.dt
            AND snapshots.source_uri = known.source_uri
),

checked AS (
    SELECT
        typed.*,
        CASE
            WHEN sale_date_text IS NULL THEN 'missing_value:sale_date'
            WHEN store_id IS NULL THEN 'missing_value:store_id'
            WHEN item_id IS NULL THEN 'missing_value:item_id'
            WHEN units_sold_text IS NULL THEN 'missing_value:units_sold'
            WHEN sale_date IS NULL THEN 'invalid_type:sale_date'
            WHEN units_sold IS NULL THEN 'invalid_type:units_sold'
            WHEN units_sold < 0 OR units_sold > {{ max_units_sold }} THEN 'out_of_range:units_sold'
            WHEN sale_date > typed.landed_dt
                OR sale_date < date_add('day', -{{ late_window_days }}, typed.landed_dt)
                THEN 'business_date_out_of_window:sale_date'
            WHEN in_force.stores_dt IS NOT NULL AND known_store.id IS NULL THEN 'unknown_reference:store_id'
            WHEN in_force.items_dt IS NOT NULL AND known_item.id IS NULL THEN 'unknown_reference:item_id'
        END AS failure
    FROM typed
    LEFT JOIN in_force ON in_force.landed_dt = typed.landed_dt
    LEFT JOIN known_ids AS known_store
        ON known_store.master = 'store'
            AND known_store.dt = in_force.stores_dt
            AND known_store.id = typed.store_id
    LEFT JOIN known_ids AS known_item
        ON known_item.master = 'item'
            AND known_item.dt = in_force.items_dt
            AND known_item.id = typed.item_id
),

versions AS (
    SELECT
        checked.*,
        min(units_sold) OVER (PARTITION BY source_uri, sale_date, store_id, item_id)
            <> max(units_sold) OVER (PARTITION BY source_uri, sale_date, store_id, item_id) AS conflicting,
        row_number() OVER (
            PARTITION BY source_uri, sale_date, store_id, item_id, units_sold ORDER BY raw_line
        ) AS copy_number
    FROM checked
    WHERE failure IS NULL
),

ranked AS (
    SELECT
        versions.*,
        row_number() OVER (
            PARTITION BY sale_date, store_id, item_id, conflicting, copy_number = 1
            ORDER BY landed_dt DESC, source_uri DESC
        ) AS newest_first
    FROM versions
)

SELECT
    'quarantined' AS outcome,
    landed_dt,
    source_uri,
    split_part(failure, ':', 1) AS rule,
    split_part(failure, ':', 2) AS "column",
    raw_line,
    sale_date AS dt,
    store_id,
    item_id,
    units_sold
FROM checked
WHERE failure IS NOT NULL

UNION ALL

SELECT
    CASE
        WHEN conflicting THEN 'quarantined'
        WHEN copy_number > 1 THEN 'duplicate'
        WHEN newest_first > 1 THEN 'superseded'
        ELSE 'kept'
    END AS outcome,
    landed_dt,
    source_uri,
    CASE WHEN conflicting THEN 'conflicting_duplicate' END AS rule,
    CAST(NULL AS varchar) AS "column",
    raw_line,
    sale_date AS dt,
    store_id,
    item_id,
    units_sold
FROM ranked
