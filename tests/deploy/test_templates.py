"""infra/ and azure.yaml, offline: every Bicep file parses, the azd files agree with the
Bicep, and the resources are what docs/deploy.md promises (Flex Consumption, one managed
identity, no shared keys or local auth, secrets in Key Vault)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy.templates import INFRA, MAIN, ROOT, Deployment, Opaque, bicep_files, parse

GUID = "11111111-2222-3333-4444-555555555555"
BASE_PARAMS = {
    "environmentName": "calsync-test",
    "location": "westeurope",
    "graphClientId": GUID,
    "platformKey": "k" * 43,
}
PARAMETERS_FILE = INFRA / "main.parameters.json"
AZURE_YAML = ROOT / "azure.yaml"
IDENTITY_PRINCIPAL = Opaque("identity.outputs.principalId")
IDENTITY_ID = Opaque("identity.outputs.id")

# Python versions Flex Consumption runs (specialized806/azure-docs
# articles/azure-functions/flex-consumption-plan.md, "Supported language stack versions").
FLEX_PYTHON_VERSIONS = {"3.10", "3.11", "3.12"}

# Microsoft.Web/sites properties Flex Consumption refuses (specialized806/azure-docs
# articles/azure-functions/functions-app-settings.md, "Flex Consumption plan deprecations";
# DEPLOY-FACTS §1). Checked case-insensitively anywhere under the site's properties.
FLEX_REFUSED_PROPERTIES = {
    "alwaysOn",
    "containerSize",
    "dnsConfiguration",
    "ftpsState",
    "isReserved",
    "IsXenon",
    "javaVersion",
    "LinuxFxVersion",
    "netFrameworkVersion",
    "powerShellVersion",
    "functionAppScaleLimit",
    "preWarmedInstanceCount",
    "use32BitWorkerProcess",
    "vnetBackupRestoreEnabled",
    "vnetContentShareEnabled",
    "vnetImagePullEnabled",
    "vnetRouteAllEnabled",
    "windowsFxVersion",
}

ROLE = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return Deployment(BASE_PARAMS)


def _one(deployment: Deployment, resource_type: str) -> tuple[dict, object]:
    found = deployment.resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {[f[0] for f in found]}"
    _symbol, config, evaluator = found[0]
    return evaluator.eval(config), evaluator


def _keys(node: object) -> set[str]:
    """Every object key anywhere in an evaluated value."""
    if isinstance(node, dict):
        return {str(k) for k in node} | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


# -- parsing and the azd files -----------------------------------------------------------------


def test_infra_has_the_expected_files() -> None:
    names = {p.relative_to(INFRA).as_posix() for p in bicep_files()}
    expected = {
        "main.bicep",
        *(f"modules/{m}.bicep" for m in ("alerts", "functionapp", "identity", "keyvault", "monitoring", "storage")),
    }
    assert expected <= names, f"missing Bicep files: {sorted(expected - names)}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses(path: Path) -> None:
    try:
        doc = parse(path)
    except Exception as exc:  # pycep raises lark's errors with the line and column
        pytest.fail(f"{path.relative_to(ROOT)} does not parse with pycep: {exc}")
    assert doc.get("resources") or doc.get("modules"), f"{path.relative_to(ROOT)} declares no resource or module"


def test_every_local_module_exists() -> None:
    for path in bicep_files():
        for name, module in (parse(path).get("modules") or {}).items():
            if module["type"] == "local":
                target = path.parent / module["detail"]["path"]
                assert target.is_file(), f"{path.relative_to(ROOT)}: module {name} points at missing {target}"


def test_main_parameters_file_matches_main_bicep() -> None:
    doc = json.loads(PARAMETERS_FILE.read_text())
    assert doc.get("contentVersion") == "1.0.0.0" and "deploymentParameters.json" in doc.get("$schema", "")
    given = doc["parameters"]
    declared = parse(MAIN)["parameters"]
    unknown = sorted(set(given) - set(declared))
    assert not unknown, f"main.parameters.json sets parameters main.bicep does not declare: {unknown}"
    required = sorted(n for n, d in declared.items() if d.get("default") is None and n not in given)
    assert not required, f"main.bicep parameters without a default that main.parameters.json does not set: {required}"

    for name, entry in given.items():
        value = entry["value"]
        match = re.fullmatch(r"\$\{([A-Z_][A-Z0-9_]*)(?:=(.*))?\}", value) if isinstance(value, str) else None
        assert match, (
            f"{name}: every value comes from the azd environment as ${{VAR}} or ${{VAR=default}}, got {value!r}"
        )
        default = match.group(2)
        bicep_default = declared[name].get("default")
        if default is not None and bicep_default is not None:
            assert str(default) == str(bicep_default), (
                f"{name}: main.parameters.json defaults to {default!r} but main.bicep to {bicep_default!r}"
            )


def test_secure_and_required_parameters_come_from_the_environment() -> None:
    given = json.loads(PARAMETERS_FILE.read_text())["parameters"]
    declared = parse(MAIN)["parameters"]
    secure = sorted(n for n, d in declared.items() if any(x["type"] == "secure" for x in d["decorators"]))
    assert secure == ["platformKey"], f"expected the platform key to be the only @secure() parameter, got {secure}"
    assert given["platformKey"]["value"] == "${CALSYNC_PLATFORM_KEY}", (
        "the platform key comes from the preprovision hook"
    )
    assert given["graphClientId"]["value"] == "${GRAPH_CLIENT_ID}", "GRAPH_CLIENT_ID is required, with no default"
    assert given["alertEmail"]["value"].startswith("${ALERT_EMAIL"), "alertEmail maps from ALERT_EMAIL"


def test_azure_yaml_deploys_the_function_app_as_the_api_service(deployment: Deployment) -> None:
    doc = yaml.safe_load(AZURE_YAML.read_text())
    assert set(doc["services"]) == {"api"}, f"expected one azd service, api; got {sorted(doc['services'])}"
    api = doc["services"]["api"]
    assert (api["project"], api["language"], api["host"]) == (".", "python", "function"), api
    site, _ = _one(deployment, "Microsoft.Web/sites")
    assert site["tags"].get("azd-service-name") == "api", (
        f"azd finds the app by its azd-service-name tag, which must be the service name; tags: {site['tags']}"
    )


def test_azure_yaml_runs_the_preprovision_hook() -> None:
    hook = yaml.safe_load(AZURE_YAML.read_text())["hooks"]["preprovision"]["posix"]
    assert hook["shell"] == "sh"
    script = ROOT / hook["run"]
    assert script.is_file() and os.access(script, os.X_OK), f"{script} must exist and be executable"
    assert script.read_text().startswith("#!/bin/sh\n")


def test_every_resource_is_tagged_with_the_environment(deployment: Deployment) -> None:
    env_name = BASE_PARAMS["environmentName"]
    rg = parse(MAIN)["resources"]["rg"]["config"]
    assert deployment.main_eval.eval(rg["tags"]) == {"azd-env-name": env_name}
    untagged = []
    for _name, (path, doc, evaluator) in deployment.modules().items():
        for symbol, resource in (doc.get("resources") or {}).items():
            config = resource["config"].get("config", resource["config"])
            if resource["type"] == "Microsoft.Authorization/roleAssignments" or "parent" in config:
                continue  # role assignments take no tags; child resources inherit their parent's
            tags = evaluator.eval(config.get("tags"))
            if not isinstance(tags, dict) or tags.get("azd-env-name") != env_name:
                untagged.append(f"{path.name}:{symbol} tags={tags}")
    assert not untagged, "resources without the azd-env-name tag:\n" + "\n".join(untagged)


def test_outputs_give_azd_what_it_and_docs_deploy_md_use() -> None:
    outputs = set(parse(MAIN)["outputs"])
    needed = {
        "AZURE_FUNCTION_NAME",
        "SERVICE_API_NAME",
        "SERVICE_API_URI",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "AZURE_IDENTITY_CLIENT_ID",
        "AZURE_IDENTITY_PRINCIPAL_ID",
        "AZURE_KEY_VAULT_NAME",
    }
    assert needed <= outputs, f"main.bicep outputs miss {sorted(needed - outputs)}"


# -- the function app --------------------------------------------------------------------------


def test_plan_is_flex_consumption(deployment: Deployment) -> None:
    plan, _ = _one(deployment, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}, plan["sku"]
    assert plan["properties"]["reserved"] is True, "Flex Consumption is Linux: reserved must be true"


def test_function_app_runs_the_projects_python_on_flex(deployment: Deployment) -> None:
    site, _ = _one(deployment, "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    runtime = site["properties"]["functionAppConfig"]["runtime"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    project_python = re.fullmatch(r">=\s*(\d+\.\d+)", requires).group(1)
    assert runtime == {"name": "python", "version": project_python}, (
        f"runtime {runtime} must be the project's Python {project_python} (pyproject.toml requires-python)"
    )
    assert runtime["version"] in FLEX_PYTHON_VERSIONS


def test_function_app_is_https_only_with_tls_1_2(deployment: Deployment) -> None:
    site, _ = _one(deployment, "Microsoft.Web/sites")
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"].get("scmMinTlsVersion") == "1.2"


def test_function_app_sets_no_property_flex_refuses(deployment: Deployment) -> None:
    site, _ = _one(deployment, "Microsoft.Web/sites")
    refused = {k.lower() for k in FLEX_REFUSED_PROPERTIES}
    found = sorted(k for k in _keys(site["properties"]) if k.lower() in refused)
    assert not found, f"Flex Consumption refuses these site properties (functions-app-settings.md): {found}"


def test_function_app_uses_the_one_user_assigned_identity(deployment: Deployment) -> None:
    site, _ = _one(deployment, "Microsoft.Web/sites")
    assert site["identity"]["type"] == "UserAssigned", "no system-assigned identity: one identity for everything"
    assert list(site["identity"]["userAssignedIdentities"]) == [IDENTITY_ID], site["identity"]
    props = site["properties"]
    assert props["keyVaultReferenceIdentity"] == IDENTITY_ID, "Key Vault references must resolve as the identity"
    auth = props["functionAppConfig"]["deployment"]["storage"]["authentication"]
    assert auth == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": IDENTITY_ID}, auth


def test_scale_settings(deployment: Deployment) -> None:
    site, _ = _one(deployment, "Microsoft.Web/sites")
    scale = site["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["instanceMemoryMB"] == 2048
    assert scale["maximumInstanceCount"] == 40
    assert scale["triggers"] == {"http": {"perInstanceConcurrency": 16}}, "triggers has only an http member"
    assert scale["alwaysReady"] == []
    warm = Deployment({**BASE_PARAMS, "httpAlwaysReady": 2})
    warm_site, _ = _one(warm, "Microsoft.Web/sites")
    assert warm_site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["alwaysReady"] == [
        {"name": "http", "instanceCount": 2}
    ]


# -- storage, monitoring, Key Vault ------------------------------------------------------------


def _role_assignments(deployment: Deployment) -> list[tuple[str, str, object]]:
    """(scope resource type, role definition id, principal) of every role assignment."""
    out = []
    for _symbol, config, evaluator in deployment.resources("Microsoft.Authorization/roleAssignments"):
        scope = config["scope"]
        scope_type = evaluator.doc["resources"][scope]["type"]
        role = config["properties"]["roleDefinitionId"]["function"]
        assert role["type"] == "subscription_resource_id", role
        role_id = evaluator.eval(role["parameters"]["resource_name_1"])
        out.append((scope_type, role_id, evaluator.eval(config["properties"]["principalId"])))
        assert evaluator.eval(config["properties"]["principalType"]) == "ServicePrincipal"
    return out


def test_identity_gets_exactly_the_documented_roles(deployment: Deployment) -> None:
    got = sorted(_role_assignments(deployment))
    expected = sorted(
        [
            ("Microsoft.Storage/storageAccounts", ROLE["Storage Blob Data Owner"], IDENTITY_PRINCIPAL),
            ("Microsoft.Storage/storageAccounts", ROLE["Storage Queue Data Contributor"], IDENTITY_PRINCIPAL),
            ("Microsoft.Storage/storageAccounts", ROLE["Storage Table Data Contributor"], IDENTITY_PRINCIPAL),
            ("Microsoft.Insights/components", ROLE["Monitoring Metrics Publisher"], IDENTITY_PRINCIPAL),
            ("Microsoft.KeyVault/vaults", ROLE["Key Vault Secrets User"], IDENTITY_PRINCIPAL),
        ],
        key=str,
    )
    assert sorted(got, key=str) == expected, f"role assignments differ:\n got {got}\nwant {expected}"


def test_storage_account_takes_no_shared_key_and_no_anonymous_access(deployment: Deployment) -> None:
    account, _ = _one(deployment, "Microsoft.Storage/storageAccounts")
    props = account["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    container, _ = _one(deployment, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["properties"]["publicAccess"] == "None"


def test_application_insights_is_workspace_based_without_local_auth(deployment: Deployment) -> None:
    component, _ = _one(deployment, "Microsoft.Insights/components")
    assert component["properties"]["DisableLocalAuth"] is True, "only Entra identities may send telemetry"
    workspace = component["properties"]["WorkspaceResourceId"]
    assert workspace == Opaque("workspace.id"), f"workspace-based component expected, got {workspace}"


def test_key_vault_uses_rbac_soft_delete_and_purge_protection(deployment: Deployment) -> None:
    vault, _ = _one(deployment, "Microsoft.KeyVault/vaults")
    props = vault["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert 7 <= props["softDeleteRetentionInDays"] <= 90


def test_platform_key_reaches_key_vault_only_through_the_secure_parameter(deployment: Deployment) -> None:
    secret, evaluator = _one(deployment, "Microsoft.KeyVault/vaults/secrets")
    assert secret["properties"]["value"] == BASE_PARAMS["platformKey"]
    value_param = evaluator.doc["resources"]["platformKeySecret"]["config"]["properties"]["value"]
    decorators = evaluator.doc["parameters"][value_param]["decorators"]
    assert any(d["type"] == "secure" for d in decorators), f"{value_param} must be @secure() in keyvault.bicep"


def test_alerts_module_gets_its_interface(deployment: Deployment) -> None:
    alerts = parse(MAIN)["modules"]["alerts"]
    passed = set(alerts["config"]["params"])
    interface = {"namePrefix", "location", "appInsightsId", "actionGroupEmail", "tags"}
    assert passed == interface, (
        f"main.bicep passes {sorted(passed)} to alerts.bicep, the agreed interface is {interface}"
    )
    declared = set(parse(INFRA / "modules" / "alerts.bicep")["parameters"])
    assert interface <= declared, f"alerts.bicep does not declare {sorted(interface - declared)}"
    values = deployment.main_eval.eval(alerts["config"]["params"])
    assert values["appInsightsId"] == Opaque("monitoring.outputs.appInsightsId")
    assert values["actionGroupEmail"] == "", "no ALERT_EMAIL: no action group"
    with_email = Deployment({**BASE_PARAMS, "alertEmail": "ops@example.com"}).main_eval.eval(alerts["config"]["params"])
    assert with_email["actionGroupEmail"] == "ops@example.com"


def test_azd_environments_stay_out_of_git_and_the_package() -> None:
    """.azure/<env>/.env holds CALSYNC_PLATFORM_KEY: it must never be committed or deployed."""
    probe = ".azure/any-env/.env"
    ignored = subprocess.run(["git", "check-ignore", "-q", probe], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{probe} is not ignored by .gitignore"
    funcignore = (ROOT / ".funcignore").read_text().split()
    assert ".azure" in funcignore and "infra" in funcignore, ".funcignore must keep .azure and infra out of the package"
