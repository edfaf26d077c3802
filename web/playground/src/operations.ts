// The sales team's saved operations (docs/sales.md explains each). Opening one fills the editors;
// its variables get a fresh idempotency key, so sending it twice by mistake is a replay.

export interface SavedOperation {
  title: string;
  description: string;
  query: string;
  variables: () => object;
}

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10) + "T00:00:00Z";
const key = (what: string) => `${what}-${crypto.randomUUID().slice(0, 8)}`;

export const SAVED_OPERATIONS: SavedOperation[] = [
  {
    title: "Provision a contract tenant",
    description: "A signed contract: plan, seats, go-live date; the named admin gets the owner invitation.",
    query: `mutation ProvisionContractTenant($input: ProvisionContractTenantInput!) {
  provisionContractTenant(input: $input) {
    replayed
    tenant {
      id name subdomain status plan { id name } seatCap pendingInvitations trialEndsAt source
      contract { reference goLiveDate adminContact { email name } }
    }
  }
}`,
    variables: () => ({
      input: {
        idempotencyKey: key("contract"),
        organizationName: "Analytical Engines Ltd",
        planId: "enterprise",
        seatCap: 250,
        goLiveDate: inDays(30),
        adminContact: { email: "ada@engines.example", name: "Ada Lovelace" },
        contractReference: "OPP-2026-0042",
      },
    }),
  },
  {
    title: "Convert an evaluation",
    description: "The customer already evaluates on a trial: convert that organization in place (members and data stay).",
    query: `mutation ConvertEvaluation($input: ProvisionContractTenantInput!) {
  provisionContractTenant(input: $input) {
    replayed
    tenant { id name status plan { id } seatCap trialEndsAt pendingInvitations contract { reference goLiveDate } }
  }
}`,
    variables: () => ({
      input: {
        idempotencyKey: key("convert"),
        organizationName: "Babbage Industries",
        planId: "pro",
        seatCap: 40,
        goLiveDate: inDays(30),
        adminContact: { email: "charles@babbage.example", name: "Charles Babbage" },
        contractReference: "OPP-2026-0043",
        existingTenantId: "PASTE_THE_ID_FROM_SEARCH_TENANTS",
      },
    }),
  },
  {
    title: "Extend a trial",
    description: "Give an evaluation more time (at most 365 days ahead); an expired trial reopens.",
    query: `mutation ExtendTrial($tenantId: ID!, $trialEndsAt: Time!, $reason: String!) {
  extendTrial(tenantId: $tenantId, trialEndsAt: $trialEndsAt, reason: $reason) {
    id name status trialEndsAt
  }
}`,
    variables: () => ({ tenantId: "PASTE_THE_ID_FROM_SEARCH_TENANTS", trialEndsAt: inDays(14), reason: "Procurement needs two more weeks (OPP-2026-0043)" }),
  },
  {
    title: "Search tenants",
    description: "By the start of a word of the name, subdomain or contract reference.",
    query: `query SearchTenants($search: String!) {
  tenants(filter: { search: $search }, first: 20) {
    edges { node { id name subdomain status trialEndsAt source plan { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`,
    variables: () => ({ search: "engines" }),
  },
  {
    title: "Who am I",
    description: "Your account and platform role, as the server sees them.",
    query: `query Me {
  me { user { id email } platformRole }
}`,
    variables: () => ({}),
  },
];
