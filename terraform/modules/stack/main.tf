# The whole system for one environment: the data platform (buckets, catalog), the private network the tasks
# run in, the image registry, the three units as Fargate tasks and the workflow that runs them on schedule.
# envs/* differ only in the provider, the backend and the values passed here.

locals {
  bucket_name_prefix = coalesce(var.bucket_name_prefix, var.name_prefix)
  units              = ["preprocess", "train", "infer"]

  # preprocess runs its SQL on Athena in this workgroup and registers what it publishes in these databases;
  # infer registers its predictions partitions in the mart database.
  glue_database_prefix = trimsuffix(module.catalog.database_names["lake"], "_lake")
  catalog_environment = {
    preprocess = {
      ENGINE               = "athena"
      ATHENA_WORKGROUP     = module.catalog.workgroup_name
      GLUE_DATABASE_PREFIX = local.glue_database_prefix
    }
    infer = { GLUE_DATABASE_PREFIX = local.glue_database_prefix }
  }
}

################################################################################
# Data platform
################################################################################

module "data_lake" {
  source = "../data_lake"

  name_prefix                        = local.bucket_name_prefix
  kms_key_arn                        = var.kms_key_arn
  athena_results_expiration_days     = var.athena_results_expiration_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy
  tags                               = var.tags
}

module "catalog" {
  source = "../catalog"

  name_prefix                    = var.name_prefix
  lake_bucket_name               = module.data_lake.lake_bucket_name
  warehouse_bucket_name          = module.data_lake.warehouse_bucket_name
  mart_bucket_name               = module.data_lake.mart_bucket_name
  athena_results_bucket_name     = module.data_lake.athena_results_bucket_name
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
  force_destroy                  = var.force_destroy
  tags                           = var.tags
}

################################################################################
# Network and images
################################################################################

module "network" {
  source = "../network"

  name_prefix             = var.name_prefix
  account_id              = var.account_id
  vpc_cidr                = var.vpc_cidr
  availability_zones      = var.availability_zones
  flow_log_retention_days = var.log_retention_days
  tags                    = var.tags
}

module "registry" {
  source = "../registry"

  name_prefix      = var.name_prefix
  repositories     = local.units
  keep_last_images = var.keep_last_images
  force_delete     = var.force_destroy
  tags             = var.tags
}

################################################################################
# Units and workflow
################################################################################

module "batch" {
  source = "../batch"

  name_prefix      = var.name_prefix
  account_id       = var.account_id
  cpu_architecture = var.cpu_architecture
  units = {
    for unit in local.units : unit => merge(var.unit_sizes[unit], {
      image       = "${module.registry.repository_urls[unit]}:${var.image_tag}"
      environment = merge(lookup(local.catalog_environment, unit, {}), lookup(var.unit_environment, unit, {}))
    })
  }

  lake_bucket_name           = module.data_lake.lake_bucket_name
  warehouse_bucket_name      = module.data_lake.warehouse_bucket_name
  mart_bucket_name           = module.data_lake.mart_bucket_name
  artifacts_bucket_name      = module.data_lake.artifacts_bucket_name
  athena_results_bucket_name = module.data_lake.athena_results_bucket_name
  glue_database_names        = module.catalog.database_names
  athena_workgroup_name      = module.catalog.workgroup_name

  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.tasks_security_group_id]
  log_retention_days = var.log_retention_days
  tags               = var.tags
}

module "workflow" {
  source = "../workflow"

  name_prefix          = var.name_prefix
  cluster_arn          = module.batch.cluster_arn
  task_definition_arns = module.batch.task_definition_arns
  task_role_arns       = module.batch.task_role_arns
  execution_role_arn   = module.batch.execution_role_arn
  container_names      = module.batch.container_names
  subnet_ids           = module.batch.subnet_ids
  security_group_ids   = module.batch.security_group_ids
  capacity_provider    = var.capacity_provider

  daily_schedule           = var.daily_schedule
  monthly_schedule         = var.monthly_schedule
  timezone                 = var.timezone
  schedules_enabled        = var.schedules_enabled
  backfill_max_concurrency = var.backfill_max_concurrency
  log_retention_days       = var.log_retention_days
  tags                     = var.tags
}

################################################################################
# Pull-request plans (optional)
################################################################################

module "github_oidc" {
  source = "../github_oidc"
  count  = var.github_repository == null ? 0 : 1

  name_prefix       = var.name_prefix
  repository        = var.github_repository
  create_provider   = var.github_create_oidc_provider
  state_bucket_name = var.terraform_state_bucket_name
  tags              = var.tags
}
