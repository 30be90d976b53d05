// The one user-assigned managed identity of calsync. It is used for host storage
// (AzureWebJobsStorage__*), the Flex deployment container, Application Insights
// ingestion with Entra auth, Key Vault references, and as the federated credential
// the multi-tenant app registration trusts for Microsoft Graph (docs/deploy.md).
// A user-assigned identity (not the system-assigned one) because only those can be
// a federated identity credential of an app registration (DEPLOY-FACTS §5, entra-docs
// workload-identity-federation-config-app-trust-managed-identity.md), and because
// its ids exist before the function app does, so role assignments come first.

@description('Name of the user-assigned managed identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags for the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
