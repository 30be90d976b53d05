"""The calsync Functions app: one FunctionApp; every function lives in a blueprint."""

import azure.functions as func

from functions.appointments import bp as appointments_bp
from functions.availability import bp as availability_bp
from functions.console import bp as console_bp
from functions.fallback import bp as fallback_bp
from functions.graph_webhooks import bp as graph_webhooks_bp
from functions.health import bp as health_bp
from functions.inbound import bp as inbound_bp
from functions.jobs import bp as jobs_bp
from functions.keys import bp as keys_bp
from functions.maintenance import bp as maintenance_bp
from functions.openapi import bp as openapi_bp
from functions.openapi import publish
from functions.orgs import bp as orgs_bp
from functions.resources import bp as resources_bp
from functions.tasks import bp as tasks_bp
from functions.workers import bp as workers_bp
from shared.adapters.settings import get_settings

# Validate settings when the worker indexes the app: a missing or invalid setting stops
# start-up with a message naming it, instead of failing on the first request.
get_settings()

# calsync checks keys itself (functions.http.authorized): the host lets requests through.
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
blueprints = (
    health_bp,
    orgs_bp,
    workers_bp,
    resources_bp,
    appointments_bp,
    availability_bp,
    tasks_bp,
    jobs_bp,
    keys_bp,
    graph_webhooks_bp,
    inbound_bp,
    maintenance_bp,
    console_bp,
    openapi_bp,
    fallback_bp,
)
for blueprint in blueprints:
    app.register_functions(blueprint)
publish([route for blueprint in blueprints for route in blueprint.http_routes])
