// calsync on Azure Functions Flex Consumption, for `azd up` (docs/deploy.md).
// Subscription scope: it creates the resource group, as the azd Flex quickstart does
// (Azure-Samples/functions-quickstart-python-http-azd infra/main.bicep; DEPLOY-FACTS §4).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name (AZURE_ENV_NAME): names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption: `az functionapp list-flexconsumption-locations`.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@minLength(36)
@maxLength(36)
@description('Application (client) id of calsync\'s multi-tenant app registration (GRAPH_CLIENT_ID).')
param graphClientId string

@description('Graph credential: managedIdentity (default; the managed identity is a federated credential of the app registration, nothing to leak, rotate or expire) or certificate (a certificate kept in the Key Vault).')
@allowed([
  'managedIdentity'
  'certificate'
])
param graphCredential string = 'managedIdentity'

@description('Name of the Key Vault certificate calsync signs with when graphCredential is certificate.')
param graphCertificateName string = 'graph-client-certificate'

@secure()
@minLength(32)
@description('The platform key (CALSYNC_FUNCTION_KEY): generated once into the azd environment by infra/hooks/preprovision.sh, stored as a Key Vault secret.')
param platformKey string

@description('E-mail address alerts go to (ALERT_EMAIL); empty: alert rules without an action group.')
param alertEmail string = ''

@description('Memory of each Flex instance in MB: 512 (0.25 core), 2048 (1 core), 4096 (2 cores).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// 40: the lowest value older Flex documentation accepted (event-driven-scaling.md). A
// deployment's storage account takes ~218,000 mailboxes in a morning rush at 70 % of its
// 20,000 entities/s; in that rush they need ~7 instances at the measured throughput, ~14 at
// 50 % utilisation (docs/scale.md, "Spreading orgs"). More would not add throughput the account can
// take: the rush binds the account, and the reconcile pass is paced (10 orgs a second, an org's
// batches 5 a second) to stay near a fifth of it. Flex's own default is 100.
@description('Upper bound on instances, all scale groups (the http group and each queue or timer function) together.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

// 16, not Python's Flex default of 1: that default suits synchronous functions, which hold
// a worker thread each; calsync's HTTP functions are `async def` and spend their time
// awaiting Storage and Graph, so one instance's event loop serves many at once (one process
// acknowledged 300 notifications/s with p99 < 100 ms, docs/benchmarks.md). At 1, Flex
// would start an instance (a cold start) for every request in flight. 16 is what Flex gives
// other languages at 2,048 MB; lower it if CPU-heavy requests (bulk pushes of thousands of
// appointments) slow the webhook acknowledgements sharing an instance.
@description('Concurrent HTTP invocations per instance before Flex adds one.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Always-ready instances for the http group (0: scale to zero; each one is billed while idle).')
@minValue(0)
@maxValue(20)
param httpAlwaysReady int = 0

// 10 s, not host.json's development 2 s: a queue trigger with an instance polls its empty
// queue at up to this interval, and at 2 s the idle polls cost as much storage traffic as
// ~400 active mailboxes (docs/benchmarks.md, capacity model). The price is latency after a
// quiet spell: a first message may wait up to 10 s (polling backs off to this bound while
// the queue is empty and speeds up again once a message is found).
@description('Production extensions.queues.maxPollingInterval (hh:mm:ss).')
param queueMaxPollingInterval string = '00:00:10'

// 30 s, not host.json's development 5 s: a failed message (Graph throttling or an outage,
// a lost race) waits this long before its next try, so maxDequeueCount's 5 tries span about
// two minutes instead of twenty seconds before a message goes to <queue>-poison.
@description('Production extensions.queues.visibilityTimeout (hh:mm:ss).')
param queueVisibilityTimeout string = '00:00:30'

// Whole traces are kept or dropped (azure-monitor-opentelemetry's fixed-percentage sampler,
// by trace id). Without it the distro samples at 5 spans a second, which leaves most spans of
// a round out of their trace. 0.1, not 1.0: at 1.0 Application Insights ingestion is
// $0.05-0.23 per mailbox-month, 8-30x the rest of the deployment ($0.006-0.008); at 0.1 it is
// $0.013-0.038 (docs/scale.md). Metrics are not sampled, so alerts stay exact. 1.0 for a small
// tenant or while debugging.
@description('Share of traces sent to Application Insights, 0.0-1.0 (OTEL_TRACES_SAMPLER_ARG).')
param traceSamplingRatio string = '0.1'

@description('NCRONTAB schedule of renew_subscriptions.')
param renewSchedule string = '0 */30 * * * *'

// Several deployments (stamps, docs/deploy.md) share the app registration's Graph limit:
// give each its own minute offset (0 3-59/15 * * * *, ...) so their passes do not coincide.
@description('NCRONTAB schedule of reconcile.')
param reconcileSchedule string = '0 */15 * * * *'

@description('Renew Graph subscriptions with less than this many hours left (1-70).')
@minValue(1)
@maxValue(70)
param renewHorizonHours int = 24

@description('Days back the delta window reaches (0-3650).')
@minValue(0)
@maxValue(3650)
param deltaDaysBack int = 30

@description('Days ahead the delta window reaches (1-3650; back + ahead at most 1,811).')
@minValue(1)
@maxValue(3650)
param deltaDaysAhead int = 365

@description('Prefix of every table name (a letter and up to 39 letters or digits).')
param tablePrefix string = 'calsync'

@description('Storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_ZRS'

@description('Days a deleted Key Vault stays recoverable (7-90); with purge protection the name stays taken that long.')
@minValue(7)
@maxValue(90)
param keyVaultRetentionDays int = 90

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'api'

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-calsync-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stcalsync${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
    principalId: identity.outputs.principalId
    skuName: storageSku
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-calsync-${resourceToken}'
    appInsightsName: 'appi-calsync-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-calsync-${resourceToken}'
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultRetentionDays
    principalId: identity.outputs.principalId
    platformKey: platformKey
    platformKeySecretName: 'calsync-platform-key'
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: 'plan-calsync-${resourceToken}'
    appName: 'func-calsync-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    keyVaultName: keyVault.outputs.name
    platformKeySecretName: keyVault.outputs.platformKeySecretName
    graphClientId: graphClientId
    graphCredential: graphCredential
    graphCertificateName: graphCertificateName
    pythonVersion: '3.11'
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    httpAlwaysReady: httpAlwaysReady
    queueMaxPollingInterval: queueMaxPollingInterval
    queueVisibilityTimeout: queueVisibilityTimeout
    traceSamplingRatio: traceSamplingRatio
    renewSchedule: renewSchedule
    reconcileSchedule: reconcileSchedule
    renewHorizonHours: renewHorizonHours
    deltaDaysBack: deltaDaysBack
    deltaDaysAhead: deltaDaysAhead
    tablePrefix: tablePrefix
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: environmentName
    location: location
    appInsightsId: monitoring.outputs.appInsightsId
    actionGroupEmail: alertEmail
    tags: tags
  }
}

// Outputs become azd environment values (`azd env get-values`).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.url
output CALSYNC_PUBLIC_BASE_URL string = functionApp.outputs.url
output AZURE_IDENTITY_NAME string = identity.outputs.name
output AZURE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output GRAPH_CREDENTIAL string = graphCredential
