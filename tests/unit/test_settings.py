import pytest

from shared.adapters.settings import AZURITE_CONNECTION_STRING, load
from shared.core.errors import SettingsError
from tests import certificates

BASE = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "GRAPH_AUTH_MODE": "client_secret",
    "GRAPH_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "GRAPH_CLIENT_SECRET": "s3cr3t-value",
    "CALSYNC_PUBLIC_BASE_URL": "https://calsync.example.net",
}


def env(**changes: str | None) -> dict[str, str]:
    out = dict(BASE)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def test_valid_settings_and_defaults() -> None:
    s = load(env())
    assert s.graph_base_url == "https://graph.microsoft.com/v1.0"
    assert s.storage.connection_string == AZURITE_CONNECTION_STRING
    assert s.table_prefix == "calsync"


def test_describe_never_contains_a_secret() -> None:
    s = load(env(CALSYNC_FUNCTION_KEY="fn-key-123"))
    text = repr(s.describe()) + repr(s)
    for secret in s.secrets():
        assert secret not in text
    assert "s3cr3t-value" in s.secrets() and "fn-key-123" in s.secrets()


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"AzureWebJobsStorage": None}, "AzureWebJobsStorage"),
        ({"AzureWebJobsStorage": "garbage"}, "AzureWebJobsStorage"),
        ({"GRAPH_AUTH_MODE": "magic"}, "GRAPH_AUTH_MODE"),
        ({"GRAPH_CLIENT_ID": None}, "GRAPH_CLIENT_ID"),
        ({"GRAPH_CLIENT_ID": "not-a-guid"}, "GRAPH_CLIENT_ID"),
        ({"GRAPH_CLIENT_SECRET": ""}, "GRAPH_CLIENT_SECRET"),
        ({"GRAPH_AUTH_MODE": "certificate"}, "GRAPH_CLIENT_CERTIFICATE_PATH"),
        ({"GRAPH_AUTH_MODE": "workload_identity"}, "AZURE_FEDERATED_TOKEN_FILE"),
        ({"CALSYNC_PUBLIC_BASE_URL": None}, "CALSYNC_PUBLIC_BASE_URL"),
        ({"CALSYNC_PUBLIC_BASE_URL": "http://calsync.example.net"}, "CALSYNC_PUBLIC_BASE_URL"),
        ({"GRAPH_BASE_URL": "ftp://x"}, "GRAPH_BASE_URL"),
        ({"GRAPH_AUTH_MODE": "emulator", "GRAPH_BASE_URL": "https://graph.microsoft.com/v1.0"}, "GRAPH_AUTH_MODE"),
        ({"CALSYNC_TABLE_PREFIX": "9bad"}, "CALSYNC_TABLE_PREFIX"),
        ({"CALSYNC_DELTA_DAYS_BACK": "365", "CALSYNC_DELTA_DAYS_AHEAD": "1500"}, "CALSYNC_DELTA_DAYS_AHEAD"),
        (
            {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "0"},
            "AzureFunctionsJobHost__extensions__queues__maxDequeueCount",
        ),
        (
            {"AzureWebJobsStorage": None, "AzureWebJobsStorage__accountName": "Bad_Name"},
            "AzureWebJobsStorage__accountName",
        ),
    ],
)
def test_bad_settings_name_the_setting(changes: dict, name: str) -> None:
    with pytest.raises(SettingsError) as err:
        load(env(**changes))
    assert err.value.name == name
    assert name in str(err.value)
    assert "s3cr3t-value" not in str(err.value)


def test_identity_based_storage() -> None:
    s = load(env(AzureWebJobsStorage=None, AzureWebJobsStorage__accountName="calsyncprod"))
    assert s.storage.table_endpoint == "https://calsyncprod.table.core.windows.net"
    assert s.storage.queue_endpoint == "https://calsyncprod.queue.core.windows.net"
    assert s.storage.connection_string is None


def test_emulator_mode_needs_no_client_and_allows_local_http() -> None:
    s = load(
        env(
            GRAPH_AUTH_MODE="emulator",
            GRAPH_CLIENT_ID=None,
            GRAPH_CLIENT_SECRET=None,
            GRAPH_BASE_URL="http://127.0.0.1:7072/v1.0",
            CALSYNC_PUBLIC_BASE_URL="http://127.0.0.1:7071",
        )
    )
    assert s.graph_auth_mode == "emulator" and s.graph_client_secret is None


def test_the_widest_window_graph_allows_is_accepted() -> None:
    s = load(env(CALSYNC_DELTA_DAYS_BACK="300", CALSYNC_DELTA_DAYS_AHEAD="1511"))
    assert s.delta_days_back + s.delta_days_ahead == 1811  # + 14 days of roll-over slack = 1,825


def test_the_last_try_follows_host_json_and_its_override() -> None:
    assert load(env()).max_dequeue_count == 5  # host.json's queues.maxDequeueCount
    assert load(env(AzureFunctionsJobHost__extensions__queues__maxDequeueCount="8")).max_dequeue_count == 8


def test_a_certificate_given_as_a_key_vault_secret_is_used_and_kept_out_of_sight() -> None:
    pkcs12 = certificates.key_vault_certificate()  # base64, as Key Vault gives it
    s = load(env(GRAPH_AUTH_MODE="certificate", GRAPH_CLIENT_SECRET=None, GRAPH_CLIENT_CERTIFICATE=pkcs12))
    assert s.graph_certificate == pkcs12 and s.graph_certificate_path is None
    assert pkcs12 in s.secrets()
    assert pkcs12 not in repr(s) + repr(s.describe())


@pytest.mark.parametrize(
    "value, password",
    [
        ("not a certificate!", None),  # not base64
        ("MIIKCAIBAzCCCcQGCSqGSIb3DQEHAaCCCbUEggmxMIIJrTCCBh4GCSqG", None),  # base64, not PKCS#12
        ("with the wrong password", "wrong"),
    ],
)
def test_a_certificate_that_cannot_be_loaded_stops_start_up(value: str, password: str | None) -> None:
    if value == "with the wrong password":
        value = certificates.key_vault_certificate(b"right")
    with pytest.raises(SettingsError) as err:
        load(
            env(
                GRAPH_AUTH_MODE="certificate",
                GRAPH_CLIENT_CERTIFICATE=value,
                **({"GRAPH_CLIENT_CERTIFICATE_PASSWORD": password} if password else {}),
            )
        )
    assert err.value.name == "GRAPH_CLIENT_CERTIFICATE"
    assert value not in str(err.value)  # never the secret itself


def test_certificate_mode_without_a_certificate_names_both_ways_to_give_one() -> None:
    with pytest.raises(SettingsError) as err:
        load(env(GRAPH_AUTH_MODE="certificate"))
    assert err.value.name == "GRAPH_CLIENT_CERTIFICATE_PATH"
    assert "GRAPH_CLIENT_CERTIFICATE" in str(err.value)


def test_an_unresolved_key_vault_reference_stops_start_up_naming_the_setting() -> None:
    # App Service leaves a reference it cannot resolve as its literal text.
    ref = "@Microsoft.KeyVault(SecretUri=https://kv-calsync.vault.azure.net/secrets/calsync-function-key)"
    with pytest.raises(SettingsError) as err:
        load(env(CALSYNC_FUNCTION_KEY=ref))
    assert err.value.name == "CALSYNC_FUNCTION_KEY"
    assert "Key Vault" in str(err.value)
