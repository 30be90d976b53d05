"""The app settings infra/ gives the function app vs the settings calsync reads.

What the app reads is taken from the code, not from a list kept by hand: every setting
name shared/adapters/settings.py passes to a helper that takes the environment (`_get`,
`_require`, `_int`, …, and the host.json override), every `%NAME%` binding expression in
functions/*.py, plus the platform settings below, each with the reason it is set. The
template's settings are evaluated from the Bicep for each Graph credential choice
(tests/deploy/templates.py), then fed — Key Vault references replaced by what Key Vault
would hand the app — to the app's own `load()`, which must accept them.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache

import pytest

from devtools.host.config import load_host_config
from shared.adapters.settings import load
from shared.core.errors import SettingsError
from tests import certificates
from tests.deploy.templates import ROOT, Deployment, Interp, Opaque, literal_prefix, render

SETTINGS_PY = ROOT / "shared" / "adapters" / "settings.py"
SETTINGS_TYPES_PY = ROOT / "shared" / "core" / "settings.py"
FUNCTIONS = ROOT / "functions"
HOST_JSON = ROOT / "host.json"
GUID = "11111111-2222-3333-4444-555555555555"
CREDENTIALS = {"managedIdentity": "managed_identity", "certificate": "certificate"}
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("

# Settings calsync's code does not read but sets for the platform, each on purpose.
PLATFORM_SETTINGS = {
    # Where the Functions host and the Python worker send telemetry
    # (specialized806/azure-docs opentelemetry-howto.md).
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    # Entra auth for both: the host reads it (functions-app-settings.md), and so does the
    # worker's azure-monitor-opentelemetry exporter (its README, `credential`).
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    # The Python worker calls configure_azure_monitor() itself (functions-app-settings.md).
    "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY",
    # Read by azure-monitor-opentelemetry: its bundled instrumentations would put full URLs
    # (mailbox addresses, table keys) on spans; calsync makes its own (its README).
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
    # Read by azure-monitor-opentelemetry: keep or drop whole traces (its README, Usage;
    # azure/monitor/opentelemetry/_utils/configurations.py); its default splits traces.
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    # The host's identity-based storage connection (functions-app-settings.md); calsync itself
    # needs only __accountName and __clientId.
    "AzureWebJobsStorage__credential",
}
# AzureFunctionsJobHost__<path> settings are also known when <path> exists in host.json.

# App settings Flex Consumption refuses or replaced (specialized806/azure-docs
# articles/azure-functions/functions-app-settings.md, "Flex Consumption plan deprecations",
# ms.date 12/22/2025), and those flex-consumption-plan.md, "Considerations", says Flex does
# not support (DEPLOY-FACTS §1).
FLEX_DEPRECATED = {
    "ENABLE_ORYX_BUILD",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTOVERVNET",
    "WEBSITE_DNS_SERVER",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
    "WEBSITE_VNET_ROUTE_ALL",
    "WEBSITE_TIME_ZONE",
    "TZ",
    "WEBSITE_LOAD_CERTIFICATES",
}

# Settings whose values are secrets: never a plain value in the template, always a Key
# Vault reference. test_secret_list_covers_settings_py keeps this list in step with the
# Settings fields shared/core/settings.py hides from repr and hands to log redaction.
SECRET_SETTINGS = {
    "GRAPH_CLIENT_SECRET",
    "CALSYNC_FUNCTION_KEY",
    "GRAPH_CLIENT_CERTIFICATE",
    "GRAPH_CLIENT_CERTIFICATE_PASSWORD",
}


# -- what the app reads, from its code ---------------------------------------------------------


def _is_env(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "env"


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "literal" constants."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def _names_read(node: ast.AST, constants: dict[str, str]) -> set[str]:
    """Setting names read under `node`: the name argument of any call whose first argument
    is the environment (`_get(env, "X")`, `_int(env, NAME, …)`), `env.get("X")`, `env["X"]`."""

    def literal(arg: ast.AST) -> str | None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        if isinstance(arg, ast.Name):
            return constants.get(arg.id)
        return None

    names = set()
    for sub in ast.walk(node):
        candidate = None
        if isinstance(sub, ast.Call):
            if len(sub.args) >= 2 and _is_env(sub.args[0]):
                candidate = literal(sub.args[1])
            elif (
                isinstance(sub.func, ast.Attribute) and _is_env(sub.func.value) and sub.func.attr == "get" and sub.args
            ):
                candidate = literal(sub.args[0])
        elif isinstance(sub, ast.Subscript) and _is_env(sub.value):
            candidate = literal(sub.slice)
        if candidate:
            names.add(candidate)
    return names


@cache
def settings_read_by_the_app() -> frozenset[str]:
    tree = ast.parse(SETTINGS_PY.read_text())
    return frozenset(_names_read(tree, _module_strings(tree)))


@cache
def binding_expressions() -> frozenset[str]:
    """%NAME% app-setting references in the functions' decorators (schedules, queue names)."""
    names = set()
    for path in sorted(FUNCTIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", node.value))
    return frozenset(names)


@cache
def secret_settings_in_code() -> frozenset[str]:
    """The setting names behind every Settings field that shared/core/settings.py hides
    from repr (field(..., repr=False)), traced through load() in shared/adapters/settings.py."""
    types_tree = ast.parse(SETTINGS_TYPES_PY.read_text())
    secret_fields = set()

    def hidden_from_repr(item: ast.stmt) -> bool:
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.value, ast.Call)):
            return False
        return any(
            k.arg == "repr" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in item.value.keywords
        )

    for node in ast.walk(types_tree):
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            secret_fields |= {
                item.target.id for item in node.body if hidden_from_repr(item) and isinstance(item.target, ast.Name)
            }
    assert secret_fields, "found no repr=False field in shared/core/settings.py Settings: has the marking changed?"

    tree = ast.parse(SETTINGS_PY.read_text())
    constants = _module_strings(tree)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    loader = functions["load"]
    assignments: dict[str, list[ast.AST]] = {}
    for node in ast.walk(loader):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assignments.setdefault(target.id, []).append(node.value)

    def trace(expr: ast.AST, seen: frozenset[str] = frozenset()) -> set[str]:
        """Where a value comes from: a read of the environment, a helper of settings.py
        that reads it, or a local variable assigned one of those (not the names that
        merely shape it, like the `why` of an error message)."""
        if isinstance(expr, ast.Name):
            if expr.id in seen:
                return set()
            return {n for value in assignments.get(expr.id, []) for n in trace(value, seen | {expr.id})}
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Name) and expr.func.id in functions:
                return _names_read(functions[expr.func.id], constants) | _names_read(expr, constants)
            return _names_read(expr, constants)
        if isinstance(expr, ast.BoolOp):
            return {n for value in expr.values for n in trace(value, seen)}
        if isinstance(expr, ast.IfExp):
            return trace(expr.body, seen) | trace(expr.orelse, seen)
        return set()

    found = set()
    for node in ast.walk(loader):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Settings":
            for keyword in node.keywords:
                if keyword.arg in secret_fields:
                    found |= trace(keyword.value)
    return frozenset(found)


def _host_json_has(path: list[str]) -> bool:
    node = json.loads(HOST_JSON.read_text())
    for part in path:
        if not isinstance(node, dict):
            return False
        match = next((k for k in node if k.lower() == part.lower()), None)  # the host ignores case
        if match is None:
            return False
        node = node[match]
    return True


def known_to_the_app(name: str) -> bool:
    if name in settings_read_by_the_app() or name in binding_expressions() or name in PLATFORM_SETTINGS:
        return True
    return name.startswith(OVERRIDE_PREFIX) and _host_json_has(name[len(OVERRIDE_PREFIX) :].split("__"))


# -- the template's settings -------------------------------------------------------------------


@cache
def template_settings(credential: str) -> dict:
    params = {
        "environmentName": "calsync-test",
        "location": "westeurope",
        "graphClientId": GUID,
        "platformKey": "p" * 43,
        "graphCredential": credential,
    }
    return Deployment(params).app_settings()


def _is_key_vault_reference(value: object) -> bool:
    prefix = literal_prefix(value)
    return prefix is not None and prefix.startswith(KEY_VAULT_REFERENCE)


@pytest.fixture(scope="module")
def key_vault_certificate() -> str:
    """What Key Vault hands the app for a certificate's secret: base64 PKCS#12 with the
    private key and no password."""
    return certificates.key_vault_certificate()


def resolved_environment(credential: str, certificate: str) -> dict[str, str]:
    """The template's settings as the app sees them in Azure: Key Vault references
    resolved (to stand-ins), deployment-time values (host name, identity ids) stood in."""
    stand_ins = {"CALSYNC_FUNCTION_KEY": "platform-key-" + "q" * 30, "GRAPH_CLIENT_CERTIFICATE": certificate}
    env = {}
    for name, value in template_settings(credential).items():
        env[name] = stand_ins.get(name, "resolved-secret") if _is_key_vault_reference(value) else render(value)
    return env


# -- the tests ---------------------------------------------------------------------------------


def test_the_code_scan_finds_the_settings_the_app_reads() -> None:
    """Guards the AST scans: if settings.py changes shape, these must still be found."""
    read = settings_read_by_the_app()
    for name in (
        "CALSYNC_PUBLIC_BASE_URL",
        "GRAPH_CLIENT_ID",
        "GRAPH_AUTH_MODE",
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__clientId",
        "CALSYNC_FUNCTION_KEY",
        "CALSYNC_DELTA_DAYS_AHEAD",
        "AzureFunctionsJobHost__extensions__queues__maxDequeueCount",
    ):
        assert name in read, f"the scan of shared/adapters/settings.py no longer finds {name}; found {sorted(read)}"
    assert {"CALSYNC_RENEW_SCHEDULE", "CALSYNC_RECONCILE_SCHEDULE"} <= binding_expressions(), binding_expressions()


def test_secret_list_covers_settings_py() -> None:
    in_code = secret_settings_in_code()
    assert "CALSYNC_FUNCTION_KEY" in in_code and "GRAPH_CLIENT_SECRET" in in_code, f"trace found {sorted(in_code)}"
    missing = sorted(in_code - SECRET_SETTINGS)
    assert not missing, f"settings.py treats {missing} as secret; add them to SECRET_SETTINGS"


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_template_sets_no_setting_unknown_to_the_app(credential: str) -> None:
    unknown = sorted(n for n in template_settings(credential) if not known_to_the_app(n))
    assert not unknown, (
        f"graphCredential={credential}: the template sets {unknown}, which neither shared/adapters/settings.py nor a "
        "%binding% in functions/ reads, which is no documented platform setting and no host.json path"
    )


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_template_sets_every_binding_expression(credential: str) -> None:
    missing = sorted(binding_expressions() - set(template_settings(credential)))
    assert not missing, f"graphCredential={credential}: the Functions host cannot index functions without {missing}"


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_app_starts_with_the_template_settings(credential: str, key_vault_certificate: str) -> None:
    env = resolved_environment(credential, key_vault_certificate)
    try:
        settings = load(env)
    except SettingsError as exc:
        pytest.fail(f"graphCredential={credential}: the app refuses the template's settings: {exc}")
    assert settings.graph_auth_mode == CREDENTIALS[credential]
    assert settings.graph_client_id == GUID
    assert settings.function_key == env["CALSYNC_FUNCTION_KEY"], "CALSYNC_FUNCTION_KEY must reach the app"
    assert settings.storage.table_endpoint.startswith("https://") and settings.storage.queue_endpoint.startswith(
        "https://"
    )
    assert settings.public_base_url.startswith("https://")
    identity = Opaque("identity.outputs.clientId").stand_in()
    assert settings.storage.identity_client_id == identity, "storage must use the user-assigned identity"
    assert env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == f"ClientId={identity};Authorization=AAD"
    if credential == "managedIdentity":
        assert settings.managed_identity_client_id == identity, (
            "Graph must assert with the same user-assigned identity (else the system-assigned one is used)"
        )
    else:
        assert settings.graph_certificate == key_vault_certificate


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_no_setting_flex_refuses(credential: str) -> None:
    refused = sorted(set(template_settings(credential)) & FLEX_DEPRECATED)
    assert not refused, f"Flex Consumption refuses or ignores {refused} (functions-app-settings.md)"


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_secrets_are_key_vault_references(credential: str) -> None:
    settings = template_settings(credential)
    plain = {
        n: v
        for n, v in settings.items()
        if n in SECRET_SETTINGS | secret_settings_in_code() and not _is_key_vault_reference(v)
    }
    assert not plain, f"graphCredential={credential}: secrets set as plain values, not Key Vault references: {plain}"
    assert "CALSYNC_FUNCTION_KEY" in settings, "the platform key must be set (as a Key Vault reference)"
    for name, value in settings.items():
        if _is_key_vault_reference(value):
            text = value if isinstance(value, str) else value.render()
            assert re.fullmatch(
                r"@Microsoft\.KeyVault\((VaultName=[^;]+;SecretName=[^;]+|SecretUri=https://.+)\)", text
            ), f"{name}: malformed Key Vault reference {value}"


def test_certificate_mode_reads_the_certificate_from_key_vault() -> None:
    settings = template_settings("certificate")
    assert isinstance(settings.get("GRAPH_CLIENT_CERTIFICATE"), Interp | str), settings.get("GRAPH_CLIENT_CERTIFICATE")
    assert "GRAPH_CLIENT_CERTIFICATE_PATH" not in settings, "Flex cannot load certificates into a path"
    assert "GRAPH_MANAGED_IDENTITY_CLIENT_ID" not in template_settings("certificate")
    assert "GRAPH_CLIENT_CERTIFICATE" not in template_settings("managedIdentity")


def test_host_overrides_name_existing_host_json_paths() -> None:
    overrides = sorted(n for n in template_settings("managedIdentity") if n.startswith(OVERRIDE_PREFIX))
    assert overrides, "expected production host.json overrides (queue polling, visibility timeout)"
    missing = [n for n in overrides if not _host_json_has(n[len(OVERRIDE_PREFIX) :].split("__"))]
    assert not missing, f"these overrides name no host.json path, so the host would add, not override: {missing}"


def test_host_overrides_take_effect(key_vault_certificate: str) -> None:
    """The production values win over host.json's development ones (through the local
    host's override logic, which mirrors the Functions host)."""
    env = resolved_environment("managedIdentity", key_vault_certificate)
    config = load_host_config(env=env)
    assert config.max_polling_interval_s == 10.0, "production polls an empty queue every 10 s at most"
    assert config.visibility_timeout_s == 30.0, "a failed message is retried after 30 s in production"
    assert config.max_dequeue_count == 5


def test_every_distro_instrumentation_is_disabled() -> None:
    """The pinned azure-monitor-opentelemetry would record full request URLs (mailbox
    addresses, table keys) through any instrumentation it bundles; the template turns off
    every one it knows, so a distro upgrade that adds one fails here first."""
    from azure.monitor.opentelemetry import _constants as distro

    value = template_settings("managedIdentity")["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"]
    disabled = set(value.split(","))
    bundled = set(distro._ALL_SUPPORTED_INSTRUMENTED_LIBRARIES)
    assert bundled <= disabled, f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS leaves on {sorted(bundled - disabled)}"
