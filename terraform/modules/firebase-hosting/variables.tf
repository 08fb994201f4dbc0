variable "project_id" {
  type        = string
  description = "Project to add Firebase to."
}

variable "site_id" {
  type        = string
  description = "Hosting site id, globally unique: the site is served at https://SITE_ID.web.app."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$", var.site_id))
    error_message = "A site id is 4 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
  }
}

variable "display_name" {
  type        = string
  description = "Display name of the Firebase web app."
}
