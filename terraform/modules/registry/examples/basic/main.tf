provider "aws" {
  region = "us-east-1"
}

module "registry" {
  source = "../.."

  name_prefix      = "example-basic"
  keep_last_images = 10
  force_delete     = true
  tags             = { project = "example" }
}
