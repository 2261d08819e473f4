terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  # State per emulator run: scripts/emulator.py passes `-backend-config=path=<work dir>/terraform.tfstate`.
  backend "local" {}
}
