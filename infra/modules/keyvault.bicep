// Key Vault for calsync's secrets: the platform key (CALSYNC_FUNCTION_KEY) and, with
// graphCredential = 'certificate', the Graph client certificate (imported by the operator,
// docs/deploy.md). RBAC authorization only; soft delete and purge protection on, so a
// deleted vault or secret can be recovered but never destroyed before its retention ends.
// The app reads secrets through Key Vault references resolved with the managed identity
// (site property keyVaultReferenceIdentity; johntrogan/azure-docs
// articles/app-service/app-service-key-vault-references.md, DEPLOY-FACTS §5).

@description('Key Vault name: 3-24 letters, digits and hyphens.')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the vault.')
param location string

@description('Tags for the vault.')
param tags object

@description('Days a deleted vault or secret stays recoverable (7-90). With purge protection on, the name stays taken that long after `azd down`.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Principal (object) id of the managed identity that reads the secrets.')
param principalId string

@description('The platform key (CALSYNC_FUNCTION_KEY), generated once by infra/hooks/preprovision.sh.')
@secure()
param platformKey string

@description('Name of the secret that holds the platform key.')
param platformKeySecretName string

// Key Vault Secrets User (built-in-roles.md): read secret values, which also covers a
// certificate's private key, exposed as a secret of the certificate's name.
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:The function app has no VNet, so its Key Vault references resolve over the vault's public endpoint; every read needs an Entra token with Key Vault Secrets User (RBAC authorization). The VNet variant in docs/deploy.md closes the firewall.
  // checkov:skip=CKV_AZURE_189:Same as CKV_AZURE_109: public network access is how the app (no VNet) and the operator importing a certificate reach the vault; access is by RBAC only.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource platformKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41:The platform key is rotated by the operator (docs/deploy.md, Rotating credentials), not on a clock; an expiry date in the template would have to be moved forward on every provision, and an expired secret would stop the Key Vault reference the app authenticates callers with.
  parent: vault
  name: platformKeySecretName
  properties: {
    value: platformKey
    contentType: 'text/plain'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, principalId, secretsUserRoleId)
  properties: {
    description: 'calsync: Key Vault Secrets User (Key Vault references)'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
output platformKeySecretName string = platformKeySecret.name
