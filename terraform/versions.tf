terraform {
  # 1.5: check blocks. Provider versions are pinned here; commit .terraform.lock.hcl after the first
  # `terraform init` so every deploy uses the same provider builds.
  required_version = ">= 1.5.0"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.7.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 8.7.0"
    }
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

# Firebase and billing-budget APIs need a quota project when called with user credentials.
provider "google-beta" {
  project               = var.project_id
  region                = var.region
  default_labels        = local.labels
  user_project_override = true
  billing_project       = var.project_id
}
