-- warehouse.prices: the price and promotion of each store x item, partitioned by the day they are valid,
-- and the fate of every raw line. The price list for a day lands the day before, corrections land later, up
-- to the late window. The lake table holds the raw strings (OpenCSVSerde). Typing and the row-level rules are
-- here. A line fails the first rule it breaks, in this order: missing_value, invalid_type, out_of_range (a
-- price <= 0 or above the declared maximum), business_date_out_of_window (valid more than one day after its
-- landing day or more than the late window before it), unknown_reference (a store or item absent from the
-- master snapshot in force on the landing day).
-- Of the lines that pass, several for one (valid_on, store_id, item_id): exact copies within one file count
-- once (outcome 'duplicate'), different values within one file are a conflict, all of them quarantined
-- (conflicting_duplicate), across files the one landed last wins, then the last file name ('superseded').
-- One output row per raw line: outcome kept | quarantined | duplicate | superseded.
WITH raw AS (
    SELECT
        dt AS landed_dt,
        "$path" AS source_uri,
        concat_ws(',', valid_on, store_id, item_id, unit_price, on_promotion) AS raw_line,
        nullif(trim(valid_on), '') AS valid_on_text,
        nullif(trim(store_id), '') AS store_id,
        nullif(trim(item_id), '') AS item_id,
        nullif(trim(unit_price), '') AS unit_price_text,
        nullif(trim(on_promotion), '') AS on_promotion_text
    FROM lake.prices
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
),

typed AS (
    SELECT
        raw.*,
        CASE
            WHEN regexp_like(valid_on_text, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
                THEN try_cast(valid_on_text AS date)
        END AS valid_on,
        CASE
            WHEN regexp_like(unit_price_text, '^-?[0-9]{1,12}(\.[0-9]{0,12})?$')
                THEN try_cast(unit_price_text AS double)
        END AS unit_price,
        CASE on_promotion_text WHEN '1' THEN true WHEN '0' THEN false END AS on_promotion
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
            WHEN valid_on_text IS NULL THEN 'missing_value:valid_on'
            WHEN store_id IS NULL THEN 'missing_value:store_id'
            WHEN item_id IS NULL THEN 'missing_value:item_id'
            WHEN unit_price_text IS NULL THEN 'missing_value:unit_price'
            WHEN on_promotion_text IS NULL THEN 'missing_value:on_promotion'
            WHEN valid_on IS NULL THEN 'invalid_type:valid_on'
            WHEN unit_price IS NULL THEN 'invalid_type:unit_price'
            WHEN on_promotion IS NULL THEN 'invalid_type:on_promotion'
            WHEN unit_price <= 0 OR unit_price > {{ max_unit_price }} THEN 'out_of_range:unit_price'
            WHEN valid_on > date_add('day', 1, typed.landed_dt)
                OR valid_on < date_add('day', -{{ late_window_days }}, typed.landed_dt)
                THEN 'business_date_out_of_window:valid_on'
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
        min(unit_price) OVER (PARTITION BY source_uri, valid_on, store_id, item_id)
            <> max(unit_price) OVER (PARTITION BY source_uri, valid_on, store_id, item_id)
        OR min(on_promotion_text) OVER (PARTITION BY source_uri, valid_on, store_id, item_id)
            <> max(on_promotion_text) OVER (PARTITION BY source_uri, valid_on, store_id, item_id)
            AS conflicting,
        row_number() OVER (
            PARTITION BY source_uri, valid_on, store_id, item_id, unit_price, on_promotion ORDER BY raw_line
        ) AS copy_number
    FROM checked
    WHERE failure IS NULL
),

ranked AS (
    SELECT
        versions.*,
        row_number() OVER (
            PARTITION BY valid_on, store_id, item_id, conflicting, copy_number = 1
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
    valid_on AS dt,
    store_id,
    item_id,
    unit_price,
    on_promotion
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
    valid_on AS dt,
    store_id,
    item_id,
    unit_price,
    on_promotion
FROM ranked
