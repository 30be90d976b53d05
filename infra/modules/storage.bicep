// The one storage account: the Functions host's storage (timer leases, keys, the
// dynamic-concurrency snapshots), calsync's queues and tables, and the Flex
// deployment container. No shared key: every client (host, scale controller,
// calsync, the deployment) authenticates as the managed identity.

@description('Storage account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the account.')
param location string

@description('Tags for the account.')
param tags object

@description('Blob container Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Principal (object) id of the managed identity that gets the data roles below.')
param principalId string

@description('Replication. Standard_ZRS survives a zone outage; Standard_LRS is cheaper and offered in every region.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string

// Built-in role ids (MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles.md;
// DEPLOY-FACTS §2). Which role each client needs: includes/functions-azurewebjobsstorage-permissions.md,
// functions-queue-permissions.md, functions-table-permissions.md.
var dataRoles = [
  {
    // Storage Blob Data Owner: the Functions host keeps its leases (timer singleton,
    // use_monitor schedule status), keys and concurrency snapshots in blob containers
    // it creates, and Flex reads the app package from the deployment container.
    // The host documentation asks for Owner, not Contributor.
    name: 'Storage Blob Data Owner'
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  }
  {
    // Storage Queue Data Contributor: calsync creates its queues and sends to them
    // (shared/adapters/queues.py), and the queue triggers read, process and delete
    // messages and move failures to <queue>-poison; Reader + Message Processor +
    // Sender would not cover creating queues.
    name: 'Storage Queue Data Contributor'
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  }
  {
    // Storage Table Data Contributor: calsync's state lives in tables it creates and
    // writes (shared/adapters/tables.py); the host also writes diagnostic events there.
    name: 'Storage Table Data Contributor'
    id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  }
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:The app runs without VNet integration and reaches its storage over the public endpoint; every request carries an Entra token (allowSharedKeyAccess is false). docs/deploy.md, Scaling and hardening, describes the VNet + private endpoint variant.
  // checkov:skip=CKV_AZURE_59:Same as CKV_AZURE_35: without a VNet the Functions host, the scale controller and the Flex deployment reach the account publicly, always with an Entra token.
  // checkov:skip=CKV_AZURE_206:Replication is the storageSku parameter; its default Standard_ZRS keeps three copies across zones in the region. Choose Standard_GZRS (CALSYNC_STORAGE_SKU) to add a secondary region.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in dataRoles: {
    scope: storage
    name: guid(storage.id, principalId, role.id)
    properties: {
      description: 'calsync: ${role.name}'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.id)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
