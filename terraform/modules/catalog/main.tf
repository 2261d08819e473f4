locals {
  # Glue and Athena names allow no hyphens.
  database_prefix = replace(var.name_prefix, "-", "_")

  bucket_by_layer = {
    lake      = var.lake_bucket_name
    warehouse = var.warehouse_bucket_name
    mart      = var.mart_bucket_name
  }

  # The table schemas of docs/s3-layout.md, in column order; the one place they are written in Terraform.
  # Raw files arrive as text, so every lake column is a string; types start in the warehouse.
  lake_columns = {
    sales    = ["sale_date", "store_id", "item_id", "units_sold"]
    prices   = ["valid_on", "store_id", "item_id", "unit_price", "on_promotion"]
    stores   = ["store_id", "store_name", "city", "store_type"]
    items    = ["item_id", "item_name", "category", "base_price"]
    holidays = ["holiday_date", "holiday_name"]
  }

  typed_columns = {
    warehouse = {
      sales    = [["store_id", "string"], ["item_id", "string"], ["units_sold", "bigint"]]
      prices   = [["store_id", "string"], ["item_id", "string"], ["unit_price", "double"], ["on_promotion", "boolean"]]
      stores   = [["store_id", "string"], ["store_name", "string"], ["city", "string"], ["store_type", "string"]]
      items    = [["item_id", "string"], ["item_name", "string"], ["category", "string"], ["base_price", "double"]]
      holidays = [["holiday_date", "date"], ["holiday_name", "string"]]
      # every raw line a run rejects, partitioned by the landing date of its file
      quarantine = [
        ["source", "string"], ["source_uri", "string"], ["rule", "string"], ["column", "string"],
        ["raw_line", "string"],
      ]
    }
    mart = {
      features = [
        ["store_id", "string"], ["item_id", "string"],
        ["day_of_week", "bigint"], ["day_of_month", "bigint"], ["month", "bigint"], ["is_holiday", "boolean"],
        ["unit_price", "double"], ["on_promotion", "boolean"], ["price_ratio", "double"],
        ["lag_1", "double"], ["lag_7", "double"], ["lag_14", "double"], ["lag_28", "double"],
        ["mean_7", "double"], ["std_7", "double"], ["mean_28", "double"], ["std_28", "double"],
        ["units_sold", "bigint"],
      ]
      predictions = [
        ["store_id", "string"], ["item_id", "string"], ["prediction", "double"], ["model_version", "string"],
        ["run_id", "string"],
      ]
    }
  }

  tables = merge(
    {
      for table, columns in local.lake_columns : "lake.${table}" => {
        layer   = "lake"
        table   = table
        format  = "csv"
        columns = [for column in columns : [column, "string"]]
      }
    },
    merge([
      for layer, tables in local.typed_columns : {
        for table, columns in tables : "${layer}.${table}" => {
          layer   = layer
          table   = table
          format  = "parquet"
          columns = columns
        }
      }
    ]...),
  )

  formats = {
    csv = {
      input_format          = "org.apache.hadoop.mapred.TextInputFormat"
      output_format         = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
      serialization_library = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
      serde_parameters      = { separatorChar = ",", quoteChar = "\"", escapeChar = "\\" }
      table_parameters      = { classification = "csv", "skip.header.line.count" = "1" }
    }
    parquet = {
      input_format          = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
      output_format         = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      serde_parameters      = { "serialization.format" = "1" }
      table_parameters      = { classification = "parquet", "parquet.compression" = "ZSTD" }
    }
  }
}

################################################################################
# Glue databases and tables
################################################################################

resource "aws_glue_catalog_database" "this" {
  for_each = local.bucket_by_layer

  name         = "${local.database_prefix}_${each.key}"
  description  = "The ${each.key} layer of docs/s3-layout.md."
  location_uri = "s3://${each.value}/"

  tags = var.tags
}

# Partitions are keyed by `dt` and registered per run folder by the units when they publish, so the tables
# carry no partition projection: Athena sees a partition only once its manifest is committed.
resource "aws_glue_catalog_table" "this" {
  for_each = local.tables

  database_name = aws_glue_catalog_database.this[each.value.layer].name
  name          = each.value.table
  table_type    = "EXTERNAL_TABLE"
  parameters    = merge(local.formats[each.value.format].table_parameters, { EXTERNAL = "TRUE" })

  # A date, as the SQL compares it (`dt BETWEEN DATE '...' AND ...`); Athena reads the `dt=YYYY-MM-DD` value.
  partition_keys {
    name = "dt"
    type = "date"
  }

  storage_descriptor {
    location      = "s3://${local.bucket_by_layer[each.value.layer]}/${each.value.table}/"
    input_format  = local.formats[each.value.format].input_format
    output_format = local.formats[each.value.format].output_format

    ser_de_info {
      serialization_library = local.formats[each.value.format].serialization_library
      parameters            = local.formats[each.value.format].serde_parameters
    }

    dynamic "columns" {
      for_each = each.value.columns

      content {
        name = columns.value[0]
        type = columns.value[1]
      }
    }
  }
}

################################################################################
# Athena workgroup
################################################################################

resource "aws_athena_workgroup" "this" {
  name          = var.name_prefix
  description   = "Queries of the ${var.name_prefix} data platform."
  state         = "ENABLED"
  force_destroy = var.force_destroy

  configuration {
    # Clients cannot override the result location, its encryption or the scan cutoff.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.athena_results_bucket_name}/"

      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }

  tags = var.tags
}
