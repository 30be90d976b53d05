// Log search alert rules on calsync's own telemetry (shared/core/metric_names.py and the
// spans of shared/adapters/telemetry.py), scoped to the Application Insights component.
// A rule scoped to the component queries the classic tables (customMetrics, requests,
// dependencies, traces); the same queries over the workspace tables (AppMetrics, ...) are in
// docs/operations.md, "What to watch", which is also what each rule's description points to.
//
// How the data lands (azure-monitor-opentelemetry-exporter 1.0.0b58, export/metrics/_exporter.py):
// one customMetrics row per metric, attribute set and instance each export interval (60 s);
// a counter's row carries the interval's sum in valueSum (valueCount 1); a histogram's row its
// sum, count, min and max (valueSum, valueCount, valueMin, valueMax) and no buckets, so a
// percentile is taken over the rows' means (percentilew). Attributes are customDimensions.
//
// Rules: Microsoft.Insights/scheduledQueryRules 2023-12-01 (stable; azure-rest-api-specs
// specification/monitor/.../stable/2023-12-01/scheduledQueryRule_API.json). Each condition
// summarizes to one row (per dimension) and compares a measure column to a threshold; the
// time range is the window size. Thresholds are the variables below.

@description('Prefix of every resource name here (the app\'s name, say).')
param namePrefix string

@description('Region of the alert rules (log search alert rules are regional resources).')
param location string

@description('Resource id of the Application Insights component the rules query.')
param appInsightsId string

@description('Mailbox for alerts. Empty: no action group is made and the rules fire without actions (they still show in Azure Monitor > Alerts).')
param actionGroupEmail string = ''

@description('Tags for every resource here.')
param tags object = {}

// -- thresholds -------------------------------------------------------------------------------
// Graph 429 answers per 100 logical Graph requests over 15 minutes (at least 100 requests).
var throttledPercentThreshold = 5
// p95 (over per-minute means) of notification-to-feed seconds over 30 minutes (at least 10 notifications).
var feedLatencyP95Seconds = 120
// More links in error, attention or stale in the last reconcile pass than in the one before.
var failingLinksRise = 3
// Failed webhook deliveries in an hour (one org's retry chain makes ~12 in its first hour).
var webhookFailures = 5

var runbook = 'docs/operations.md, section "What to watch"'
var withActions = !empty(actionGroupEmail)
var actionGroupName = '${namePrefix}-calsync-ops'
var actions = {
  actionGroups: withActions ? [resourceId('Microsoft.Insights/actionGroups', actionGroupName)] : []
  customProperties: {
    runbook: runbook
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (withActions) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('calsync', 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operations'
        emailAddress: actionGroupEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// -- poison queues ----------------------------------------------------------------------------
resource poisonMessages 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poison-messages'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'calsync: queue messages poisoned'
    description: 'A queue message failed its last try and the host moved it to <queue>-poison (the alert is split by queue). Nothing retries it: peek the poison queue (az storage message peek --auth-mode login), find the failed invocations of that queue\'s worker, fix the cause, then put the messages back on the work queue or delete them. See ${runbook}, "Poison queues".'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
customMetrics
| where name == "calsync.poison_messages"
| extend queue = tostring(customDimensions["queue"])
| summarize poisoned = sum(valueSum) by queue
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'poisoned'
          dimensions: [
            {
              name: 'queue'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
  dependsOn: [
    actionGroup
  ]
}

// -- failing links ----------------------------------------------------------------------------
// calsync.links is counted by each org's reconcile pass (every 15 minutes by default,
// CALSYNC_RECONCILE_SCHEDULE): a 15-minute bin holds one pass. The two last complete bins
// are compared.
resource failingLinks 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-failing-links'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'calsync: failing links rising'
    description: 'The last reconcile pass counted more links in error, attention or stale than the pass before. Find the orgs with GET /api/orgs/{org}/health (worst links first, with the error code and since when), then act on the code: consent_required or no_mailbox is the customer\'s to fix, attention needs POST .../confirm-deletions, many stale links at once point at Graph or the subscriptions. See ${runbook}, "Failing links".'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: '''
customMetrics
| where name == "calsync.links"
| extend state = tostring(customDimensions["state"])
| summarize failing = sumif(valueSum, state in ("error", "attention", "stale")), links = sum(valueSum)
    by pass = bin(timestamp, 15m)
| where pass < bin(now(), 15m)
| top 2 by pass desc
| order by pass asc
| extend rise = failing - prev(failing)
| where isnotnull(rise)
| project pass, failing, links, rise
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'rise'
          operator: 'GreaterThanOrEqual'
          threshold: failingLinksRise
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
  dependsOn: [
    actionGroup
  ]
}

// -- webhook deliveries -------------------------------------------------------------------------
resource webhookFailing 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-webhook-failing'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'calsync: webhook deliveries failing'
    description: 'Deliveries of change batches to the booking product\'s webhook are failing. Nothing is lost (the feed keeps every change and each org\'s retry chain backs off to hourly), but the product falls behind. Find the orgs from the "webhook delivery failed" warnings (they name the org and the error), check the receiver with its owner, and see the org\'s backlog in the calsyncFeed table. The metric has no org, so once a chain retries hourly this rule resolves while the receiver may still be down. See ${runbook}, "Webhook backlog".'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: '''
customMetrics
| where name == "calsync.webhook.deliveries"
| extend outcome = tostring(customDimensions["outcome"])
| summarize failed = sumif(valueSum, outcome == "failed"), delivered = sumif(valueSum, outcome == "delivered")
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'failed'
          operator: 'GreaterThanOrEqual'
          threshold: webhookFailures
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
  dependsOn: [
    actionGroup
  ]
}

// -- Graph throttling ---------------------------------------------------------------------------
resource graphThrottling 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-graph-throttling'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'calsync: sustained Graph throttling'
    description: 'More than ${throttledPercentThreshold} Graph 429 answers per 100 Graph requests over 15 minutes. The SDK retries after Retry-After, so this shows as slower rounds and pushes first. Break it down by route (calsync.graph.throttled vs calsync.graph.requests) and look at Retry-After on the Graph dependencies: a bulk push or resource import on one tenant is the usual cause; Outlook allows 4 concurrent and 10,000 requests per 10 minutes per mailbox. See ${runbook}, "Graph throttling".'
    severity: 3
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
customMetrics
| where name in ("calsync.graph.requests", "calsync.graph.throttled")
| summarize requests = sumif(valueSum, name == "calsync.graph.requests"),
            throttled = sumif(valueSum, name == "calsync.graph.throttled")
| where requests >= 100
| extend throttled_pct = 100.0 * throttled / requests
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'throttled_pct'
          operator: 'GreaterThan'
          threshold: throttledPercentThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
  dependsOn: [
    actionGroup
  ]
}

// -- sync latency -------------------------------------------------------------------------------
resource feedLatency 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-sync-latency'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'calsync: notification-to-feed latency high'
    description: 'The p95 of calsync.notification_to_feed (taken over per-minute means) was above ${feedLatencyP95Seconds} s over 30 minutes: Outlook changes reach the booking product late. Look at the queue sync_mailbox rounds (duration, failures), Graph throttling and the poison queues; a Flex Consumption scale limit or a cold start shows as rounds that start late, not rounds that run long. See ${runbook}, "Sync latency".'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: '''
customMetrics
| where name == "calsync.notification_to_feed" and valueCount > 0
| summarize notifications = sum(valueCount), p95_s = percentilew(valueSum / valueCount, valueCount, 95)
| where notifications >= 10
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'p95_s'
          operator: 'GreaterThan'
          threshold: feedLatencyP95Seconds
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: actions
  }
  dependsOn: [
    actionGroup
  ]
}

output actionGroupId string = withActions ? resourceId('Microsoft.Insights/actionGroups', actionGroupName) : ''
output alertRuleIds array = [
  poisonMessages.id
  failingLinks.id
  webhookFailing.id
  graphThrottling.id
  feedLatency.id
]
