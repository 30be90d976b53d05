#!/bin/sh
# azd preprovision hook (azure.yaml): make sure the azd environment holds a platform key.
# The key is CALSYNC_FUNCTION_KEY, the booking product's key to every route. It is made
# once — 32 random bytes, base64url without padding (43 characters) — and kept in the
# azd environment (.azure/<env>/.env), from where infra/main.parameters.json passes it to
# Bicep as a @secure() parameter that becomes a Key Vault secret. Re-running azd keeps it;
# to rotate it, see docs/deploy.md. The key is never printed.
set -eu

if ! command -v azd >/dev/null 2>&1; then
    echo "preprovision: azd is not on PATH" >&2
    exit 1
fi

existing=$(azd env get-value CALSYNC_PLATFORM_KEY 2>/dev/null) || existing=""
case "$existing" in
    "" | ERROR*)
        ;;
    *)
        echo "preprovision: CALSYNC_PLATFORM_KEY is set; keeping it"
        exit 0
        ;;
esac

random_bytes() {
    if command -v openssl >/dev/null 2>&1; then
        openssl rand 32
    else
        dd if=/dev/urandom bs=32 count=1 2>/dev/null
    fi
}

key=$(random_bytes | base64 | tr -d '\n=' | tr '+/' '-_')
if [ "${#key}" -ne 43 ]; then
    echo "preprovision: could not generate a platform key (got ${#key} characters, want 43)" >&2
    exit 1
fi

azd env set CALSYNC_PLATFORM_KEY "$key" >/dev/null
echo "preprovision: generated CALSYNC_PLATFORM_KEY (read it with: azd env get-value CALSYNC_PLATFORM_KEY)"
