variable "endpoint" {
  description = "URL of the local AWS emulator, e.g. `http://127.0.0.1:4566` (scripts/emulator.py passes it)."
  type        = string

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.endpoint))
    error_message = "endpoint must be an http(s) URL with a host and port and no path, e.g. `http://127.0.0.1:4566`."
  }
}

variable "region" {
  description = "Region the emulator answers for."
  type        = string
  default     = "us-east-1"
}

variable "image_tag" {
  description = "Tag of the images the task definitions name; the emulator runs no tasks, so any build tag will do."
  type        = string
  default     = "local"
}
