provider "aws" {
  region = "us-east-1"
}

# The whole system with its defaults; the account id is given, so this plans without any AWS call.
module "stack" {
  source = "../.."

  name_prefix        = "example-basic"
  account_id         = "123456789012"
  bucket_name_prefix = "example-basic-123456789012"
  availability_zones = ["us-east-1a", "us-east-1b"]
  image_tag          = "0.1.0"
}
