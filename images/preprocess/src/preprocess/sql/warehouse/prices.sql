-- warehouse.prices: the price and promotion of each store x item, partitioned by the day they are valid.
-- The price list for a day lands the day before; corrections land later, up to the late window. Of several
-- rows for one (valid_on, store_id, item_id) the one landed last wins, then the one from the last file name,
-- then the last line of that file.
WITH ranked AS (
    SELECT
        valid_on,
        store_id,
        item_id,
        unit_price,
        on_promotion,
        row_number() OVER (
            PARTITION BY valid_on, store_id, item_id
            ORDER BY dt DESC, source_key DESC, line_number DESC
        ) AS newest_first
    FROM lake.prices
    WHERE dt BETWEEN {{ landed_from }} AND {{ landed_to }}
        AND valid_on IN ({{ business_dates }})
)

SELECT
    valid_on AS dt,
    store_id,
    item_id,
    unit_price,
    on_promotion
FROM ranked
WHERE newest_first = 1
ORDER BY dt, store_id, item_id
