"""The calsync Functions app: one FunctionApp; every function lives in a blueprint."""

import azure.functions as func

from functions.health import bp as health_bp
from shared.settings import get_settings

# Validate settings when the worker indexes the app: a missing or invalid setting stops
# start-up with a message naming it, instead of failing on the first request.
get_settings()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health_bp)
