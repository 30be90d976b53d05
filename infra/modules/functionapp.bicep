// The Flex Consumption plan (FC1) and the function app, with every app setting calsync
// reads (shared/adapters/settings.py; tests/deploy/test_settings_parity.py keeps the two
// in step). Flex refuses the settings it replaced with functionAppConfig
// (FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, …:
// specialized806/azure-docs functions-app-settings.md, "Flex Consumption plan
// deprecations"), so none of them is set here.

@description('Flex Consumption plan name.')
param planName string

@description('Function app name; also the first label of its default host name.')
param appName string

@description('Region of the plan and the app.')
param location string

@description('Tags for the plan; the app adds azd-service-name.')
param tags object

@description('The azd service this app is deployed as (azure.yaml).')
param serviceName string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Storage account of the host, the queues and the tables.')
param storageAccountName string

@description('Blob endpoint of that account, with its trailing slash.')
param storageBlobEndpoint string

@description('Container the app package is deployed to.')
param deploymentContainerName string

@description('Application Insights connection string (not a secret, see monitoring.bicep).')
param appInsightsConnectionString string

@description('Key Vault holding the platform key and, in certificate mode, the Graph certificate.')
param keyVaultName string

@description('Key Vault secret of the platform key.')
param platformKeySecretName string

@description('The multi-tenant app registration\'s application (client) id.')
param graphClientId string

@description('How calsync authenticates to Graph: the managed identity as a federated credential of the app registration, or a certificate in Key Vault.')
@allowed([
  'managedIdentity'
  'certificate'
])
param graphCredential string

@description('Key Vault certificate (certificate mode): its PKCS#12 is read as the secret of the same name.')
param graphCertificateName string

@description('Python version of the Flex runtime: the project\'s (3.11).')
param pythonVersion string

@description('Memory of each instance in MB (0.25, 1 or 2 cores).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound on the app\'s instances, all scale groups together.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Concurrent HTTP invocations per instance of the http scale group.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int

@description('Always-ready instances of the http scale group (billed while idle).')
@minValue(0)
param httpAlwaysReady int

@description('host.json extensions.queues.maxPollingInterval in production (hh:mm:ss).')
param queueMaxPollingInterval string

@description('host.json extensions.queues.visibilityTimeout in production: how long a failed message waits before its retry (hh:mm:ss).')
param queueVisibilityTimeout string

@description('Share of traces exported, 0.0-1.0.')
param traceSamplingRatio string

@description('NCRONTAB schedule of renew_subscriptions.')
param renewSchedule string

@description('NCRONTAB schedule of reconcile.')
param reconcileSchedule string

@description('Renew subscriptions with less than this many hours left (1-70).')
param renewHorizonHours int

@description('Days back the delta window reaches.')
param deltaDaysBack int

@description('Days ahead the delta window reaches.')
param deltaDaysAhead int

@description('Prefix of every table name.')
param tablePrefix string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex zone redundancy is offered only in some regions and asks for at least two always-ready instances per scale group while on (flex-consumption-plan.md, Always ready instances), billed while idle; docs/deploy.md says how to turn it on.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_78:Flex Consumption does not support FTPS and refuses siteConfig.ftpsState (functions-app-settings.md, Flex Consumption plan deprecations); deployment is by the blob container with the managed identity.
  // checkov:skip=CKV_AZURE_222:Microsoft Graph delivers change and lifecycle notifications to /api/graph/* over the internet, and the booking product calls the API; calsync checks every other route's key itself (docs/operations.md, Keys).
  // checkov:skip=CKV_AZURE_17:Neither Microsoft Graph's notifications nor the booking product's backend present TLS client certificates; callers are authenticated by calsync's keys and Graph's clientState.
  // checkov:skip=CKV_AZURE_212:siteConfig.numberOfWorkers is for App Service plans; Flex sizes the app by events within maximumInstanceCount, and httpAlwaysReady keeps warm instances.
  // checkov:skip=CKV_AZURE_213:App Service health check is not set on this Flex app; GET /api/health (anonymous) answers 503 when storage is unreachable and is what an availability test or the operator probes (docs/deploy.md).
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity, not a system one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: (httpAlwaysReady > 0) ? [
          {
            name: 'http'
            instanceCount: httpAlwaysReady
          }
        ] : []
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Settings every credential choice shares.
var commonSettings = {
  // Host storage by identity (specialized806 functions-app-settings.md, functions-reference.md):
  // calsync reads the same names (shared/adapters/settings.py) for its tables and queues.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry: the host and the Python worker both export to Application Insights with
  // Entra auth as the managed identity (DEPLOY-FACTS §3).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
  // The distro's bundled instrumentations would record full request URLs (mailbox
  // addresses, table keys) on their spans; calsync makes its own Graph and storage spans.
  OTEL_PYTHON_DISABLED_INSTRUMENTATIONS: 'azure_sdk,httpx,httpx2,requests,urllib,urllib3,django,fastapi,flask,psycopg2'
  // Keep or drop whole traces (by trace id); the distro's default, 5 spans a second, splits them.
  OTEL_TRACES_SAMPLER: 'microsoft.fixed.percentage'
  OTEL_TRACES_SAMPLER_ARG: traceSamplingRatio
  CALSYNC_PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
  // Never a plain value: a Key Vault reference, resolved with keyVaultReferenceIdentity.
  CALSYNC_FUNCTION_KEY: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${platformKeySecretName})'
  CALSYNC_TABLE_PREFIX: tablePrefix
  CALSYNC_RENEW_SCHEDULE: renewSchedule
  CALSYNC_RECONCILE_SCHEDULE: reconcileSchedule
  CALSYNC_RENEW_HORIZON_HOURS: string(renewHorizonHours)
  CALSYNC_DELTA_DAYS_BACK: string(deltaDaysBack)
  CALSYNC_DELTA_DAYS_AHEAD: string(deltaDaysAhead)
  GRAPH_CLIENT_ID: graphClientId
}

// Production values over host.json's development ones: the host applies
// AzureFunctionsJobHost__<path> settings over host.json (functions-host-json.md; FUNCTIONS-FACTS,
// host.json), as devtools/host/config.py does locally.
var hostOverrides = {
  AzureFunctionsJobHost__extensions__queues__maxPollingInterval: queueMaxPollingInterval
  AzureFunctionsJobHost__extensions__queues__visibilityTimeout: queueVisibilityTimeout
}

// graphCredential = 'managedIdentity': the managed identity's token is the client
// assertion of the app registration in each customer tenant
// (shared/adapters/graph_auth.py, FederatedManagedIdentityCredential).
var managedIdentityGraphSettings = {
  GRAPH_AUTH_MODE: 'managed_identity'
  GRAPH_MANAGED_IDENTITY_CLIENT_ID: identityClientId
}

// graphCredential = 'certificate': the certificate's PKCS#12 (base64) from Key Vault.
// Flex does not support WEBSITE_LOAD_CERTIFICATES, so the app reads it from this setting.
var certificateGraphSettings = {
  GRAPH_AUTH_MODE: 'certificate'
  GRAPH_CLIENT_CERTIFICATE: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${graphCertificateName})'
}

var graphSettings = (graphCredential == 'certificate') ? certificateGraphSettings : managedIdentityGraphSettings

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // This resource is the app settings dictionary (name 'appsettings'), which checkov reads as
  // the site's web configuration; what each check asks is answered here:
  // checkov:skip=CKV_AZURE_13:App Service Authentication would refuse Graph's anonymous notifications before calsync runs; calsync authenticates callers itself with its platform and org keys (docs/operations.md, Keys).
  // checkov:skip=CKV_AZURE_63:HTTP logging is an App Service web-server log; requests go to Application Insights instead (APPLICATIONINSIGHTS_CONNECTION_STRING).
  // checkov:skip=CKV_AZURE_65:Detailed error pages are an App Service web-server feature; calsync answers RFC 9457 problems and its failures go to Application Insights.
  // checkov:skip=CKV_AZURE_66:Failed-request tracing is an App Service web-server log; failed invocations and their traces go to Application Insights.
  // checkov:skip=CKV_AZURE_80:A Python app: no .NET Framework version applies.
  // checkov:skip=CKV_AZURE_88:Flex Consumption runs the package from the blob deployment container and has no Azure Files content share.
  // checkov:skip=CKV_AZURE_222:Public network access is a site property, skipped on the site with its reason; an app settings dictionary has none.
  parent: site
  name: 'appsettings'
  properties: union(commonSettings, hostOverrides, graphSettings)
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'
