# The web UI on Firebase Hosting (docs/deploy.md, 'Why Firebase Hosting'). /api/** is rewritten to
# the api function by the Hosting config that scripts/deploy.sh writes, so the UI and the API share
# one origin: no CORS, no load balancer, no certificate to manage.

module "hosting" {
  source       = "./modules/firebase-hosting"
  count        = var.hosting.enabled ? 1 : 0
  project_id   = var.project_id
  site_id      = local.site_id
  display_name = "CloudSwarm (${var.prefix})"
  depends_on   = [module.services]
}
