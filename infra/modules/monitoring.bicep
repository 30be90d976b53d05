// Log Analytics workspace + workspace-based Application Insights. Local (instrumentation
// key) auth is off: only an Entra identity with Monitoring Metrics Publisher on the
// component can send telemetry — the host through APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
// the Python worker's azure-monitor-opentelemetry exporter through the same setting
// (DEPLOY-FACTS §2 and §3; azure-monitor-opentelemetry-exporter README, `credential`).

@description('Log Analytics workspace name.')
param workspaceName string

@description('Application Insights component name.')
param appInsightsName string

@description('Region of both.')
param location string

@description('Tags for both.')
param tags object

@description('Days the workspace keeps data (30 is included in the ingestion price).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Principal (object) id of the managed identity that publishes telemetry.')
param principalId string

// Monitoring Metrics Publisher (built-in-roles.md; the quickstart's infra/app/rbac.bicep).
var metricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

// Telemetry ingestion with Entra auth needs this role on the component (specialized806
// functions-app-settings.md, APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, principalId, metricsPublisherRoleId)
  properties: {
    description: 'calsync: Monitoring Metrics Publisher (telemetry with Entra auth)'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisherRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output appInsightsId string = appInsights.id
output appInsightsName string = appInsights.name
// Not a secret: an ingestion endpoint and an instrumentation key that, with local auth off,
// admits nothing without an Entra token (app-service-key-vault-references.md says connection
// strings "aren't considered secrets").
output appInsightsConnectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
